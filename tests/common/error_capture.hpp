// tests/common/error_capture.hpp: observe the unhandled-error handler.
//
// error_capture installs a handler that records every report (and restores
// the previous handler when destroyed). Reports may arrive on any thread
// (whichever released the last reference of a failed state), so tests wait
// for a count with a bound, and check "exactly once" after the work has
// quiesced (a pool shut down, a future resolved).
#ifndef WEFT_TESTS_COMMON_ERROR_CAPTURE_HPP
#define WEFT_TESTS_COMMON_ERROR_CAPTURE_HPP

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "watchdog.hpp"
#include "weft/errors.hpp"

namespace weft_test {

class error_capture {
 public:
  error_capture() {
    previous_ = weft::set_unhandled_error_handler([this](std::exception_ptr e) {
      std::lock_guard<std::mutex> lock(mutex_);
      errors_.push_back(e);
      cv_.notify_all();
    });
  }
  ~error_capture() { weft::set_unhandled_error_handler(previous_); }
  error_capture(const error_capture&) = delete;
  error_capture& operator=(const error_capture&) = delete;

  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_.size();
  }
  std::vector<std::exception_ptr> errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }
  /// The what() of each report, in order.
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& e : errors()) out.push_back(weft::describe(e));
    return out;
  }
  /// Waits at most `seconds` (scaled) until at least `n` reports arrived.
  bool wait_for_count(std::size_t n, double seconds = 20.0) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, bound(seconds), [&] { return errors_.size() >= n; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<std::exception_ptr> errors_;
  weft::unhandled_error_handler previous_;
};

/// The reason of the weft::future_error that `f()` throws; a test failure
/// (and a default value) when it throws none.
template <class F>
weft::future_errc future_error_reason(F&& f) {
  try {
    f();
  } catch (const weft::future_error& e) {
    return e.reason();
  }
  ADD_FAILURE() << "no future_error was thrown";
  return weft::future_errc{};
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_ERROR_CAPTURE_HPP
