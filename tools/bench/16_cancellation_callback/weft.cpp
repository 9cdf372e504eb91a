// Workload 13: register and deregister one cancellation_callback on the
// token of a live source, 1M times on one thread: what a blocking call or a
// timer pays to be cancellable when it is not cancelled.
//
// Baseline: std::stop_callback on a std::stop_token (~19 ns here).
// Expected ratio: weft <= 1.5x std::stop_callback, and no allocation per
// registration (the node lives in the callback object).
#include "weft/cancellation.hpp"

#include <cstddef>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::cancellation_source src;
  const weft::cancellation_token token = src.token();
  long long fired = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    weft::cancellation_callback cb(token, [&fired] { ++fired; });
    bench::keep(cb);
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(fired);
}

const bool registered =
    bench::add_workload({"16-cancellation-callback",
                         "cancellation_callback register + deregister on a live token, 1M",
                         "construct and destroy one callback on an uncancelled token",
                         "std::stop_callback",
                         {bench::ratio_target("std", 1.5, "weft <= 1.5x std::stop_callback"),
                          bench::figure_target("allocs_per_op", 0.01, "no allocation per registration (< 0.01/op)")}}) &&
    bench::add_impl("16-cancellation-callback", "weft", run);

}  // namespace
