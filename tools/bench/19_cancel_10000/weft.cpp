// Workload 16: cancel() on one source with 10,000 callbacks registered
// (registered beforehand; only the cancel is timed), 10 sources per run.
// One operation is one callback run by cancel().
//
// Baseline: std::stop_source::request_stop with 10,000 std::stop_callbacks
// (a futex wake per callback in a multi-threaded process, see
// common/multithreaded.hpp). Expected: no system call per callback
// (< 0.01/op); the ratio is reported, not targeted.
#include "weft/cancellation.hpp"

#include <cstddef>
#include <deque>
#include <vector>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t per_source = s.quick() ? 100 : 10000;
  const std::size_t sources_n = s.quick() ? 2 : 10;
  std::vector<weft::cancellation_source> sources(sources_n);
  long long fired = 0;
  std::deque<weft::cancellation_callback> callbacks;
  for (std::size_t k = 0; k < sources_n; ++k) {
    const weft::cancellation_token t = sources[k].token();
    for (std::size_t i = 0; i < per_source; ++i) callbacks.emplace_back(t, [&fired] { ++fired; });
  }
  s.start();
  for (std::size_t k = 0; k < sources_n; ++k) sources[k].cancel();
  s.stop();
  s.set_ops(static_cast<double>(per_source * sources_n));
  bench::keep(fired);
}

const bool registered =
    bench::add_workload({"19-cancel-10000",
                         "cancel() with 10,000 callbacks registered, 10 sources",
                         "one callback run by cancel()",
                         "std::stop_source::request_stop with 10,000 std::stop_callbacks",
                         {bench::figure_target("syscalls_per_op", 0.01, "no syscall per callback (< 0.01/op)")}}) &&
    bench::add_impl("19-cancel-10000", "weft", run);

}  // namespace
