// weft/executor.hpp: where work runs.
//
// An executor is anything that can run a unique_task: the work-stealing
// thread_pool, the elastic blocking_pool, inline_executor(), the tests'
// manual_executor, or a user type. Futures remember an executor and run their
// continuations there, never on whichever thread fulfilled the promise.
#ifndef WEFT_EXECUTOR_HPP
#define WEFT_EXECUTOR_HPP

#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {

/// The interface every executor implements.
///
/// Contract for implementations:
/// - execute() may be called from any thread, concurrently.
/// - Every accepted task is eventually either run once or abandoned once
///   (unique_task::abandon), never lost: a future waiting on it must resolve.
/// - When the executor no longer accepts work, execute() abandons the task
///   with executor_shutdown and then throws executor_shutdown.
/// - A task that throws is the executor's to report: weft's own executors
///   pass the exception to report_unhandled_error().
class executor {
 public:
  virtual ~executor() = default;

  /// Schedules `task` to run. See the class comment for the contract.
  virtual void execute(unique_task task) = 0;

 protected:
  executor() = default;
  executor(const executor&) = default;
  executor& operator=(const executor&) = default;
};

/// Returns the executor that runs a task right away on the calling thread.
///
/// Nested submissions made while a task runs inline on the same thread are
/// queued and run after it returns, in order, so a 100,000-long chain of
/// inline continuations uses constant stack. Thread-safe. Like every weft
/// executor, it passes an exception thrown by a task to
/// report_unhandled_error() instead of throwing it at whoever happened to
/// trigger the task; execute() itself only throws std::invalid_argument
/// (an empty task) and std::bad_alloc.
executor& inline_executor() noexcept;

}  // namespace v1
}  // namespace weft

#endif  // WEFT_EXECUTOR_HPP
