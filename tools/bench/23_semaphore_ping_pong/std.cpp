// Workload 23, peer: ping-pong between two threads through two
// std::counting_semaphores (C++20: this file is built as C++20, see
// meson.build).
#include <cstddef>
#include <semaphore>
#include <thread>

#include "harness.hpp"

namespace bench {
std::size_t semaphore_ping_pong_rounds(const state& s);
}

namespace {

void run(bench::state& s) {
  const std::size_t n = bench::semaphore_ping_pong_rounds(s);
  std::counting_semaphore<> ping(0), pong(0);
  std::thread other([&] {
    for (std::size_t i = 0; i < n; ++i) {
      pong.acquire();
      ping.release();
    }
  });
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    pong.release();
    ping.acquire();
  }
  s.stop();
  other.join();
  s.set_ops(static_cast<double>(n));
}

const bool registered = bench::add_impl("23-semaphore-ping-pong", "std", run);

}  // namespace
