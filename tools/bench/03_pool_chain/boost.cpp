// Workload 3, peer: boost::future::then(executor) on
// boost::executors::basic_thread_pool (weft's target: <= 0.05x this).
#include "common/boost_peer.hpp"

#include <chrono>
#include <cstddef>
#include <stdexcept>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  boost::executors::basic_thread_pool& pool = bench::boost_pool();
  s.start();
  boost::promise<int> p;
  boost::future<int> f = p.get_future();
  for (std::size_t i = 0; i < n; ++i) f = f.then(pool, [](boost::future<int> x) { return x.get() + 1; });
  const auto attached = std::chrono::steady_clock::now();
  p.set_value(0);
  const int r = f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  s.metric("attach_ns_per_link", bench::ns_since_start(s, attached) / static_cast<double>(n));
  if (static_cast<std::size_t>(r) != n) throw std::runtime_error("03 boost: wrong chain result");
}

const bool registered = bench::add_impl("03-pool-chain", "boost", run);

}  // namespace
