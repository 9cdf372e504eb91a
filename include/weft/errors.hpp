// weft/errors.hpp: every exception type weft throws, in one place, and the
// handler that sees errors nobody observed.
//
// All weft errors travel as std::exception_ptr inside futures, so they can be
// collected and aggregated by later layers (task groups, exception groups)
// without slicing. Each type derives from a standard exception, so code that
// only knows <stdexcept> still catches them.
#ifndef WEFT_ERRORS_HPP
#define WEFT_ERRORS_HPP

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace weft {
inline namespace v1 {

/// Why a future or promise operation failed.
enum class future_errc {
  broken_promise = 1,   ///< the promise was destroyed before it was satisfied
  already_satisfied,    ///< set_value / set_exception was called twice
  already_retrieved,    ///< get_future was called twice
  no_state,             ///< the future or promise is empty (moved-from, consumed)
};

/// Returns a short English description of `e`. Thread-safe; never throws.
const char* to_string(future_errc e) noexcept;

/// Misuse of a future or promise, or a broken promise.
/// `reason()` says which. Thrown by get(), then(), set_value() and friends.
class future_error : public std::logic_error {
 public:
  explicit future_error(future_errc reason);
  /// The reason this error was raised.
  future_errc reason() const noexcept { return reason_; }

 private:
  future_errc reason_;
};

/// The promise behind a future was destroyed before it was satisfied, or a
/// task was dropped without running. A future_error with reason
/// future_errc::broken_promise, so either catch clause works.
class broken_promise : public future_error {
 public:
  broken_promise();
};

/// An executor refused or dropped work because it was shut down. Thrown by
/// execute() after shutdown; stored in the future of every task that a
/// shutdown(cancel) dropped.
class executor_shutdown : public std::runtime_error {
 public:
  explicit executor_shutdown(const std::string& what_arg = "weft: executor is shut down");
};

/// Work was cancelled before it finished (for example a blocking call whose
/// stop hook fired). Cancellation tokens build on this type.
class cancelled_error : public std::runtime_error {
 public:
  explicit cancelled_error(const std::string& what_arg = "weft: operation cancelled");
};

/// A deadline passed before the work finished: timeout(f, d) when `d` runs
/// out, a task_group whose deadline passes, retry() when its overall
/// deadline would be passed. Distinct from cancelled_error, so a caller can
/// tell "too late" from "called off".
class timeout_error : public std::runtime_error {
 public:
  explicit timeout_error(const std::string& what_arg = "weft: deadline exceeded");
};

/// An async_queue was closed: the error of a push() after close(), of a
/// push() that waited for room when close() was called, and of a pop() once
/// the queue is closed and every item pushed before was popped. Distinct
/// from cancelled_error: the end of a stream, not a call-off.
class queue_closed : public std::runtime_error {
 public:
  explicit queue_closed(const std::string& what_arg = "weft: the queue is closed");
};

/// retry() ran out of attempts: each of attempts() calls failed with an
/// error its policy retries. The last call's error is last_error(), and is
/// also this exception's nested exception (std::nested_exception), so
/// std::rethrow_if_nested(e) or e.rethrow_nested() throws it as it was.
/// what() names both: "weft::retry: gave up after 5 attempts; last error:
/// <the last error's what()>". Copies share the last error.
class retry_error : public std::runtime_error, public std::nested_exception {
 public:
  /// Throws std::invalid_argument if `last` is null or `attempts` < 1;
  /// std::bad_alloc.
  retry_error(std::exception_ptr last, int attempts);
  /// The last attempt's error (never null). Never throws.
  std::exception_ptr last_error() const noexcept { return nested_ptr(); }
  /// How many times the function was called (every one failed). Never
  /// throws.
  int attempts() const noexcept { return attempts_; }

 private:
  int attempts_;
};

/// Receives every error that ended in a future nobody observed: the last
/// future of a chain was dropped (or never retrieved) while it held an error.
/// Called on whichever thread released the state; must not throw (an
/// exception from it is discarded).
using unhandled_error_handler = std::function<void(std::exception_ptr)>;

/// Installs `h` and returns the previous handler. An empty `h` restores the
/// default, which prints one line on stderr and never terminates.
/// Thread-safe: may be called concurrently with reports.
unhandled_error_handler set_unhandled_error_handler(unhandled_error_handler h);

/// Sends `e` to the current unhandled-error handler. Thread-safe; never throws.
void report_unhandled_error(std::exception_ptr e) noexcept;

/// One-line description of `e`: its what() for a std::exception, otherwise
/// "unknown exception". Never throws.
std::string describe(const std::exception_ptr& e) noexcept;

}  // namespace v1
}  // namespace weft

#endif  // WEFT_ERRORS_HPP
