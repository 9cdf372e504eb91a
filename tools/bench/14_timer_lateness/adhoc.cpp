// Workload 14, peer: the ad-hoc multimap + condvar timer thread, armed from
// the bench's thread; the callback (which records its lateness) runs on the
// timer thread, whose CPU is what timer_cpu_ns_per_fire counts.
#include <chrono>
#include <cstdint>
#include <vector>

#include "14_timer_lateness/cases.hpp"
#include "common/pools.hpp"
#include "common/timer_peers.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s, std::size_t n) {
  if (s.quick()) n = 100;
  bench::adhoc_timer_thread& timers = bench::adhoc_timers();
  bench::done_latch done(static_cast<long>(n));
  const std::vector<std::chrono::steady_clock::time_point> deadlines =
      bench::lateness_deadlines(n, std::chrono::steady_clock::now(), bench::lateness_lead);
  std::vector<std::int64_t> late(n);
  const std::int64_t cpu0 = bench::thread_cpu_ns(timers.tid());
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    timers.arm(deadlines[i], [&, i] {
      late[i] = bench::ns_between(deadlines[i], std::chrono::steady_clock::now());
      done.count_down();
    });
  }
  const auto armed = std::chrono::steady_clock::now();
  done.wait();
  s.stop();
  const std::int64_t cpu1 = bench::thread_cpu_ns(timers.tid());
  s.set_ops(static_cast<double>(n));
  s.metric("arm_ms", bench::ns_since_start(s, armed) / 1e6);
  if (cpu0 >= 0 && cpu1 >= 0) s.metric("timer_cpu_ns_per_fire", static_cast<double>(cpu1 - cpu0) / static_cast<double>(n));
  bench::report_lateness(s, late);
}

bool register_all() {
  for (const bench::lateness_case& c : bench::lateness_cases) {
    const std::size_t n = c.timers;
    bench::add_impl(c.id, "adhoc-multimap", [n](bench::state& s) { run(s, n); });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
