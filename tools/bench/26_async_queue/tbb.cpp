// Workload 26, peer: oneTBB's concurrent_bounded_queue with a capacity of
// 1024, blocking push() and pop() from P producer and C consumer threads.
#include <oneapi/tbb/concurrent_queue.h>

#include <cstdint>

#include "26_async_queue/cases.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s, const bench::queue_case& c) {
  tbb::concurrent_bounded_queue<std::uint64_t> q;
  q.set_capacity(static_cast<std::ptrdiff_t>(bench::queue_capacity));
  bench::threaded_queue(
      s, c, [&q] { return [&q](std::uint64_t v) { q.push(v); }; },
      [&q] {
        return [&q] {
          std::uint64_t v = 0;
          q.pop(v);
          return v;
        };
      });
}

const bool registered = bench::add_queue_impl("tbb", run);

}  // namespace
