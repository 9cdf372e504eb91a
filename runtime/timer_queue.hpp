// The inside of a timer_service: its queue of deadlines, its lock, and the
// thread that waits for real time to pass (none on a manual_clock).
//
// Private to the runtime: timer_service.cpp implements it, clock.cpp
// (manual_clock) drives it. docs/architecture.md ("The timer service")
// walks through it.
#ifndef WEFT_RUNTIME_TIMER_QUEUE_HPP
#define WEFT_RUNTIME_TIMER_QUEUE_HPP

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "timer_heap.hpp"
#include "weft/clock.hpp"
#include "weft/detail/continuation.hpp"
#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// A short lock for the queue: arming and cancelling hold it for a heap
/// operation (tens of nanoseconds), so a waiter spins rather than sleeps in
/// the kernel, and the common case makes no system call. Past 64 spins it
/// yields, so a holder that was preempted on a busy machine gets the CPU.
/// lock() acquires and unlock() releases, as any mutex: what one holder
/// wrote is seen by the next.
class spin_lock {
 public:
  void lock() noexcept {
    if (!held_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  void lock_slow() noexcept;
  std::atomic<bool> held_{false};
};

/// A sleep (sleep_for, sleep_until): the future's state is the timer node,
/// one allocation. Its references: the future's and the queue's, which
/// passes to the task that completes it.
class sleep_state final : public state<void> {
 public:
  explicit sleep_state(executor_ref ex) noexcept : state<void>(ex, 2), complete_on(ex) {}
  // Where the completing task goes. Not the state's exec_: a consumer
  // rewrites that (then(), via()) while the timer is pending.
  const executor_ref complete_on;
};

/// The task a sleep's executor runs to complete it, so the future
/// completes inside a task of that executor (and its continuation may be
/// held for the same worker).
struct complete_sleep : owning_task<complete_sleep, sleep_state> {
  explicit complete_sleep(sleep_state* s) noexcept : owning_task<complete_sleep, sleep_state>(s) {}
  complete_sleep(complete_sleep&&) noexcept = default;
  ~complete_sleep() { this->drop_if_held(); }
  void run_now(sleep_state* s) noexcept {
    enter_task(this, s);
    s->set_value_from_task();
    s->release();
  }
  static void drop(sleep_state* s, std::exception_ptr why) noexcept;
};

/// The queue of one timer_service. Shared (std::shared_ptr) by the service,
/// its thread and a manual_clock's advance in progress, so none of them
/// outlives what it uses.
///
/// Thread-safety: every member may be called from any thread.
class timer_queue {
 public:
  explicit timer_queue(clock& clk) noexcept : clock_(clk) {}
  ~timer_queue();
  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;

  /// Queues `n` (refs already 2) for `deadline`, waking the thread if it
  /// sleeps for a later one. False if the queue is closed (nothing queued).
  /// Throws std::bad_alloc, std::length_error (nothing queued).
  bool push(std::int64_t deadline, task_timer* n);
  /// As push(), for a sleep.
  bool push(std::int64_t deadline, sleep_state* s);
  /// Takes `n` out of the heap if it is still there: true if it was; then
  /// the caller's handle reference is consumed too, and `n` (with its task)
  /// is destroyed here. Never throws.
  bool cancel(task_timer* n) noexcept;

  /// Before a hand-over outside the heap (a deadline already reached when
  /// armed): false if the queue is closed; otherwise the caller must make a
  /// hand_over_scope on this queue right away, and hand the task over
  /// inside it.
  bool begin_hand_over() noexcept;

  /// Hands over every timer due at `now` (on a manual clock: from its
  /// advance()). Never throws.
  void fire_due(clock::time_point now) noexcept;
  /// The earliest deadline other than time_point::max(), or max.
  clock::time_point next_deadline() noexcept;
  std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }
  bool closed() const noexcept;

  /// Starts the thread that waits for deadlines; it keeps `self` alive.
  /// Throws std::system_error.
  void start_thread(const std::shared_ptr<timer_queue>& self);
  /// Closes the queue, stops the thread, waits for hand-overs in progress
  /// on other threads, and fails what was pending. Idempotent. Never throws.
  void shutdown() noexcept;

  /// On the stack of a thread that hands tasks of `q` over (counted in
  /// q.handing_over_ before it was made): shutdown() waits for it, unless
  /// it runs on the same thread (a task handed over inline calls
  /// shutdown()).
  class hand_over_scope {
   public:
    explicit hand_over_scope(timer_queue& q) noexcept;
    ~hand_over_scope();
    hand_over_scope(const hand_over_scope&) = delete;
    hand_over_scope& operator=(const hand_over_scope&) = delete;

    const timer_queue* queue;
    hand_over_scope* next;  // the thread's enclosing scope
  };

 private:
  static constexpr std::int64_t awake = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

  bool push_entry(const timer_entry& e);
  std::size_t take_due(std::int64_t now, timer_entry* out, std::size_t max) noexcept;
  void hand_over(const timer_entry* batch, std::size_t n) noexcept;
  static void fail_entries(const timer_entry* entries, std::size_t n) noexcept;
  void run_thread() noexcept;
  void wait_for_deadline(std::int64_t deadline) noexcept;
  void wake_thread() noexcept;

  clock& clock_;
  mutable spin_lock lock_;
  // Guarded by lock_:
  timer_heap heap_;
  std::uint64_t next_order_ = 0;  // arming sequence: ties fire in this order
  bool closed_ = false;
  bool threaded_ = false;
  // The deadline the thread sleeps for (`never`: no deadline), or `awake`
  // while it runs; an earlier arm wakes it and lowers this.
  std::int64_t sleeping_until_ = awake;

  // closed_, readable without the lock: a hand-over stops at once when a
  // task it handed over inline shut the service down.
  std::atomic<bool> closing_{false};
  // heap_.live(), for pending() without the lock. Relaxed: written under
  // the lock, read as a snapshot that orders nothing.
  std::atomic<std::size_t> pending_{0};
  // Batches being handed over outside the lock; shutdown() waits for them.
  std::atomic<unsigned> handing_over_{0};

  // The thread's sleep: wake_ under wake_mutex_.
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_TIMER_QUEUE_HPP
