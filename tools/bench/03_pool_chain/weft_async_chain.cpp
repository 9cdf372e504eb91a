// Workload 3, weft variant for diagnosis: the chain built the way the TBB
// peer builds it, each task async()ing the next from its worker (the
// futures are dropped). Not the one the target is judged on (weft.cpp
// attaches 1M continuations up front, so it also pays for 1M states that
// are cold in cache by the time they run); the gap between the two is the
// cost of the pre-built chain, the gap to TBB the cost of weft's spawn path.
#include "weft/async.hpp"
#include "weft/promise.hpp"

#include <cstddef>
#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

// The promise travels down the chain and is set by the last link, which
// owns it: the waiting thread never destroys a promise another thread may
// still be inside set_value() of.
struct link {
  weft::thread_pool* pool;
  std::size_t left;
  std::size_t value;
  weft::promise<std::size_t> done;
  void operator()() {
    if (left == 0) {
      done.set_value(value);
      return;
    }
    weft::async(*pool, link{pool, left - 1, value + 1, std::move(done)});
  }
};

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  weft::promise<std::size_t> done(pool);
  weft::future<std::size_t> f = done.get_future();
  weft::async(pool, link{&pool, n, 0, std::move(done)});
  const std::size_t r = f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  if (r != n) throw std::runtime_error("03 weft-async-chain: wrong chain result");
}

const bool registered = bench::add_impl("03-pool-chain", "weft-async-chain", run);

}  // namespace
