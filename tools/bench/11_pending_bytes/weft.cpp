// Workload 11: heap bytes per pending future<int> with one continuation.
// The timed window makes 10k promises and attaches one then() to each
// future (vectors reserved beforehand), so bytes/op is exactly the heap
// cost of one pending promise + continuation; afterwards every promise is
// set and every result read, outside the window.
//
// Baseline: boost::future with .then(launch::sync). Expected: weft <= 128
// bytes per pending future (one allocation for the promise's state, one for
// the continuation's).
#include "weft/promise.hpp"

#include <cstddef>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  weft::thread_pool& pool = bench::weft_pool();
  std::vector<weft::promise<int>> promises;
  std::vector<weft::future<int>> futures;
  promises.reserve(n);
  futures.reserve(n);
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    promises.emplace_back(pool);
    futures.push_back(promises.back().get_future().then([](int x) { return x + 1; }));
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  for (std::size_t i = 0; i < n; ++i) promises[i].set_value(static_cast<int>(i));
  long long sum = 0;
  for (weft::future<int>& f : futures) sum += f.get();
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"11-pending-bytes",
                         "heap bytes per pending future<int> with one continuation",
                         "one pending promise + future.then(); bytes/op is the answer",
                         "boost::future .then",
                         {bench::figure_target("bytes_per_op", 128, "<= 128 heap bytes per pending future")}}) &&
    bench::add_impl("11-pending-bytes", "weft", run);

}  // namespace
