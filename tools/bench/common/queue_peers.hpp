// tools/bench/common/queue_peers.hpp: the bounded queue legacy code writes
// by hand, a ring buffer under a std::mutex with two
// std::condition_variables (one for "not full", one for "not empty"):
// workload 26's baseline.
#ifndef WEFT_BENCH_COMMON_QUEUE_PEERS_HPP
#define WEFT_BENCH_COMMON_QUEUE_PEERS_HPP

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace bench {

template <class T>
class condvar_ring {
 public:
  explicit condvar_ring(std::size_t capacity) : slots_(capacity) {}

  void push(T v) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      not_full_.wait(lock, [this] { return size_ < slots_.size(); });
      slots_[(head_ + size_) % slots_.size()] = std::move(v);
      ++size_;
    }
    not_empty_.notify_one();
  }

  T pop() {
    T v;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      not_empty_.wait(lock, [this] { return size_ > 0; });
      v = std::move(slots_[head_]);
      head_ = (head_ + 1) % slots_.size();
      --size_;
    }
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::vector<T> slots_;
  std::size_t head_ = 0, size_ = 0;
};

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_QUEUE_PEERS_HPP
