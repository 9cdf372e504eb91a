// tools/bench/common/semaphore_peers.hpp: the thread-based peers of
// workloads 22 and 23, written once for any semaphore with acquire() and
// release(): C++20's std::counting_semaphore (in a C++20 file) and the
// counting semaphore legacy code writes by hand, a count under a
// std::mutex with a std::condition_variable for waiters.
#ifndef WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP
#define WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "harness.hpp"

namespace bench {

class condvar_semaphore {
 public:
  explicit condvar_semaphore(std::ptrdiff_t n) : count_(n) {}
  void acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return count_ > 0; });
    --count_;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++count_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::ptrdiff_t count_;
};

/// Workload 22's peer: `n` acquire + release pairs on `sem`, which nobody
/// else uses.
template <class Sem>
void uncontended_semaphore(state& s, Sem& sem, std::size_t n) {
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    sem.acquire();
    sem.release();
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
}

/// Workload 23's peer: `n` round trips between this thread and another,
/// each waiting on its own semaphore and releasing the other's.
template <class Sem>
void thread_ping_pong(state& s, Sem& ping, Sem& pong, std::size_t n) {
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

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP
