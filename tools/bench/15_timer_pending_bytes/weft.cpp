// Workload 15: memory per pending sleep_for: 100,000 sleeps of an hour on
// a timer service of their own (futures kept in a vector reserved
// beforehand). Two figures: bytes/op, what operator new was asked for in
// the window (the sleep's state, which is also its timer node, and every
// reallocation of the service's heap array on the way up, freed ones
// included), and live_bytes_per_sleep, what malloc holds at the end of the
// window over what it held at its start (mallinfo2: the states with
// malloc's own overhead, plus the heap array as it stands).
//
// Baseline: asio::steady_timer with one async_wait (the timer object plus
// what async_wait allocates). Expected: weft <= 100 live bytes per sleep.
#include "weft/timer.hpp"

#include <malloc.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 100000;
  // A service of its own: its sleeps end with it, after their futures are
  // dropped (so nobody sees them fail).
  auto svc = std::make_unique<weft::timer_service>(bench::weft_pool());
  std::vector<weft::future<void>> sleeps;
  sleeps.reserve(n);
  const std::size_t live0 = mallinfo2().uordblks;
  s.start();
  for (std::size_t i = 0; i < n; ++i) sleeps.push_back(svc->sleep_for(std::chrono::hours(1)));
  s.stop();
  const std::size_t live1 = mallinfo2().uordblks;
  s.set_ops(static_cast<double>(n));
  s.metric("live_bytes_per_sleep", static_cast<double>(live1 - live0) / static_cast<double>(n));
  s.metric("user_side_bytes", static_cast<double>(sizeof(weft::future<void>)));
  s.metric("pending", static_cast<double>(svc->pending()));
  sleeps.clear();
  svc.reset();
}

const bool registered =
    bench::add_workload({"15-timer-pending-bytes",
                         "memory per pending sleep_for (100k pending)",
                         "one pending sleep_for(1 h)",
                         "asio::steady_timer + async_wait",
                         {bench::figure_target("live_bytes_per_sleep", 100, "<= 100 live heap bytes per pending sleep")}}) &&
    bench::add_impl("15-timer-pending-bytes", "weft", run);

}  // namespace
