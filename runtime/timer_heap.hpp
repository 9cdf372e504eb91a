// The timer service's queue of deadlines: an indexed 4-ary min-heap.
//
// Private to the runtime (runtime/timer_service.cpp). docs/decisions.md
// ("Timers: a heap, not a wheel") says why a heap, with the figures.
//
// An entry carries its deadline and arming order, so sifting compares
// entries in the array without touching the timers themselves; only the
// nodes that can be cancelled (task_timer) are told where they moved, so
// cancel() finds them in O(1) and removes them in O(log n). Four children
// per node: half the levels of a binary heap, and the four children of a
// node sit in 96 contiguous bytes.
//
// Not thread-safe: the owning timer_queue holds its lock around every call.
#ifndef WEFT_RUNTIME_TIMER_HEAP_HPP
#define WEFT_RUNTIME_TIMER_HEAP_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include "weft/executor.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// A task armed on a timer_service (arm_at, arm_after). Shared by the
/// queue and the user's timer_handle (refs); the task itself belongs to
/// whoever takes the node out of the heap under the queue's lock (the
/// firing thread, cancel() or shutdown()).
struct task_timer {
  static constexpr std::uint32_t not_queued = std::numeric_limits<std::uint32_t>::max();

  task_timer(executor_ref e, unique_task&& t) noexcept : ex(e), task(std::move(t)) {}

  // The queue's reference and the handle's.
  std::atomic<std::uint32_t> refs{2};
  // Where the node sits in the heap, or not_queued once it was taken out.
  // Read and written under the queue's lock only.
  std::uint32_t index = not_queued;
  executor_ref ex;
  unique_task task;
};

/// One pending timer in the heap.
struct timer_entry {
  std::int64_t deadline;  // clock::time_point's count
  std::uint64_t order;    // arming sequence << 1 | 1 for a task_timer (0: a sleep)
  void* node;             // task_timer* or sleep_state*

  bool is_task() const noexcept { return (order & 1u) != 0; }
  task_timer* task_node() const noexcept { return static_cast<task_timer*>(node); }
};

class timer_heap {
 public:
  static constexpr std::size_t arity = 4;

  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  const timer_entry& top() const noexcept { return v_.front(); }

  /// Adds `e`. Throws std::bad_alloc, std::length_error past 2^32 - 1
  /// entries; the heap is unchanged then.
  void push(const timer_entry& e) {
    if (v_.size() >= task_timer::not_queued) throw std::length_error("weft::timer_service: too many pending timers");
    v_.push_back(e);
    sift_up(v_.size() - 1, e);
  }

  /// Removes and returns the earliest entry. Not on an empty heap.
  timer_entry pop() noexcept {
    const timer_entry first = v_.front();
    remove(0);
    return first;
  }

  /// Removes the entry at `i` (a task_timer's index).
  void remove(std::size_t i) noexcept {
    const timer_entry last = v_.back();
    v_.pop_back();
    if (i < v_.size()) {
      if (i > 0 && before(last, v_[(i - 1) / arity])) {
        sift_up(i, last);
      } else {
        sift_down(i, last);
      }
    }
    maybe_shrink();
  }

  /// Every entry, in no particular order; the heap is left empty.
  std::vector<timer_entry> take_all() noexcept {
    std::vector<timer_entry> all;
    all.swap(v_);
    return all;
  }

 private:
  static bool before(const timer_entry& a, const timer_entry& b) noexcept {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.order < b.order);
  }

  void place(std::size_t i, const timer_entry& e) noexcept {
    v_[i] = e;
    if (e.is_task()) e.task_node()->index = static_cast<std::uint32_t>(i);
  }

  void sift_up(std::size_t i, const timer_entry& e) noexcept {
    while (i > 0) {
      const std::size_t parent = (i - 1) / arity;
      if (!before(e, v_[parent])) break;
      place(i, v_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void sift_down(std::size_t i, const timer_entry& e) noexcept {
    const std::size_t n = v_.size();
    for (;;) {
      const std::size_t first = i * arity + 1;
      if (first >= n) break;
      const std::size_t end = first + arity < n ? first + arity : n;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (before(v_[c], v_[best])) best = c;
      }
      if (!before(v_[best], e)) break;
      place(i, v_[best]);
      i = best;
    }
    place(i, e);
  }

  // A burst of timers must not pin its memory for the life of the pool:
  // below a quarter of the capacity, keep half. Never below 1,024 entries
  // (24 KiB), so a steady load does not reallocate back and forth.
  void maybe_shrink() noexcept {
    const std::size_t cap = v_.capacity();
    if (cap <= 1024 || v_.size() * 4 >= cap) return;
    try {
      std::vector<timer_entry> smaller;
      smaller.reserve(cap / 2);
      smaller.assign(v_.begin(), v_.end());
      v_.swap(smaller);
    } catch (...) {  // no memory to shrink into: keep the larger array
    }
  }

  std::vector<timer_entry> v_;
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_TIMER_HEAP_HPP
