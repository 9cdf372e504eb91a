// Workload 21: with_timeout on 100,000 futures that complete in time, from
// a pool task, in batches of 250 (promises made and each future given a
// 1 s timeout, then all set, then all read). One op = one future through
// that. Batches, so the memory is reused as in a service that runs; with
// all 100,000 pending at once, both sides mostly measure page faults on
// fresh heap (glibc returns the freed top of the heap between runs).
//
// Baseline: the same futures without the timeout ("no-timeout"). Target:
// the timeout adds <= 150 ns per future (metric added_ns: this run's ns/op
// less the no-timeout loop's, measured in the same run), and no wake-up of
// the timer thread per cancelled timeout (metric timer_wakeups_per_op:
// the timer thread's voluntary context switches over the run, per op).
#include "weft/timeout.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/pools.hpp"
#include "common/weft_timers.hpp"
#include "harness.hpp"
#include "weft/async.hpp"
#include "weft/promise.hpp"

namespace {

std::size_t futures_per_run(const bench::state& s) { return s.quick() ? 1000 : 100000; }

constexpr std::size_t batch_size = 250;

// Makes, sets and reads n futures, with a timeout or not; returns the sum.
long through_batch(weft::thread_pool& pool, weft::timer_service* svc, std::size_t n) {
  std::vector<weft::promise<int>> ps;
  ps.reserve(n);
  long sum = 0;
  if (svc != nullptr) {
    std::vector<weft::future<boost::optional<int>>> fs;
    fs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      ps.emplace_back(pool);
      fs.push_back(weft::with_timeout(*svc, ps.back().get_future(), std::chrono::seconds(1)));
    }
    for (std::size_t i = 0; i < n; ++i) ps[i].set_value(1);
    for (auto& f : fs) sum += *f.get();
  } else {
    std::vector<weft::future<int>> fs;
    fs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      ps.emplace_back(pool);
      fs.push_back(ps.back().get_future());
    }
    for (std::size_t i = 0; i < n; ++i) ps[i].set_value(1);
    for (auto& f : fs) sum += f.get();
  }
  return sum;
}

long through(weft::thread_pool& pool, weft::timer_service* svc, std::size_t n) {
  long sum = 0;
  for (std::size_t done = 0; done < n; done += batch_size) {
    sum += through_batch(pool, svc, n - done < batch_size ? n - done : batch_size);
  }
  return sum;
}

void with_timeouts(bench::state& s) {
  const std::size_t n = futures_per_run(s);
  weft::thread_pool& pool = bench::weft_pool();
  weft::timer_service& svc = *bench::weft_timers().svc;
  double plain_ns = 0;
  long sum = 0;
  const std::int64_t wakeups_before = bench::thread_wakeups(bench::weft_timers().tid);
  weft::async(pool, [&] {
    const auto t0 = std::chrono::steady_clock::now();
    sum += through(pool, nullptr, n);
    plain_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    s.start();
    sum += through(pool, &svc, n);
    s.stop();
  }).get();
  const std::int64_t wakeups = bench::thread_wakeups(bench::weft_timers().tid) - wakeups_before;
  s.set_ops(static_cast<double>(n));
  if (sum != 2 * static_cast<long>(n)) throw std::runtime_error("21 weft: a future lost its value");
  s.metric("added_ns", (s.elapsed_ns() - plain_ns) / static_cast<double>(n));
  s.metric("timer_wakeups_per_op", static_cast<double>(wakeups) / static_cast<double>(n));
  s.metric("pending_after", static_cast<double>(svc.pending()));
}

void without(bench::state& s) {
  const std::size_t n = futures_per_run(s);
  weft::thread_pool& pool = bench::weft_pool();
  long sum = 0;
  weft::async(pool, [&] {
    s.start();
    sum = through(pool, nullptr, n);
    s.stop();
  }).get();
  s.set_ops(static_cast<double>(n));
  if (sum != static_cast<long>(n)) throw std::runtime_error("21 no-timeout: a future lost its value");
}

const bool registered =
    bench::add_workload({"21-with-timeout",
                         "with_timeout on 100k futures that complete in time, from a pool task, 250 at a time",
                         "one future given a 1 s timeout, set, read",
                         "the same futures without a timeout",
                         {bench::figure_target("added_ns", 150, "the timeout adds <= 150 ns per future"),
                          bench::figure_target("timer_wakeups_per_op", 0.01, "no timer-thread wake-up per cancelled timeout")}}) &&
    bench::add_impl("21-with-timeout", "weft", with_timeouts) && bench::add_impl("21-with-timeout", "no-timeout", without);

}  // namespace
