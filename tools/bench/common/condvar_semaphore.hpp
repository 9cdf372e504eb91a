// tools/bench/common/condvar_semaphore.hpp: the counting semaphore legacy
// code writes by hand (a count under a std::mutex, a std::condition_variable
// for waiters), the peer of workloads 22 and 23.
#ifndef WEFT_BENCH_COMMON_CONDVAR_SEMAPHORE_HPP
#define WEFT_BENCH_COMMON_CONDVAR_SEMAPHORE_HPP

#include <condition_variable>
#include <cstddef>
#include <mutex>

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

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_CONDVAR_SEMAPHORE_HPP
