// Workload 7, peer: the legacy way, a std::packaged_task per call held in a
// std::shared_ptr (std::function needs a copyable callable) and posted to
// the ad-hoc mutex+condvar pool; std::future::get() for each (weft's
// target: <= 0.25x this).
#include <cstddef>
#include <future>
#include <memory>
#include <vector>

#include "common/legacy_pool.hpp"
#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  bench::legacy_pool& pool = bench::the_legacy_pool();
  std::vector<std::future<int>> futures;
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    const int v = static_cast<int>(i);
    auto task = std::make_shared<std::packaged_task<int()>>([v] { return v; });
    futures.push_back(task->get_future());
    pool.post([task] { (*task)(); });
  }
  for (std::future<int>& f : futures) sum += f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered = bench::add_impl("07-async-get", "legacy-packaged_task", run);

}  // namespace
