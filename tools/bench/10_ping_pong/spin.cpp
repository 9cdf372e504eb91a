// Workload 10, peer: a pure spin round trip on one atomic word (the floor:
// one cache-line transfer each way, ~640 ns here; burns both cores).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "harness.hpp"

namespace bench {
std::size_t ping_pong_rounds(const state& s);
}

namespace {

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void await_turn(std::atomic<std::uint32_t>& w, std::uint32_t turn) {
  while (w.load(std::memory_order_acquire) != turn) relax();
}

void run(bench::state& s) {
  const std::size_t n = bench::ping_pong_rounds(s);
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> ready{false};
  std::thread other([&] {
    ready.store(true);
    for (std::uint32_t i = 0; i < n; ++i) {
      await_turn(word, 2 * i + 1);
      word.store(2 * i + 2, std::memory_order_release);
    }
  });
  while (!ready.load()) std::this_thread::yield();
  s.start();
  for (std::uint32_t i = 0; i < n; ++i) {
    word.store(2 * i + 1, std::memory_order_release);
    await_turn(word, 2 * i + 2);
  }
  s.stop();
  other.join();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("10-ping-pong", "spin", run);

}  // namespace
