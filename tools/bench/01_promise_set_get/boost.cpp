// Workload 1, peer: boost::promise / boost::future (the baseline; weft's
// target is <= 0.3x this).
#include "common/boost_peer.hpp"

#include <cstddef>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    p.set_value(static_cast<int>(i));
    sum += f.get();
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered = bench::add_impl("01-promise-set-get", "boost", run);

}  // namespace
