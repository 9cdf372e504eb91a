// tools/bench/common/pools.hpp: the pools every workload shares.
//
// Each is made on first use with opts().threads workers and lives until the
// process exits, so weft and its peers run with the same worker count and
// no run pays for starting a pool. oneTBB's arenas (weft's pool is one too)
// share oneTBB's workers; the asio, Boost and "legacy" pools have threads of
// their own, which sleep on a condition variable while another
// implementation runs.
#ifndef WEFT_BENCH_COMMON_POOLS_HPP
#define WEFT_BENCH_COMMON_POOLS_HPP

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

#include <oneapi/tbb/task_arena.h>

#include "weft/thread_pool.hpp"

namespace bench {

/// weft's compute pool, opts().threads workers.
weft::thread_pool& weft_pool();

/// A TBB arena for task_group peers run from the main thread: the main
/// thread takes one slot, workers the rest (opts().threads in all).
tbb::task_arena& tbb_arena();

/// A TBB arena fed with enqueue() from outside: opts().threads worker slots,
/// none reserved for the submitting thread (like weft's pool).
tbb::task_arena& tbb_enqueue_arena();

/// Counts completions down and wakes one waiting thread at zero, through a
/// mutex and a condition variable: the same for every implementation.
class done_latch {
 public:
  explicit done_latch(long n) : left_(n) {}
  void count_down() {
    if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      cv_.notify_all();
    }
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return done_; });
  }

 private:
  std::atomic<long> left_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
};

/// Runs `fn` on a long-lived thread with a 1 GiB stack and waits for it:
/// the Boost peer of workload 2 recurses once per chain link.
void run_on_big_stack(const std::function<void()>& fn);

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_POOLS_HPP
