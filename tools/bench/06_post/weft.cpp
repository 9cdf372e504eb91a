// Workload 6: 1M fire-and-forget posts from a thread outside the pool, then
// wait until all have run. Every implementation runs the same task body (a
// countdown; the last one wakes the waiting thread through a condition
// variable).
//
// Baselines: raw TBB (task_arena::enqueue; expected ratio weft <= 1.2x),
// boost::asio::thread_pool post (1,200-1,350 ns measured here; weft <= 0.5x),
// an ad-hoc mutex+condvar pool (223-290 ns; weft <= 1x).
#include "weft/thread_pool.hpp"

#include <cstddef>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::thread_pool& pool = bench::weft_pool();
  bench::done_latch done(static_cast<long>(n));
  s.start();
  for (std::size_t i = 0; i < n; ++i) pool.execute([&done] { done.count_down(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

const bool registered =
    bench::add_workload({"06-post",
                         "1M fire-and-forget posts from an outside thread, then wait",
                         "one post (submit + run)",
                         "tbb::task_arena::enqueue; asio::thread_pool; ad-hoc mutex+condvar pool",
                         {bench::ratio_target("tbb-enqueue", 1.2, "weft <= 1.2x raw TBB enqueue"),
                          bench::ratio_target("asio", 0.5, "weft <= 0.5x asio::thread_pool post"),
                          bench::ratio_target("legacy", 1.0, "weft <= 1x ad-hoc mutex+condvar pool")}}) &&
    bench::add_impl("06-post", "weft", run);

}  // namespace
