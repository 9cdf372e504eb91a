// Workload 13, peer: the ad-hoc std::multimap + condition variable timer
// thread (common/timer_peers.hpp), armed and cancelled from a weft pool
// task, as weft's are. weft's target: <= 0.5x this.
#include <chrono>
#include <cstddef>
#include <vector>

#include "common/pools.hpp"
#include "common/timer_peers.hpp"
#include "harness.hpp"
#include "weft/async.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 100000;
  bench::adhoc_timer_thread& timers = bench::adhoc_timers();
  std::vector<bench::adhoc_timer_thread::handle> hs(n);
  weft::async(bench::weft_pool(), [&] {
    s.start();
    for (std::size_t i = 0; i < n; ++i) {
      hs[i] = timers.arm(std::chrono::steady_clock::now() + std::chrono::hours(1), [] {});
    }
    for (std::size_t i = 0; i < n; ++i) timers.cancel(hs[i]);
    s.stop();
  }).get();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("13-timer-arm-cancel", "adhoc-multimap", run);

}  // namespace
