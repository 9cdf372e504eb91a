// Workload 15: cancel() on a source with one callback registered, 100k
// sources and callbacks made beforehand (only the cancels are timed; each
// runs its callback).
//
// Baseline: std::stop_source::request_stop with one std::stop_callback,
// which in a multi-threaded process (common/multithreaded.hpp) makes a
// futex wake per callback: it releases a semaphore in case the callback's
// destructor waits. Expected: no system call per cancel (< 0.01/op); the
// ratio is reported, not targeted.
#include "weft/cancellation.hpp"

#include <cstddef>
#include <deque>
#include <vector>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 100000;
  std::vector<weft::cancellation_source> sources(n);
  long long fired = 0;
  std::deque<weft::cancellation_callback> callbacks;  // not movable: built in place
  for (std::size_t i = 0; i < n; ++i) callbacks.emplace_back(sources[i].token(), [&fired] { ++fired; });
  s.start();
  for (std::size_t i = 0; i < n; ++i) sources[i].cancel();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(fired);
}

const bool registered =
    bench::add_workload({"18-cancel-1",
                         "cancel() with one callback registered, 100k sources",
                         "cancel one source, running its callback",
                         "std::stop_source::request_stop with one std::stop_callback",
                         {bench::figure_target("syscalls_per_op", 0.01, "no syscall per callback (< 0.01/op)")}}) &&
    bench::add_impl("18-cancel-1", "weft", run);

}  // namespace
