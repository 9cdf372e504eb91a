// tools/bench/common/semaphore_peers.hpp: the thread-based peers of
// workloads 22, 23, 25 and 27, written once for any semaphore with
// acquire() and release(): C++20's std::counting_semaphore (in a C++20
// file), the counting semaphore legacy code writes by hand, a count under a
// std::mutex with a std::condition_variable for waiters, and std::mutex
// (through mutex_as_semaphore).
#ifndef WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP
#define WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

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

/// std::mutex seen as a semaphore of one, for contended_semaphore().
class mutex_as_semaphore {
 public:
  void acquire() { mutex_.lock(); }
  void release() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

/// The critical section of workloads 25 and 27: who entered last. enter()
/// says whether the caller took over from someone else, so the share of
/// acquisitions that changed owner shows how the primitive hands over: near
/// 1 for a FIFO hand-off, lower where a releaser can take it straight back.
class owner_changes {
 public:
  bool enter(int who) {
    // A statistic, not a synchronisation: relaxed is enough (the exchange
    // itself is atomic, which is all the count needs; with a count above 1
    // several holders race here, and "last" is whoever wrote last).
    return last_.exchange(who, std::memory_order_relaxed) != who;
  }

 private:
  std::atomic<int> last_{-1};
};

/// Reports workload 25's and 27's figures: ops (all acquisitions) and the
/// share of them that changed owner.
inline void report_contended(state& s, std::size_t acquisitions, std::size_t changes) {
  s.set_ops(static_cast<double>(acquisitions));
  s.metric("owner_change_share", static_cast<double>(changes) / static_cast<double>(acquisitions));
}

/// Workloads 25 and 27, threads: `threads` threads, started and parked
/// before the window opens, each acquiring `sem`, running the critical
/// section and releasing it, `per_thread` times.
template <class Sem>
void contended_semaphore(state& s, Sem& sem, int threads, std::size_t per_thread) {
  owner_changes owner;
  std::vector<std::size_t> changes(static_cast<std::size_t>(threads));
  std::promise<void> go;
  std::shared_future<void> started = go.get_future().share();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      started.wait();
      std::size_t mine = 0;
      for (std::size_t i = 0; i < per_thread; ++i) {
        sem.acquire();
        mine += owner.enter(t) ? 1 : 0;
        sem.release();
      }
      changes[static_cast<std::size_t>(t)] = mine;
    });
  }
  s.start();
  go.set_value();
  for (std::thread& t : pool) t.join();
  s.stop();
  std::size_t total = 0;
  for (std::size_t c : changes) total += c;
  report_contended(s, static_cast<std::size_t>(threads) * per_thread, total);
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_SEMAPHORE_PEERS_HPP
