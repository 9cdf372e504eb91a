// Workload 10: blocking get() ping-pong between two plain threads (neither
// is a pool worker). Each round trip: this thread sets a promise the other
// waits on, the other sets one back, this thread's get() returns. The
// promises and futures are made before the timed part.
//
// Baselines: a raw futex round trip (syscall(SYS_futex) wait/wake, no spin;
// expected ratio weft <= 1.15x, and faster still thanks to weft's bounded
// spin before parking), std::promise ping-pong (19,000-26,000 ns measured
// here before weft) and a pure spin round trip (640 ns; the floor).
#include "weft/promise.hpp"

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace bench {
std::size_t ping_pong_rounds(const state& s) { return s.quick() ? 200 : 20000; }
}  // namespace bench

namespace {

void run(bench::state& s) {
  const std::size_t n = bench::ping_pong_rounds(s);
  weft::executor& ex = bench::weft_pool();  // never used: nothing continues
  std::vector<weft::promise<int>> ping, pong;
  std::vector<weft::future<int>> ping_f, pong_f;
  ping.reserve(n);
  pong.reserve(n);
  ping_f.reserve(n);
  pong_f.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ping.emplace_back(ex);
    pong.emplace_back(ex);
    ping_f.push_back(ping.back().get_future());
    pong_f.push_back(pong.back().get_future());
  }
  std::atomic<bool> ready{false};
  std::thread other([&] {
    ready.store(true);
    for (std::size_t i = 0; i < n; ++i) pong[i].set_value(ping_f[i].get() + 1);
  });
  while (!ready.load()) std::this_thread::yield();
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    ping[i].set_value(static_cast<int>(i));
    sum += pong_f[i].get();
  }
  s.stop();
  other.join();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"10-ping-pong",
                         "blocking get() ping-pong between two threads",
                         "one round trip",
                         "raw futex round trip; std::promise; spin",
                         {bench::ratio_target("futex", 1.15, "weft <= 1.15x the raw futex round trip"),
                          bench::ratio_target("futex", 1.0, "faster still with a bounded spin (< 1x futex)")}}) &&
    bench::add_impl("10-ping-pong", "weft", run);

}  // namespace
