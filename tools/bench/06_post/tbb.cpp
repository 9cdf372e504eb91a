// Workload 6, peer: raw oneTBB, tbb::task_arena::enqueue from an outside
// thread into an arena with opts().threads worker slots (weft's target:
// <= 1.2x this).
#include <cstddef>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  tbb::task_arena& arena = bench::tbb_enqueue_arena();
  bench::done_latch done(static_cast<long>(n));
  s.start();
  for (std::size_t i = 0; i < n; ++i) arena.enqueue([&done] { done.count_down(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("06-post", "tbb-enqueue", run);

}  // namespace
