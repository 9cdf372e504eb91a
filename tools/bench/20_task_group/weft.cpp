// Workload 20: 1,000,000 empty tasks spawned into one weft::task_group and
// joined. Two ways a user writes it: from a plain thread (the group's
// owner is outside the pool, as in a service's request thread), and from a
// task of the pool (the owner then helps run the children while it waits).
// Each child's future is dropped at once, as fire-and-join code does.
//
// Baseline: tbb::task_group in an arena of the same size (148 ns a task
// measured here). Target: weft <= 1.5x.
#include "weft/async.hpp"
#include "weft/task_group.hpp"

#include <atomic>
#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace bench {
long task_group_tasks(const state& s) { return s.quick() ? 10000 : 1000000; }
}  // namespace bench

namespace {

void spawn_all(weft::thread_pool& pool, long n, std::atomic<long>& ran) {
  weft::task_group g(pool);
  for (long i = 0; i < n; ++i) g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  g.wait();
}

void from_thread(bench::state& s) {
  const long n = bench::task_group_tasks(s);
  std::atomic<long> ran{0};
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  spawn_all(pool, n, ran);
  s.stop();
  s.set_ops(static_cast<double>(n));
  if (ran.load() != n) throw std::runtime_error("20 weft: a task did not run");
}

void from_task(bench::state& s) {
  const long n = bench::task_group_tasks(s);
  std::atomic<long> ran{0};
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  weft::async(pool, [&] { spawn_all(pool, n, ran); }).get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  if (ran.load() != n) throw std::runtime_error("20 weft-in-pool: a task did not run");
}

const bool registered =
    bench::add_workload({"20-task-group",
                         "task_group spawn + join, 1,000,000 empty tasks",
                         "one task spawned, run and joined",
                         "tbb::task_group in an arena of the same size",
                         {bench::ratio_target("tbb", 1.5, "weft <= 1.5x tbb::task_group")}}) &&
    bench::add_impl("20-task-group", "weft", from_thread) && bench::add_impl("20-task-group", "weft-in-pool", from_task);

}  // namespace
