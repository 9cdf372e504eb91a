// Workload 23, peer: ping-pong between two threads through two
// std::counting_semaphores (C++20: this file is built as C++20, see
// meson.build).
#include <cstddef>
#include <semaphore>

#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {
std::size_t semaphore_ping_pong_rounds(const state& s);
}

namespace {

void run(bench::state& s) {
  std::counting_semaphore<> ping(0), pong(0);
  bench::thread_ping_pong(s, ping, pong, bench::semaphore_ping_pong_rounds(s));
}

const bool registered = bench::add_impl("23-semaphore-ping-pong", "std", run);

}  // namespace
