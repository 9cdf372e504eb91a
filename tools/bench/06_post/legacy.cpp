// Workload 6, peer: the ad-hoc std::mutex + std::condition_variable pool
// of std::function tasks that legacy services carry (weft's target: <= 1x
// this).
#include <cstddef>

#include "common/legacy_pool.hpp"
#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  bench::legacy_pool& pool = bench::the_legacy_pool();
  bench::done_latch done(static_cast<long>(n));
  s.start();
  for (std::size_t i = 0; i < n; ++i) pool.post([&done] { done.count_down(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("06-post", "legacy", run);

}  // namespace
