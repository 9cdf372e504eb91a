// weft/blocking_pool.hpp: a place for blocking calls, and offload(f).
//
// Compute workers must never block on I/O. A blocking_pool is an elastic
// set of boost::threads for file, socket and legacy-driver calls: it starts
// a thread when a call arrives and none is idle (up to max_threads), and a
// thread that stays idle for idle_timeout exits. A call can be stopped
// through a stop_hook: if it has not started it never starts, and if it is
// running its thread is interrupted (boost::thread::interrupt, which wakes
// boost::this_thread::sleep_for, condition waits and interruption_point()).
//
// What an interrupt cannot reach: it is a flag that Boost.Thread checks at
// its own interruption points, nothing more. A call blocked anywhere else
// -- std::this_thread::sleep_for, a std::condition_variable, a system call
// such as read(), recv() or poll() on a socket, a legacy driver's own wait
// -- is not woken: it goes on until that call returns by itself. Then the
// next interruption point the call reaches throws (its future fails with
// cancelled_error); a call that reaches none before it returns completes
// its future with what it returned, as if it had not been stopped.
// To stop such a call, make whatever it waits on return: close or shut
// down its socket or handle, or give it a timeout. The cancellation work
// planned after the stop hook will let a call register a callback that
// runs on cancellation (to close the socket or handle it is blocked on);
// until then, the caller does it next to request_stop().
//
// offload(f) runs f there and returns a future whose continuations run on
// default_pool(), never on the blocking thread.
#ifndef WEFT_BLOCKING_POOL_HPP
#define WEFT_BLOCKING_POOL_HPP

#include <chrono>
#include <exception>
#include <type_traits>
#include <cstddef>
#include <memory>
#include <utility>

#include "weft/async.hpp"
#include "weft/executor.hpp"
#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {

/// Stops one blocking call (or several: a hook may be shared). Cancellation
/// tokens connect here. A copyable handle; every member is thread-safe.
class stop_hook {
 public:
  /// A hook nobody has stopped yet. Throws std::bad_alloc.
  stop_hook();

  /// Calls bound to this hook that have not started will not start (their
  /// futures fail with cancelled_error); running ones are interrupted.
  /// Idempotent; never throws.
  ///
  /// "Interrupted" means boost::thread::interrupt(): a running call ends
  /// only when it reaches a Boost interruption point
  /// (boost::this_thread::sleep_for, a boost::condition_variable wait,
  /// boost::this_thread::interruption_point()). A call blocked in
  /// std::this_thread::sleep_for or in a system call (read(), a socket
  /// wait) is not woken; it runs on until that returns (and then fails at
  /// its next interruption point, or completes normally if it reaches
  /// none). See the file comment for how to stop such a call.
  void request_stop() noexcept;

  /// True once request_stop() was called.
  bool stop_requested() const noexcept;

  struct impl;
  /// For weft's runtime.
  const std::shared_ptr<impl>& state() const noexcept { return impl_; }

 private:
  std::shared_ptr<impl> impl_;
};

/// An elastic pool of boost::threads for blocking calls.
///
/// Thread-safety: every member may be called from any thread.
class blocking_pool final : public executor {
 public:
  /// At most `max_threads` threads (std::invalid_argument if 0); a thread
  /// idle for `idle_timeout` exits (negative is treated as zero).
  explicit blocking_pool(std::size_t max_threads = 256,
                         std::chrono::milliseconds idle_timeout = std::chrono::seconds(5));
  /// shutdown(drain), then joins every thread. Called from one of this
  /// pool's own threads (a call that destroys its pool), it does not wait
  /// for itself: the drain and the joins finish in the background.
  ~blocking_pool() override;
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `task`; starts a thread if none is idle and the bound allows.
  /// Throws executor_shutdown after shutdown (the task is abandoned first).
  /// If no thread runs and none can be started, rethrows the error from
  /// starting one (std::system_error, std::bad_alloc), the task abandoned
  /// with it.
  void execute(unique_task task) override;

  /// Queues `task`, bound to `hook` (see stop_hook).
  void execute(unique_task task, const stop_hook& hook);

  /// Stops accepting work; drain runs what is queued, cancel abandons it
  /// (futures fail with executor_shutdown) and interrupts running calls.
  /// Waits until every thread has exited; must not be called from one of
  /// this pool's threads (std::logic_error).
  void shutdown(shutdown_mode mode = shutdown_mode::drain);

  /// Threads alive now (running or idle).
  std::size_t thread_count() const noexcept;
  /// Threads waiting for work now.
  std::size_t idle_count() const noexcept;
  /// The bound given at construction.
  std::size_t max_threads() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// The process-wide blocking pool (256 threads at most, 5 s idle timeout),
/// created on first use and never destroyed. Thread-safe.
blocking_pool& default_blocking_pool();

namespace detail {
/// The executor offload()'s futures continue on: default_pool().
executor& offload_continuation_executor();

/// Rethrows `e`, turning boost::thread_interrupted into cancelled_error.
[[noreturn]] void rethrow_translated(std::exception_ptr e);

/// Wraps a blocking callable so an interruption surfaces as cancelled_error.
template <class F>
struct interruptible {
  F fn;
  auto operator()() -> decltype(fn()) {
    try {
      return fn();
    } catch (...) {
      rethrow_translated(std::current_exception());
    }
  }
};
template <class F>
interruptible<typename std::decay<F>::type> make_interruptible(F&& f) {
  return interruptible<typename std::decay<F>::type>{std::forward<F>(f)};
}

struct hooked_executor final : executor {
  blocking_pool& pool;
  const stop_hook& hook;
  // Made for one offload() call and only run on, never stored in a future:
  // it skips the executor registry (two locks per call otherwise).
  hooked_executor(blocking_pool& p, const stop_hook& h) noexcept : executor(unregistered_t{}), pool(p), hook(h) {}
  void execute(unique_task t) override { pool.execute(std::move(t), hook); }
};
}  // namespace detail

/// Runs the blocking callable `f` on `pool` and returns a future for its
/// result; continuations run on default_pool(). Throws executor_shutdown if
/// the pool is shut down.
template <class F>
auto offload(blocking_pool& pool, F&& f) -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  return detail::spawn_on(pool, detail::offload_continuation_executor(), detail::make_interruptible(std::forward<F>(f)));
}
/// offload(default_blocking_pool(), f).
template <class F>
auto offload(F&& f) -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  return offload(default_blocking_pool(), std::forward<F>(f));
}
/// As offload(pool, f), stoppable through `hook`: stopped before it starts,
/// the future fails with cancelled_error; stopped while running, the thread
/// is interrupted and a boost::thread_interrupted escaping `f` becomes
/// cancelled_error. The interrupt reaches `f` only at Boost's interruption
/// points: if `f` is blocked in std::this_thread::sleep_for or a system
/// call (read(), a socket wait), the future stays pending until that call
/// returns (see stop_hook::request_stop() and the file comment).
template <class F>
auto offload(blocking_pool& pool, const stop_hook& hook, F&& f)
    -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  detail::hooked_executor ex(pool, hook);
  return detail::spawn_on(ex, detail::offload_continuation_executor(), detail::make_interruptible(std::forward<F>(f)));
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_BLOCKING_POOL_HPP
