// Workload 14: cancel() on a source with no callback registered, 200k
// sources made beforehand (only the cancels are timed): the cost of calling
// work off when nothing has to be woken.
//
// Baseline: std::stop_source::request_stop (~7 ns here). Expected ratio:
// weft <= 1x request_stop.
#include "weft/cancellation.hpp"

#include <cstddef>
#include <vector>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 200000;
  std::vector<weft::cancellation_source> sources(n);
  std::size_t won = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) won += sources[i].cancel() ? 1 : 0;
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(won);
}

const bool registered =
    bench::add_workload({"17-cancel-0",
                         "cancel() with no callback registered, 200k sources",
                         "cancel one source",
                         "std::stop_source::request_stop",
                         {bench::ratio_target("std", 1.0, "weft <= 1x std::stop_source::request_stop")}}) &&
    bench::add_impl("17-cancel-0", "weft", run);

}  // namespace
