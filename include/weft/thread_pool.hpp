// weft/thread_pool.hpp: the work-stealing compute pool.
//
// A thread_pool runs tasks on oneTBB worker threads inside a task_arena of
// its own. A task submitted from one of the pool's own workers goes to that
// worker's local deque (last in, first out, stolen by idle workers); a task
// submitted from any other thread goes to the pool's first-in, first-out
// inbox, which up to size() workers drain at once (docs/decisions.md).
// One exception to the deque: a continuation submitted while weft
// completes the outcome of the worker's current task (after the task's own
// code returned) is held, and the worker runs it next, as oneTBB's task
// bypass does; a chain of continuations runs as a loop on one worker. It
// still runs on the pool, after the task, never inside set_value(); it is
// only not stealable in the moment until the task returns.
// Workers are named "weft-N". oneTBB stays behind this header: users of
// thread_pool do not include TBB.
//
// Blocking in a task: future::get() on a worker runs the awaited task
// inline if it is a not-yet-started task of this pool; otherwise it
// suspends the task (oneTBB resumable tasks) and the worker runs other
// tasks meanwhile, so tasks that
// wait on work queued behind them cannot deadlock the pool. Past 256 tasks
// suspended at once in the process a blocked worker helps instead (runs
// other tasks nested on its stack); see docs/decisions.md. Blocking I/O
// belongs on the blocking_pool (offload), not here.
#ifndef WEFT_THREAD_POOL_HPP
#define WEFT_THREAD_POOL_HPP

#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/executor.hpp"
#include "weft/service.hpp"

namespace weft {
inline namespace v1 {
namespace detail {
class pool_core;
}  // namespace detail

/// Counters of a pool, read without stopping it (so a snapshot may be
/// slightly inconsistent while tasks run).
struct pool_stats {
  std::uint64_t submitted = 0;  ///< tasks accepted by execute()
  std::uint64_t completed = 0;  ///< tasks that ran (or were dropped) to the end
  std::uint64_t queued = 0;     ///< accepted, not yet started
  std::uint64_t busy = 0;       ///< started, not yet finished (includes ones blocked in get())
};

/// How shutdown treats tasks that have not started yet.
enum class shutdown_mode {
  drain,   ///< run every accepted task (and what they submit) to the end
  cancel,  ///< drop tasks that have not started; their futures fail with executor_shutdown
};

/// A work-stealing pool of `size()` threads over a tbb::task_arena.
///
/// Thread-safety: every member may be called from any thread.
class thread_pool final : public executor {
 public:
  /// Starts a pool with one worker per hardware thread.
  thread_pool();

  /// Starts a pool of `threads` workers. Throws std::invalid_argument if
  /// `threads` is 0 or exceeds 4096 (a negative int converts to a huge
  /// size_t, so it is rejected too).
  explicit thread_pool(std::size_t threads);

  /// shutdown(drain), then waits for the workers to finish their tasks. When
  /// called from one of this pool's own workers it does not wait for itself:
  /// the drain finishes in the background. Futures bound to the pool may
  /// outlive it: from the start of the destructor, a continuation that
  /// reaches the pool from outside it fails with executor_shutdown ("the
  /// executor was destroyed"); what the pool's own tasks submit during the
  /// drain still runs.
  ~thread_pool() override;

  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// Schedules `task`. Throws executor_shutdown after shutdown (the task is
  /// abandoned first, so a future behind it fails with executor_shutdown).
  /// During a drain the pool's own workers may still submit (continuations
  /// of running tasks); other threads may not. An exception thrown by a task
  /// goes to report_unhandled_error().
  void execute(unique_task task) override;

  /// As execute(), except while weft completes the outcome of the task a
  /// worker of this pool started from its dispatch loop (the only place
  /// weft defers from): then that worker runs `task` next, once the task
  /// has returned, instead of pushing it to its deque (see the header
  /// comment). Called from anywhere else, it is execute().
  void defer(unique_task task) override;

  /// Stops accepting work, then drains or cancels what is queued, and waits
  /// until no task of the pool runs. After it returns, every future whose
  /// task was accepted is resolved. Idempotent; a second call with `cancel`
  /// drops what a running drain has not started yet. Called from one of the
  /// pool's own workers it does not wait (that would wait for itself).
  void shutdown(shutdown_mode mode = shutdown_mode::drain);

  /// True once shutdown() has begun.
  bool is_shutdown() const noexcept;

  /// Number of worker threads.
  std::size_t size() const noexcept;

  /// A snapshot of the counters.
  pool_stats stats() const noexcept;

  /// True when the calling thread is running a task of this pool.
  bool running_in_this_thread() const noexcept;

  /// The pool's services (timers, primitives' waiter lists): shut down at
  /// the start of shutdown(), newest first, so the futures they keep
  /// pending are resolved while the pool still drains, and destroyed with
  /// the pool. Thread-safe; see service_registry.
  service_registry& services() noexcept;


 private:
  friend thread_pool& default_pool();
  std::shared_ptr<detail::pool_core> impl_;  // the runtime's; outlives the facade in a drain from inside
};

/// The process-wide pool (hardware_concurrency() workers), created on first
/// use and never destroyed (tasks may still reach it during static
/// destruction). Thread-safe.
thread_pool& default_pool();

}  // namespace v1
}  // namespace weft

#endif  // WEFT_THREAD_POOL_HPP
