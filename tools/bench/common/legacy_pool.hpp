// tools/bench/common/legacy_pool.hpp: the "legacy" peer.
//
// What weft replaces: a fixed set of std::threads around one
// std::deque<std::function<void()>>, a std::mutex and a
// std::condition_variable, written the way such services write it.
#ifndef WEFT_BENCH_COMMON_LEGACY_POOL_HPP
#define WEFT_BENCH_COMMON_LEGACY_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

class legacy_pool {
 public:
  explicit legacy_pool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
  }
  ~legacy_pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  legacy_pool(const legacy_pool&) = delete;
  legacy_pool& operator=(const legacy_pool&) = delete;

  void post(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      f();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

/// The shared legacy pool, opts().threads threads.
legacy_pool& the_legacy_pool();

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_LEGACY_POOL_HPP
