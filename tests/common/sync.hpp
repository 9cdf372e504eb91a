// tests/common/sync.hpp: the synchronisation tests use instead of sleeps.
//
// latch (C++14 has no std::latch), gate (a one-shot event) and spin_barrier
// (starts two threads within a few hundred nanoseconds of each other, for
// race tests). Every wait is bounded: the *_within members return false when
// the bound (scaled by WEFT_TEST_TIME_SCALE) runs out, and the test fails.
#ifndef WEFT_TESTS_COMMON_SYNC_HPP
#define WEFT_TESTS_COMMON_SYNC_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>

#include "watchdog.hpp"

namespace weft_test {

/// Counts down from `n`; waiters are released when it reaches zero.
class latch {
 public:
  explicit latch(std::ptrdiff_t n) : count_(n) {}
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  void count_down(std::ptrdiff_t k = 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ -= k;
    if (count_ <= 0) cv_.notify_all();
  }
  bool try_wait() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_ <= 0;
  }
  /// Waits at most `seconds` (scaled); true if the count reached zero.
  bool wait_within(double seconds = 20.0) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, bound(seconds), [this] { return count_ <= 0; });
  }
  /// count_down(), then wait_within(seconds).
  bool arrive_and_wait_within(double seconds = 20.0) {
    count_down();
    return wait_within(seconds);
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::ptrdiff_t count_;
};

/// A one-shot event: closed until open() is called, then open forever.
class gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool is_open() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_;
  }
  /// Waits at most `seconds` (scaled); true if the gate opened.
  bool wait_within(double seconds = 20.0) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, bound(seconds), [this] { return open_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

/// A reusable barrier for `n` threads that spins (no futex), so the threads
/// leave it nearly together. Bounded: arrive_and_wait() returns false if the
/// others did not arrive within the bound.
class spin_barrier {
 public:
  explicit spin_barrier(unsigned n) : n_(n) {}

  bool arrive_and_wait(double seconds = 20.0) {
    const unsigned gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + bound(seconds);
    unsigned spins = 0;
    while (generation_.load(std::memory_order_acquire) == gen) {
      if (++spins % 1024 == 0) {
        // With more threads than cores a pure spin can starve the thread we
        // wait for; yield now and then.
        std::this_thread::yield();
        if (std::chrono::steady_clock::now() > deadline) return false;
      }
    }
    return true;
  }

 private:
  const unsigned n_;
  std::atomic<unsigned> arrived_{0};
  std::atomic<unsigned> generation_{0};
};

/// A std::thread that joins when destroyed, so a failed assertion (an
/// exception leaving the test body) does not end in std::terminate.
class joining_thread {
 public:
  joining_thread() noexcept = default;
  template <class F>
  explicit joining_thread(F&& f) : t_(std::forward<F>(f)) {}
  joining_thread(joining_thread&&) noexcept = default;
  joining_thread& operator=(joining_thread&& o) noexcept {
    join();
    t_ = std::move(o.t_);
    return *this;
  }
  ~joining_thread() { join(); }
  void join() {
    if (t_.joinable()) t_.join();
  }
  std::thread::id get_id() const noexcept { return t_.get_id(); }

 private:
  std::thread t_;
};

/// Spins for about `iterations` pause instructions: a random small delay
/// for race tests (not a sleep: it shifts timing by nanoseconds).
inline void spin_for(unsigned iterations) {
  for (unsigned i = 0; i < iterations; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
  }
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_SYNC_HPP
