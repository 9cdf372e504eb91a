// Workload 20, peer: 1,000,000 empty tasks run in one tbb::task_group and
// waited for, inside an arena of opts().threads slots (the caller is one of
// them, as a tbb user would write it).
#include <atomic>
#include <stdexcept>

#include <oneapi/tbb/task_group.h>

#include "common/pools.hpp"
#include "harness.hpp"

namespace bench {
long task_group_tasks(const state& s);
}  // namespace bench

namespace {

void run(bench::state& s) {
  const long n = bench::task_group_tasks(s);
  std::atomic<long> ran{0};
  s.start();
  bench::tbb_arena().execute([&] {
    tbb::task_group g;
    for (long i = 0; i < n; ++i) g.run([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    g.wait();
  });
  s.stop();
  s.set_ops(static_cast<double>(n));
  if (ran.load() != n) throw std::runtime_error("20 tbb: a task did not run");
}

const bool registered = bench::add_impl("20-task-group", "tbb", run);

}  // namespace
