// Workload 7, peer: std::async(std::launch::async), a thread per call, with
// 10k calls only (weft's target: >= 100x faster per call).
#include <cstddef>
#include <future>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 50 : 10000;
  std::vector<std::future<int>> futures;
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    const int v = static_cast<int>(i);
    futures.push_back(std::async(std::launch::async, [v] { return v; }));
  }
  for (std::future<int>& f : futures) sum += f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered = bench::add_impl("07-async-get", "std-async", run);

}  // namespace
