// Workload 3: a 1M-long chain of continuations on the pool. The chain is
// attached to a pending promise, then set_value starts it; each link runs on
// a worker of weft's pool and schedules the next from there.
//
// Baselines: a tbb::task_group chain where each task spawns the next
// (expected ratio: weft <= 1.5x TBB), and boost::future::then(executor) on
// boost::executors::basic_thread_pool (690-4,820 ns/link measured here
// before weft; expected ratio: weft <= 0.05x Boost).
#include "weft/promise.hpp"

#include <chrono>
#include <cstddef>
#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  weft::promise<int> p(pool);
  weft::future<int> f = p.get_future();
  for (std::size_t i = 0; i < n; ++i) f = f.then([](int x) { return x + 1; });
  const auto attached = std::chrono::steady_clock::now();
  p.set_value(0);
  const int r = f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  s.metric("attach_ns_per_link", bench::ns_since_start(s, attached) / static_cast<double>(n));
  if (static_cast<std::size_t>(r) != n) throw std::runtime_error("03 weft: wrong chain result");
}

const bool registered =
    bench::add_workload({"03-pool-chain",
                         "a 1M-long chain of continuations on the pool",
                         "one link (attach + schedule + run)",
                         "tbb::task_group chain; boost::future::then(executor)",
                         {bench::ratio_target("tbb", 1.5, "weft <= 1.5x tbb::task_group chain"),
                          bench::ratio_target("boost", 0.05, "weft <= 0.05x boost then(executor)")}}) &&
    bench::add_impl("03-pool-chain", "weft", run);

}  // namespace
