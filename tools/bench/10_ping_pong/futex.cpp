// Workload 10, peer: the raw futex round trip, the baseline (weft's target:
// <= 1.15x this). One 32-bit word counts the turns; a side stores its turn,
// FUTEX_WAKEs, and FUTEX_WAITs until the other side's turn appears. No spin:
// every wait is a syscall (returning at once if the turn already changed).
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "harness.hpp"

namespace bench {
std::size_t ping_pong_rounds(const state& s);
}

namespace {

void futex_wait(std::atomic<std::uint32_t>& w, std::uint32_t old) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& w) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
void await_turn(std::atomic<std::uint32_t>& w, std::uint32_t turn) {
  for (;;) {
    const std::uint32_t v = w.load(std::memory_order_acquire);
    if (v == turn) return;
    futex_wait(w, v);
  }
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
      futex_wake(word);
    }
  });
  while (!ready.load()) std::this_thread::yield();
  s.start();
  for (std::uint32_t i = 0; i < n; ++i) {
    word.store(2 * i + 1, std::memory_order_release);
    futex_wake(word);
    await_turn(word, 2 * i + 2);
  }
  s.stop();
  other.join();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("10-ping-pong", "futex", run);

}  // namespace
