// The timer service's queue of deadlines: an indexed 4-ary min-heap with
// lazy deletion.
//
// Private to the runtime (runtime/timer_service.cpp). docs/decisions.md
// ("Timers: a heap, not a wheel") says why a heap, with the figures.
//
// An entry carries its deadline and arming order, so sifting compares
// entries in the array without touching the timers themselves; only the
// nodes that can be cancelled (task_timer) are told where they moved, so
// cancel() finds their entry in O(1). A cancel does not sift: it turns the
// entry into a tombstone (no node), which a pop discards when it reaches
// the top; once tombstones outnumber live entries the array is compacted
// and re-heapified, O(n) for n/2 cancels, so a cancel costs O(1) amortised
// and the array at most twice what is live. (Timeouts are mostly cancelled,
// and mostly in the order they were armed: eager removal sifted the
// earliest entry's replacement down the whole height every time.) Four
// children per node: half the levels of a binary heap, and the four
// children of a node sit in 96 contiguous bytes.
//
// Not thread-safe: the owning timer_queue holds its lock around every call.
#ifndef WEFT_RUNTIME_TIMER_HEAP_HPP
#define WEFT_RUNTIME_TIMER_HEAP_HPP

#include <algorithm>
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
  void* node;             // task_timer* or sleep_state*; null: cancelled (a tombstone)

  bool is_task() const noexcept { return (order & 1u) != 0; }
  bool is_dead() const noexcept { return node == nullptr; }
  task_timer* task_node() const noexcept { return static_cast<task_timer*>(node); }
};

class timer_heap {
 public:
  static constexpr std::size_t arity = 4;

  /// Entries, tombstones included.
  std::size_t size() const noexcept { return v_.size(); }
  /// Entries that are not tombstones.
  std::size_t live() const noexcept { return v_.size() - dead_; }

  /// The earliest live entry, or null if there is none. Discards the
  /// tombstones above it.
  const timer_entry* top() noexcept {
    while (!v_.empty() && v_.front().is_dead()) {
      remove_at(0);
      --dead_;
    }
    return v_.empty() ? nullptr : &v_.front();
  }

  /// Adds `e`. Throws std::bad_alloc, std::length_error past 2^32 - 1
  /// entries; the heap is unchanged then.
  void push(const timer_entry& e) {
    if (v_.size() >= task_timer::not_queued) throw std::length_error("weft::timer_service: too many pending timers");
    v_.push_back(e);
    sift_up(v_.size() - 1, e);
    low_ops_ = 0;
  }

  /// Removes and returns the earliest live entry; top() must have returned
  /// it just before.
  timer_entry pop() noexcept {
    const timer_entry first = v_.front();
    remove_at(0);
    note_low();
    return first;
  }

  /// Cancels the live entry at `i` (a task_timer's index): it becomes a
  /// tombstone, left for a pop or a compaction to discard.
  void kill(std::size_t i) noexcept {
    v_[i].node = nullptr;
    v_[i].order &= ~std::uint64_t{1};  // no node to tell where it moves
    ++dead_;
    if (dead_ * 2 > v_.size() && v_.size() >= 64) compact();
    note_low();
  }

  /// Every live entry, in no particular order; the heap is left empty.
  std::vector<timer_entry> take_all() noexcept {
    std::vector<timer_entry> all;
    all.swap(v_);
    all.erase(std::remove_if(all.begin(), all.end(), [](const timer_entry& e) { return e.is_dead(); }), all.end());
    dead_ = 0;
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

  void remove_at(std::size_t i) noexcept {
    const timer_entry last = v_.back();
    v_.pop_back();
    if (i < v_.size()) {
      if (i > 0 && before(last, v_[(i - 1) / arity])) {
        sift_up(i, last);
      } else {
        sift_down(i, last);
      }
    }
  }

  void sift_up(std::size_t i, const timer_entry e) noexcept {  // by value: e may be an element it moves
    while (i > 0) {
      const std::size_t parent = (i - 1) / arity;
      if (!before(e, v_[parent])) break;
      place(i, v_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void sift_down(std::size_t i, const timer_entry e) noexcept {  // by value, as sift_up
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

  // Drops the tombstones and rebuilds the heap bottom-up (O(n)), telling
  // every node where it now sits.
  void compact() noexcept {
    v_.erase(std::remove_if(v_.begin(), v_.end(), [](const timer_entry& e) { return e.is_dead(); }), v_.end());
    dead_ = 0;
    for (std::size_t i = 0; i < v_.size(); ++i) place(i, v_[i]);
    if (v_.size() > 1) {
      for (std::size_t i = (v_.size() - 2) / arity + 1; i-- > 0;) sift_down(i, v_[i]);
    }
  }

  // A burst of timers must not pin its memory for the life of the pool,
  // nor may bursts that recur (a wave of timeouts per second) reallocate
  // and copy the array every time: it shrinks to twice what it holds only
  // once it has stayed under a quarter full for as many removals as it has
  // room for (so the copy is paid for by them), and never below 1,024
  // entries (24 KiB). A service left idle after a burst keeps its array.
  void note_low() noexcept {
    const std::size_t cap = v_.capacity();
    if (cap <= 1024 || v_.size() * 4 >= cap) {
      low_ops_ = 0;
      return;
    }
    if (++low_ops_ < cap) return;
    low_ops_ = 0;
    try {
      std::vector<timer_entry> smaller;
      smaller.reserve(v_.size() * 2 > 1024 ? v_.size() * 2 : 1024);
      smaller.assign(v_.begin(), v_.end());
      v_.swap(smaller);
    } catch (...) {  // no memory to shrink into: keep the larger array
    }
  }

  std::vector<timer_entry> v_;
  std::size_t dead_ = 0;     // tombstones in v_
  std::size_t low_ops_ = 0;  // removals since the array was last a quarter full
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_TIMER_HEAP_HPP
