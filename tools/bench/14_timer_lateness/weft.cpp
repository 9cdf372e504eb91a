// Workload 14: 10,000 (14a) and 1,000 (14b) timers due at random within a
// 50 ms window (which opens 25 ms after the start, once all are armed),
// armed from a thread outside the pool; each task records, on the pool
// where it runs, how late it started. Reported per run: early (timers that
// started before their deadline: must be 0), mean / p50 / p99 / max
// lateness in us, the timer thread's CPU time per fire
// (timer_cpu_ns_per_fire, its per-thread CPU clock), and how long arming
// took (arm_ms). ns/op is the run's wall time per timer, ~75 ms / n for
// everyone: not a figure to compare.
//
// Peers: asio::steady_timer on one io thread (the handler runs there), the
// ad-hoc multimap + condvar thread (the callback runs on it). weft's task
// runs on the pool, one hand-over later. No ratio target; the target is
// "never early".
#include "weft/timer.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

#include "14_timer_lateness/cases.hpp"
#include "common/pools.hpp"
#include "common/timer_peers.hpp"
#include "common/weft_timers.hpp"
#include "harness.hpp"

namespace {

struct run_ctx {
  std::vector<std::chrono::steady_clock::time_point> deadlines;
  std::vector<std::int64_t> late;
  bench::done_latch* done;
};

void run(bench::state& s, std::size_t n) {
  if (s.quick()) n = 100;
  weft::thread_pool& pool = bench::weft_pool();
  const bench::weft_timers_t& t = bench::weft_timers();
  bench::done_latch done(static_cast<long>(n));
  run_ctx ctx{bench::lateness_deadlines(n, std::chrono::steady_clock::now(), bench::lateness_lead),
              std::vector<std::int64_t>(n), &done};
  const std::int64_t cpu0 = bench::thread_cpu_ns(t.tid);
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    run_ctx* c = &ctx;
    t.svc->arm_at(ctx.deadlines[i], pool, [c, i] {
      c->late[i] = bench::ns_between(c->deadlines[i], std::chrono::steady_clock::now());
      c->done->count_down();
    });
  }
  const auto armed = std::chrono::steady_clock::now();
  done.wait();
  s.stop();
  const std::int64_t cpu1 = bench::thread_cpu_ns(t.tid);
  s.set_ops(static_cast<double>(n));
  s.metric("arm_ms", bench::ns_since_start(s, armed) / 1e6);
  if (cpu0 >= 0 && cpu1 >= 0) s.metric("timer_cpu_ns_per_fire", static_cast<double>(cpu1 - cpu0) / static_cast<double>(n));
  bench::report_lateness(s, ctx.late);
}

bool register_all() {
  for (const bench::lateness_case& c : bench::lateness_cases) {
    const std::size_t n = c.timers;
    bench::add_workload({c.id, "lateness of " + std::to_string(n) + " timers due at random within 50 ms",
                         "one timer (ns/op: wall time / n, not comparable)",
                         "asio::steady_timer io thread; ad-hoc multimap + condvar thread",
                         {bench::figure_target("early", 0, "no timer starts before its deadline")}});
    bench::add_impl(c.id, "weft", [n](bench::state& s) { run(s, n); });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
