// Workload 7: 1M weft::async calls returning futures, then get() them all
// from the calling thread: what legacy code that queues std::packaged_task
// on a hand-written pool, or calls std::async, is replaced by.
//
// Baselines: an ad-hoc mutex+condvar pool running std::packaged_task
// (1,800-2,200 ns per task measured here before weft; expected ratio weft
// <= 0.25x), and std::async (60,000-77,000 ns; run with 10k calls only;
// weft must be >= 100x faster, i.e. a ratio <= 0.01).
#include "weft/async.hpp"

#include <cstddef>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::thread_pool& pool = bench::weft_pool();
  std::vector<weft::future<int>> futures;
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    const int v = static_cast<int>(i);
    futures.push_back(weft::async(pool, [v] { return v; }));
  }
  for (weft::future<int>& f : futures) sum += f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"07-async-get",
                         "1M async() calls returning futures, then get all",
                         "one async call + its get()",
                         "ad-hoc pool + std::packaged_task; std::async (10k calls)",
                         {bench::ratio_target("legacy-packaged_task", 0.25, "weft <= 0.25x ad-hoc pool + packaged_task"),
                          bench::ratio_target("std-async", 0.01, "weft >= 100x faster than std::async")}}) &&
    bench::add_impl("07-async-get", "weft", run);

}  // namespace
