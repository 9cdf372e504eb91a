// Workload 10, peer: std::promise / std::future ping-pong between two
// threads (glibc: a futex wake per set_value, a futex wait per get).
#include <atomic>
#include <cstddef>
#include <future>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace bench {
std::size_t ping_pong_rounds(const state& s);
}

namespace {

void run(bench::state& s) {
  const std::size_t n = bench::ping_pong_rounds(s);
  std::vector<std::promise<int>> ping(n), pong(n);
  std::vector<std::future<int>> ping_f, pong_f;
  ping_f.reserve(n);
  pong_f.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ping_f.push_back(ping[i].get_future());
    pong_f.push_back(pong[i].get_future());
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

const bool registered = bench::add_impl("10-ping-pong", "std", run);

}  // namespace
