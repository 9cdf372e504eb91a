// Workload 9, peer: one std::thread per blocking call, all started, then
// all joined (weft's target: >= 20x faster).
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  std::vector<std::thread> threads;
  threads.reserve(n);
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([] { std::this_thread::sleep_for(std::chrono::microseconds(10)); });
  }
  for (std::thread& t : threads) t.join();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("09-offload", "std-thread", run);

}  // namespace
