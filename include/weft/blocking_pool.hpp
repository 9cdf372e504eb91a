// weft/blocking_pool.hpp: a place for blocking calls, and offload(f).
//
// Compute workers must never block on I/O. A blocking_pool is an elastic
// set of boost::threads for file, socket and legacy-driver calls: it starts
// a thread when a call arrives and none is idle (up to max_threads), and a
// thread that stays idle for idle_timeout exits. A call can be bound to a
// cancellation_token (offload(token, f), execute(task, token)): cancelled
// before it starts, it never starts; cancelled while it runs, its thread is
// interrupted (boost::thread::interrupt, which wakes
// boost::this_thread::sleep_for, boost::condition_variable waits and
// boost::this_thread::interruption_point()).
//
// What an interrupt cannot reach: it is a flag that Boost.Thread checks at
// its own interruption points, nothing more. A call blocked anywhere else
// -- std::this_thread::sleep_for, a std::condition_variable, a system call
// such as read(), recv() or poll() on a socket, a legacy driver's own wait
// -- is not woken: it goes on until that call returns by itself. Then the
// next interruption point the call reaches throws (its future fails with
// cancelled_error); a call that reaches none before it returns completes
// its future with what it returned, as if it had not been cancelled.
// To stop such a call, make whatever it waits on return: register a
// cancellation_callback on the same token that shuts down the socket the
// call is blocked on (shutdown(2)), closes the other end of its pipe, or
// tells its driver to give up; then read() returns and the call can check
// the token (token.throw_if_cancelled()). On Linux a plain close() of the
// very fd a thread is blocked reading does not wake that thread. Or give
// the call a timeout of its own.
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
#include "weft/cancellation.hpp"
#include "weft/executor.hpp"
#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {

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

  /// Queues `task`, bound to `token`: if the token is cancelled already,
  /// or when a thread takes the call, the task is abandoned with
  /// cancelled_error and never runs (a call refused here is not queued); if it is cancelled while the task runs, the thread is
  /// interrupted (boost::thread::interrupt(), seen only at Boost's
  /// interruption points: see the file comment), and a
  /// boost::thread_interrupted escaping the task ends it quietly (offload()
  /// turns it into cancelled_error). A default token binds nothing. Throws
  /// as execute(task).
  void execute(unique_task task, const cancellation_token& token);

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

/// Rethrows `e`, turning boost::thread_interrupted (a cancelled call, or
/// shutdown(cancel)) into cancelled_error.
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

/// Submits to a blocking_pool with a token: made for one offload() call
/// and only run on, never stored in a future, so it skips the executor
/// registry (two locks per call otherwise).
struct token_executor final : executor {
  blocking_pool& pool;
  const cancellation_token& token;
  token_executor(blocking_pool& p, const cancellation_token& t) noexcept : executor(unregistered_t{}), pool(p), token(t) {}
  void execute(unique_task t) override { pool.execute(std::move(t), token); }
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
/// As offload(pool, f), bound to `token`: cancelled before the call
/// starts, `f` never runs and the future fails with cancelled_error;
/// cancelled while it runs, the thread is interrupted and a
/// boost::thread_interrupted escaping `f` becomes cancelled_error. The
/// interrupt reaches `f` only at Boost's interruption points: if `f` is
/// blocked in std::this_thread::sleep_for or a system call (read(), a
/// socket wait), the future stays pending until that call returns, unless
/// a cancellation_callback on the same token makes it return (closes the
/// fd or socket it waits on; see the file comment). Throws
/// executor_shutdown if the pool is shut down, std::bad_alloc.
template <class F>
auto offload(blocking_pool& pool, const cancellation_token& token, F&& f)
    -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  detail::token_executor ex(pool, token);
  return detail::spawn_on(ex, detail::offload_continuation_executor(), detail::make_interruptible(std::forward<F>(f)));
}
/// offload(default_blocking_pool(), token, f).
template <class F>
auto offload(const cancellation_token& token, F&& f) -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  return offload(default_blocking_pool(), token, std::forward<F>(f));
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_BLOCKING_POOL_HPP
