// Workload 6, peer: boost::asio::post to an asio::thread_pool (weft's
// target: <= 0.5x this).
#include "common/asio_peer.hpp"

#include <cstddef>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  boost::asio::thread_pool& pool = bench::asio_pool();
  bench::done_latch done(static_cast<long>(n));
  s.start();
  for (std::size_t i = 0; i < n; ++i) boost::asio::post(pool, [&done] { done.count_down(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("06-post", "asio", run);

}  // namespace
