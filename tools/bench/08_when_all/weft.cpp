// Workload 8: when_all over 10k promises' futures; set every promise, then
// get the vector. Repeated 10 times per run; one op is one input (making
// its promise, setting it, collecting its value).
//
// Baseline: boost::when_all (195-252 ns per input measured here before
// weft, plus a helper thread per call). Expected ratio: weft <= 0.5x Boost,
// and no thread created.
#include "weft/promise.hpp"
#include "weft/when_all.hpp"

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  const int reps = s.quick() ? 1 : 10;
  weft::thread_pool& pool = bench::weft_pool();
  std::vector<weft::promise<int>> promises;
  std::vector<weft::future<int>> futures;
  promises.reserve(n);
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (int rep = 0; rep < reps; ++rep) {
    promises.clear();
    futures.clear();
    for (std::size_t i = 0; i < n; ++i) {
      promises.emplace_back(pool);
      futures.push_back(promises.back().get_future());
    }
    weft::future<std::vector<int>> all = weft::when_all(futures);
    for (std::size_t i = 0; i < n; ++i) promises[i].set_value(static_cast<int>(i));
    const std::vector<int> values = all.get();
    if (values.size() != n) throw std::runtime_error("08 weft: wrong size");
    for (int v : values) sum += v;
  }
  s.stop();
  s.set_ops(static_cast<double>(n) * reps);
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"08-when-all",
                         "when_all over 10k promises: set all, get",
                         "one input (promise made, set, value collected)",
                         "boost::when_all",
                         {bench::ratio_target("boost", 0.5, "weft <= 0.5x boost::when_all"),
                          bench::figure_target("threads_created_per_run", 0, "no extra thread (0 created per run)")}}) &&
    bench::add_impl("08-when-all", "weft", run);

}  // namespace
