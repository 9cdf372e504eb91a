// Workload 11, peer: a boost::promise<int> whose future has one
// .then(launch::sync) continuation, pending.
#include "common/boost_peer.hpp"

#include <cstddef>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  std::vector<boost::promise<int>> promises;
  std::vector<boost::future<int>> futures;
  promises.reserve(n);
  futures.reserve(n);
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    promises.emplace_back();
    futures.push_back(
        promises.back().get_future().then(boost::launch::sync, [](boost::future<int> x) { return x.get() + 1; }));
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  for (std::size_t i = 0; i < n; ++i) promises[i].set_value(static_cast<int>(i));
  long long sum = 0;
  for (boost::future<int>& f : futures) sum += f.get();
  bench::keep(sum);
}

const bool registered = bench::add_impl("11-pending-bytes", "boost", run);

}  // namespace
