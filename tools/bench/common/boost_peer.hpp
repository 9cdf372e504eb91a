// tools/bench/common/boost_peer.hpp: included first by every Boost peer.
//
// boost::future's then(), when_all() and executors exist only with
// BOOST_THREAD_VERSION 5 (or the PROVIDES_ macros). Every translation unit
// of weft-bench that includes <boost/thread/future.hpp> includes this
// header first, so all of them see one definition of boost::future (weft's
// own code never includes it with these settings).
#ifndef WEFT_BENCH_COMMON_BOOST_PEER_HPP
#define WEFT_BENCH_COMMON_BOOST_PEER_HPP

#ifdef BOOST_THREAD_FUTURE_HPP
#error "boost_peer.hpp must be included before any Boost.Thread header"
#endif

#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS
#define BOOST_THREAD_PROVIDES_FUTURE_WHEN_ALL_WHEN_ANY
#define BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION

#include <boost/thread/executors/basic_thread_pool.hpp>
#include <boost/thread/future.hpp>

#include "harness.hpp"

namespace bench {

/// Boost's own pool executor, opts().threads threads, for then(executor).
inline boost::executors::basic_thread_pool& boost_pool() {
  static auto* pool = new boost::executors::basic_thread_pool(opts().threads);
  return *pool;
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_BOOST_PEER_HPP
