// tools/bench/common/asio_peer.hpp: the shared boost::asio::thread_pool.
#ifndef WEFT_BENCH_COMMON_ASIO_PEER_HPP
#define WEFT_BENCH_COMMON_ASIO_PEER_HPP

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "harness.hpp"

namespace bench {

/// opts().threads threads (header-only asio from libboost-dev).
inline boost::asio::thread_pool& asio_pool() {
  static auto* pool = new boost::asio::thread_pool(opts().threads);
  return *pool;
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_ASIO_PEER_HPP
