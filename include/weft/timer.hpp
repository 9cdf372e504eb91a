// weft/timer.hpp: timers. asyncio.sleep, loop.call_later and friends.
//
// A timer_service keeps timers: a task armed for a deadline on an executor
// (arm_at, arm_after), and sleeps (sleep_for, sleep_until: a future<void>
// that completes once the deadline has passed). When a deadline passes the
// service only hands the timer's task to its executor; the task, and the
// continuations of a sleep's future, run there, never on the service's own
// thread. No thread of the executor is held while a timer is pending.
//
// Each thread_pool has one timer_service on the steady clock, made on
// first use (timer_service::of(pool)); the free functions sleep_for,
// sleep_until and delay use default_pool()'s. A standalone service on a
// manual_clock (timer_service(clk, ex)) has no thread: the clock's
// advance() fires what became due, on the thread that advances it, so tests
// never sleep.
//
// Guarantees, on every clock:
// - Never early: when a timer's task starts, clock.now() >= its deadline.
// - A deadline already reached when the timer is armed (a zero or negative
//   duration, a past time point) is handed to the executor at once, from
//   the arming call, not at the next wake-up of the service.
// - clock::time_point::max(), and durations that saturate to it
//   (timer_duration()), never fire and never overflow; a timer armed for
//   it stays pending until cancelled or shut down.
// - Order: timers that come due together are handed over in deadline
//   order, ties in the order they were armed.
// - Lateness on the steady clock: the service's thread wakes within the
//   kernel's timer slack (50 us by default) of the earliest deadline, plus
//   the time the OS takes to run it, and hands the task over; what follows
//   is the executor's latency. No hard bound on a loaded machine; measured
//   here (docs/decisions.md, "Timers"): 10,000 timers due within 50 ms,
//   each run on a 2-worker pool, start 54 us late on average, 126 us at
//   the 99th percentile.
// - Shutdown: when the pool shuts down (or shutdown() is called) every
//   pending sleep fails with executor_shutdown ("weft: the timer service
//   was shut down"), every pending task is abandoned with it (a plain
//   callable is destroyed unrun), nothing is handed over afterwards, and
//   arming throws executor_shutdown.
//
// Cost: arming and cancelling from a pool task takes a short spin lock and
// allocates one node (48 bytes; a sleep's node is its future's state, 56
// bytes); no system call unless the new timer is earlier than the one the
// service's thread sleeps for, which wakes it. Cancelling never wakes it.
#ifndef WEFT_TIMER_HPP
#define WEFT_TIMER_HPP

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/clock.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/result.hpp"
#include "weft/service.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {

class thread_pool;
class timer_service;

namespace detail {
struct task_timer;
/// Drops a handle's reference to its timer node. Never throws.
void release_timer(task_timer* node) noexcept;
}  // namespace detail

/// Refers to a task armed on a timer_service, so it can be cancelled
/// (timer_service::cancel()). Move-only. Dropping a handle does not cancel
/// the timer: it fires as armed. An empty handle (default-constructed,
/// moved from, cancelled, or returned for a deadline already reached, whose
/// task was handed over at once) refers to nothing.
///
/// Thread-safety: one handle is used by one thread at a time, like any
/// value; handles of the same service may be used concurrently.
class timer_handle {
 public:
  /// An empty handle.
  timer_handle() noexcept = default;
  timer_handle(timer_handle&& o) noexcept : node_(o.node_), owner_(o.owner_) {
    o.node_ = nullptr;
    o.owner_ = nullptr;
  }
  timer_handle& operator=(timer_handle&& o) noexcept {
    if (this != &o) {
      reset();
      node_ = o.node_;
      owner_ = o.owner_;
      o.node_ = nullptr;
      o.owner_ = nullptr;
    }
    return *this;
  }
  timer_handle(const timer_handle&) = delete;
  timer_handle& operator=(const timer_handle&) = delete;
  /// Lets go of the timer without cancelling it. Never throws.
  ~timer_handle() { reset(); }

  /// True while the handle refers to a timer (pending, or already fired).
  explicit operator bool() const noexcept { return node_ != nullptr; }

 private:
  friend class timer_service;
  void reset() noexcept {
    if (node_ != nullptr) detail::release_timer(node_);
    node_ = nullptr;
    owner_ = nullptr;
  }
  detail::task_timer* node_ = nullptr;
  const void* owner_ = nullptr;  // the service's queue: cancel() checks it
};

/// Timers on one clock. See the header comment for what every timer
/// guarantees.
///
/// On a clock that moves by itself (steady_clock) the service has one
/// thread, "weft-timer", which sleeps until the earliest deadline and then
/// hands what is due to the executors; on a manual_clock it has none, and
/// the clock's advance() does that on the advancing thread.
///
/// Thread-safety: every member may be called from any thread, concurrently,
/// including from a task the service handed over; except the destructor,
/// which no other call may race. The clock, and an executor given to the
/// constructor, must outlive the service (a pool's own service is
/// destroyed with the pool); an executor a timer was armed with may be
/// destroyed first, and then refuses its task (the timer's future fails
/// with executor_shutdown) without being touched.
class timer_service final : public service {
 public:
  /// A service on `clk` whose sleeps complete and continue on `ex` unless
  /// told otherwise. A thread is started unless `clk` is a manual_clock.
  /// Throws std::system_error if the thread cannot start, std::bad_alloc.
  timer_service(clock& clk, executor& ex);
  /// timer_service(steady_clock::instance(), ex).
  explicit timer_service(executor& ex);
  /// shutdown() (which stops the thread), then leaves the clock. Must not
  /// race any other call.
  ~timer_service() override;

  /// `pool`'s timer service on the steady clock, made on first use (a
  /// service of the pool: see thread_pool::services()); its sleeps
  /// continue on `pool`. Thread-safe. Throws executor_shutdown once the
  /// pool has shut down and the service was never made, and what the
  /// constructor throws.
  static timer_service& of(thread_pool& pool);

  /// Arms `task` to be handed to `ex` once now() >= `deadline`, and returns
  /// a handle that can cancel it. A deadline already reached hands the task
  /// over now, from this call, and returns an empty handle.
  /// time_point::max() never fires. Throws executor_shutdown after
  /// shutdown() (the task is abandoned first); std::invalid_argument for an
  /// empty task, or for inline_executor() on a service with a thread (the
  /// task would run on the timer thread); std::bad_alloc; and what
  /// `ex.execute()` throws when the task is handed over at once.
  timer_handle arm_at(clock::time_point deadline, executor& ex, unique_task task);
  /// arm_at(deadline, ex, task) on the executor the service was given.
  timer_handle arm_at(clock::time_point deadline, unique_task task);
  /// arm_at(saturating_deadline(now(), timer_duration(d)), ex, task): a
  /// negative `d` is zero, a huge one saturates to never.
  template <class Rep, class Period>
  timer_handle arm_after(const std::chrono::duration<Rep, Period>& d, executor& ex, unique_task task) {
    return arm_in(timer_duration(d), &ex, std::move(task), "weft::timer_service::arm_after");
  }
  /// arm_after(d, ex, task) on the executor the service was given.
  template <class Rep, class Period>
  timer_handle arm_after(const std::chrono::duration<Rep, Period>& d, unique_task task) {
    return arm_in(timer_duration(d), nullptr, std::move(task), "weft::timer_service::arm_after");
  }

  /// Cancels the timer `h` refers to, if it has not fired yet: true if this
  /// call won (the task will never run; it was destroyed, with what it
  /// captured, before cancel() returns, on this thread), false if the timer
  /// had already been handed over (or is being, right now), or `h` is
  /// empty. Empties `h`. Never wakes the service's thread; no system call.
  /// Throws std::invalid_argument if `h` came from another service.
  bool cancel(timer_handle& h);

  /// A future that completes (with no value) once now() >= `t`: the
  /// service hands a task to `ex` that completes it, so it completes inside
  /// a task of `ex`, and its continuations run on `ex`. Not cancellable (a
  /// dropped future lets the sleep run out unseen). Throws as arm_at().
  future<void> sleep_until(clock::time_point t, executor& ex);
  /// sleep_until(t, ex) on the executor the service was given.
  future<void> sleep_until(clock::time_point t);
  /// sleep_until(saturating_deadline(now(), timer_duration(d)), ex).
  template <class Rep, class Period>
  future<void> sleep_for(const std::chrono::duration<Rep, Period>& d, executor& ex) {
    return sleep_in(timer_duration(d), &ex, "weft::timer_service::sleep_for");
  }
  /// sleep_for(d, ex) on the executor the service was given.
  template <class Rep, class Period>
  future<void> sleep_for(const std::chrono::duration<Rep, Period>& d) {
    return sleep_in(timer_duration(d), nullptr, "weft::timer_service::sleep_for");
  }

  /// As sleep_until(t, ex), ended early by `token`: once it is cancelled
  /// (before the deadline), the timer is cancelled (pending() drops at
  /// once) and the future fails with cancelled_error, set on the cancelling
  /// thread and continued on `ex`. A token cancelled already gives a failed
  /// future and arms nothing. The registration on the token ends when the
  /// sleep does, so a long-lived token collects none. Throws as arm_at().
  future<void> sleep_until(clock::time_point t, const cancellation_token& token, executor& ex);
  /// sleep_until(t, token, ex) on the executor the service was given.
  future<void> sleep_until(clock::time_point t, const cancellation_token& token);
  /// sleep_until(saturating_deadline(now(), timer_duration(d)), token, ex).
  template <class Rep, class Period>
  future<void> sleep_for(const std::chrono::duration<Rep, Period>& d, const cancellation_token& token, executor& ex) {
    return sleep_cancellable(saturating_deadline(now(), timer_duration(d)), token, &ex, "weft::timer_service::sleep_for");
  }
  /// sleep_for(d, token, ex) on the executor the service was given.
  template <class Rep, class Period>
  future<void> sleep_for(const std::chrono::duration<Rep, Period>& d, const cancellation_token& token) {
    return sleep_cancellable(saturating_deadline(now(), timer_duration(d)), token, nullptr,
                             "weft::timer_service::sleep_for");
  }

  /// Stops the service: every pending sleep fails with executor_shutdown
  /// ("weft: the timer service was shut down") and every pending task is
  /// abandoned with it; a task already handed over is not recalled. When it
  /// returns nothing more is handed to an executor (it waits for a hand-over
  /// in progress on another thread, and stops the thread), and arming
  /// throws. Called by the pool's shutdown for its own service. Idempotent
  /// (a call made while another is still failing the timers returns at
  /// once). Never throws.
  void shutdown() noexcept override;
  /// True once shutdown() has begun. Never throws.
  bool is_shut_down() const noexcept;

  /// Timers armed and not yet fired, cancelled or shut down (sleeps and
  /// tasks). A snapshot. Never throws.
  std::size_t pending() const noexcept;
  /// The earliest pending deadline other than time_point::max();
  /// time_point::max() if there is none. Never throws.
  clock::time_point next_deadline() const noexcept;
  /// The clock the service runs on. Never throws.
  clock& get_clock() const noexcept { return clock_; }
  /// get_clock().now(). Never throws.
  clock::time_point now() const noexcept { return clock_.now(); }

 private:
  // `due`: the deadline is reached already (the caller read the clock
  // once, or not at all for a duration <= 0).
  timer_handle arm(clock::time_point deadline, bool due, executor* ex, unique_task&& task, const char* who);
  timer_handle arm_in(clock::duration d, executor* ex, unique_task&& task, const char* who);
  future<void> sleep(clock::time_point deadline, bool due, executor* ex, const char* who);
  future<void> sleep_in(clock::duration d, executor* ex, const char* who);
  future<void> sleep_cancellable(clock::time_point deadline, const cancellation_token& token, executor* ex,
                                 const char* who);
  static bool cancel_on(detail::timer_queue& queue, timer_handle& h) noexcept;
  bool reached(clock::time_point deadline) const noexcept {
    return deadline != clock::time_point::max() && deadline <= clock_.now();
  }
  detail::executor_ref executor_for(executor* ex, const char* who) const;

  clock& clock_;
  detail::executor_ref ex_;
  bool threaded_;
  std::shared_ptr<detail::timer_queue> queue_;
};

/// default_pool()'s timer service (timer_service::of(default_pool())).
/// Thread-safe; never destroyed. Throws what timer_service::of() throws.
timer_service& default_timer_service();

/// asyncio.sleep(d): a future<void> that completes once `d` has passed on
/// the steady clock, on default_pool(), where its continuations run. A
/// negative `d` is zero (it completes at once, through the pool); a huge
/// one never completes. Thread-safe. Throws executor_shutdown if
/// default_pool() was shut down, std::bad_alloc.
template <class Rep, class Period>
future<void> sleep_for(const std::chrono::duration<Rep, Period>& d) {
  return default_timer_service().sleep_for(d);
}
/// As sleep_for(d), ended early by `token`: once it is cancelled the sleep
/// fails with cancelled_error and its timer is gone (a task's cancel
/// ending its asyncio.sleep). Thread-safe; throws as sleep_for(d).
template <class Rep, class Period>
future<void> sleep_for(const std::chrono::duration<Rep, Period>& d, const cancellation_token& token) {
  return default_timer_service().sleep_for(d, token);
}
/// As sleep_for(), until `t` on the steady clock. Thread-safe.
future<void> sleep_until(clock::time_point t);
/// svc.sleep_for(d): on `svc`'s clock, continuing on its executor.
/// Thread-safe; throws as timer_service::sleep_for().
template <class Rep, class Period>
future<void> sleep_for(timer_service& svc, const std::chrono::duration<Rep, Period>& d) {
  return svc.sleep_for(d);
}
/// svc.sleep_until(t). Thread-safe; throws as timer_service::sleep_until().
inline future<void> sleep_until(timer_service& svc, clock::time_point t) { return svc.sleep_until(t); }

namespace detail {

template <class T>
struct delayed_outcome {
  result<T> outcome;
  T operator()(result<void> pause) {
    if (!pause.has_value()) std::rethrow_exception(pause.error());
    return std::move(outcome).value();
  }
};

template <class T>
struct delay_step {
  future<void> pause;
  future<T> operator()(result<T> outcome) {
    return std::move(pause).then_result(inline_executor(), delayed_outcome<T>{std::move(outcome)});
  }
};

}  // namespace detail

/// `f`'s outcome (value or error), delivered no earlier than `d` after this
/// call: when both `f` is ready and `d` has passed on `svc`'s clock, so at
/// max(f ready, call + d). For pacing (a poll loop that runs at most every
/// `d`) and minimum latencies; to wait `d` after `f` instead, chain
/// `f.then_result(...)` into svc.sleep_for(d). The pause is armed now. The
/// returned future continues on `f`'s executor (as `f` would have). If the
/// service shuts down before `d` has passed, it fails with that
/// executor_shutdown and `f`'s outcome is dropped. Consumes `f` (a future
/// is used by one thread at a time; delay() on distinct futures may run
/// concurrently). Throws future_error(no_state) if `f` is invalid, and what
/// svc.sleep_for() throws (then `f` is dropped: an error it held goes to
/// the unhandled-error handler).
template <class T, class Rep, class Period>
future<T> delay(timer_service& svc, future<T> f, const std::chrono::duration<Rep, Period>& d) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  future<void> pause = svc.sleep_for(d);
  return std::move(f).then_result(detail::delay_step<T>{std::move(pause)});
}
/// delay(default_timer_service(), f, d): the pause on the steady clock.
template <class T, class Rep, class Period>
future<T> delay(future<T> f, const std::chrono::duration<Rep, Period>& d) {
  return delay(default_timer_service(), std::move(f), d);
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_TIMER_HPP
