// Workload 13: arm and cancel 100,000 timers that never fire (due in an
// hour), from a pool task: all armed first, then cancelled in the order
// they were armed, as timeouts that end before they fire are (most do).
// One op = one arm + one cancel.
//
// Baselines: asio::steady_timer (construct, expires_after, async_wait;
// cancel; the aborted handler runs) on an io_context run by its own io
// thread, armed from a pool task too: ~1.6-2.5 us per pair here, weft <=
// 0.1x ("asio-io-thread", armed on the io thread itself, is reported for
// reference). An ad-hoc std::multimap + condition variable timer thread
// (~0.4 us), weft <= 0.5x.
#include "weft/timer.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

#include "common/pools.hpp"
#include "common/weft_timers.hpp"
#include "harness.hpp"
#include "weft/async.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 100000;
  weft::thread_pool& pool = bench::weft_pool();
  weft::timer_service& svc = *bench::weft_timers().svc;
  std::vector<weft::timer_handle> hs(n);
  std::size_t won = 0;
  weft::async(pool, [&] {
    s.start();
    for (std::size_t i = 0; i < n; ++i) hs[i] = svc.arm_after(std::chrono::hours(1), pool, [] {});
    for (std::size_t i = 0; i < n; ++i) won += svc.cancel(hs[i]) ? 1 : 0;
    s.stop();
  }).get();
  s.set_ops(static_cast<double>(n));
  s.metric("cancels_won", static_cast<double>(won));
  s.metric("pending_after", static_cast<double>(svc.pending()));
}

const bool registered =
    bench::add_workload({"13-timer-arm-cancel",
                         "arm + cancel 100k timers that never fire, from a pool task",
                         "one arm + one cancel (100k armed, then cancelled in arming order)",
                         "asio::steady_timer on an io thread; ad-hoc multimap + condvar timer thread",
                         {bench::ratio_target("asio", 0.1, "<= 0.1x asio::steady_timer"),
                          bench::ratio_target("adhoc-multimap", 0.5, "<= 0.5x an ad-hoc multimap + condvar thread")}}) &&
    bench::add_impl("13-timer-arm-cancel", "weft", run);

}  // namespace
