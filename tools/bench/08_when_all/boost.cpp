// Workload 8, peer: boost::when_all over a range of boost::futures, the
// baseline (weft's target: <= 0.5x this). Boost 1.74 starts a thread per
// when_all call to wait for the inputs.
#include "common/boost_peer.hpp"

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  const int reps = s.quick() ? 1 : 10;
  std::vector<boost::promise<int>> promises;
  std::vector<boost::future<int>> futures;
  promises.reserve(n);
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (int rep = 0; rep < reps; ++rep) {
    promises.clear();
    futures.clear();
    for (std::size_t i = 0; i < n; ++i) {
      promises.emplace_back();
      futures.push_back(promises.back().get_future());
    }
    auto all = boost::when_all(futures.begin(), futures.end());
    for (std::size_t i = 0; i < n; ++i) promises[i].set_value(static_cast<int>(i));
    auto values = all.get();
    if (values.size() != n) throw std::runtime_error("08 boost: wrong size");
    for (auto& f : values) sum += f.get();
  }
  s.stop();
  s.set_ops(static_cast<double>(n) * reps);
  bench::keep(sum);
}

const bool registered = bench::add_impl("08-when-all", "boost", run);

}  // namespace
