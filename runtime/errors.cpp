// The error types' messages and the unhandled-error handler.
#include "weft/errors.hpp"

#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {

const char* to_string(future_errc e) noexcept {
  switch (e) {
    case future_errc::broken_promise:
      return "weft: broken promise (destroyed before it was satisfied, or its task was dropped)";
    case future_errc::already_satisfied:
      return "weft: promise already satisfied";
    case future_errc::already_retrieved:
      return "weft: future already retrieved";
    case future_errc::no_state:
      return "weft: no state (the future or promise is empty, moved-from or already consumed)";
  }
  return "weft: unknown future error";
}

future_error::future_error(future_errc reason) : std::logic_error(to_string(reason)), reason_(reason) {}

broken_promise::broken_promise() : future_error(future_errc::broken_promise) {}

executor_shutdown::executor_shutdown(const std::string& what_arg) : std::runtime_error(what_arg) {}

cancelled_error::cancelled_error(const std::string& what_arg) : std::runtime_error(what_arg) {}

timeout_error::timeout_error(const std::string& what_arg) : std::runtime_error(what_arg) {}

queue_closed::queue_closed(const std::string& what_arg) : std::runtime_error(what_arg) {}

namespace {

std::string gave_up_message(const std::exception_ptr& last, int attempts) {
  if (!last) throw std::invalid_argument("weft::retry_error: the exception_ptr argument 'last' is null");
  if (attempts < 1) throw std::invalid_argument("weft::retry_error: the argument 'attempts' is less than 1");
  return "weft::retry: gave up after " + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts") +
         "; last error: " + describe(last);
}

}  // namespace

retry_error::retry_error(std::exception_ptr last, int attempts)
    : std::runtime_error(gave_up_message(last, attempts)), attempts_(attempts) {
  // std::nested_exception captures the exception being handled when it is
  // made; there is no constructor taking one. Make one while `last` is
  // being handled and copy it into the base.
  try {
    std::rethrow_exception(last);
  } catch (...) {
    static_cast<std::nested_exception&>(*this) = std::nested_exception();
  }
}

std::string describe(const std::exception_ptr& e) noexcept {
  try {
    if (!e) return "no exception";
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    try {
      return ex.what();
    } catch (...) {
      return "unknown exception";
    }
  } catch (...) {
    return "unknown exception";
  }
}

namespace {

void default_handler(std::exception_ptr e) {
  const std::string what = describe(e);
  std::fprintf(stderr, "weft: unhandled error in a future nobody observed: %s\n", what.c_str());
}

// The handler is swapped rarely and called rarely (only for errors nobody
// observed), so a mutex-protected copy is enough. Both are leaked on
// purpose: default_pool() is never destroyed, and its tasks may report
// during or after static destruction.
std::mutex& handler_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
unhandled_error_handler& handler_slot() {
  static auto* h = new unhandled_error_handler;
  return *h;
}

}  // namespace

unhandled_error_handler set_unhandled_error_handler(unhandled_error_handler h) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  unhandled_error_handler previous = std::move(handler_slot());
  handler_slot() = std::move(h);
  if (!previous) previous = &default_handler;
  return previous;
}

void report_unhandled_error(std::exception_ptr e) noexcept {
  try {
    unhandled_error_handler h;
    {
      std::lock_guard<std::mutex> lock(handler_mutex());
      h = handler_slot();
    }
    if (h) {
      h(std::move(e));
    } else {
      default_handler(std::move(e));
    }
  } catch (...) {
    // A handler that throws has nowhere to report to; never terminate.
  }
}

namespace detail {

void throw_no_state() { throw future_error(future_errc::no_state); }

}  // namespace detail
}  // namespace v1
}  // namespace weft
