// tests/common/watchdog.hpp: every blocking wait in a test is bounded.
//
// Two layers:
// - A per-test watchdog armed automatically (watchdog.cpp registers a
//   GoogleTest listener): if a test has not ended within its budget, the
//   process prints the test's name and exits with status 1, so a hang fails
//   fast instead of stalling CI. The default budget is 60 s; set
//   WEFT_TEST_WATCHDOG_S to change it (sanitizer builds run slower), or give
//   one test more with `weft_test::raise_test_budget`.
// - Helpers that bound a single wait and fail the test with a message
//   instead: get_within(), wait_within(), wait_until_true().
#ifndef WEFT_TESTS_COMMON_WATCHDOG_HPP
#define WEFT_TESTS_COMMON_WATCHDOG_HPP

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace weft_test {

/// Seconds the per-test watchdog allows, read once from WEFT_TEST_WATCHDOG_S.
double default_test_budget_s();

/// Scales a wait bound for slow (sanitizer) builds: WEFT_TEST_TIME_SCALE,
/// default 4 under TSan, 2 under ASan, 1 otherwise.
double time_scale();

/// A bound for a single wait in a test: `seconds` times time_scale().
inline std::chrono::milliseconds bound(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * time_scale() * 1000.0));
}

/// An RAII watchdog: unless destroyed (or dismissed) within `seconds`, it
/// prints `what` and the current test's name to stderr and calls _exit(1).
class watchdog {
 public:
  explicit watchdog(double seconds, std::string what = "watchdog");
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Stops the watchdog; it will not fire.
  void dismiss();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool dismissed_ = false;
  std::thread thread_;
};

/// Gives the running test `seconds` (scaled by time_scale()) from now
/// before its automatic watchdog fires, if that is later than its deadline.
/// For long tests (stress); lasts until the test ends.
void raise_test_budget(double seconds);

/// Thrown by the helpers below when a bounded wait runs out; GoogleTest
/// reports it as a failure of the test body.
class wait_timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Waits at most `seconds` (scaled) for `f`, then get()s it. Throws
/// wait_timeout if it is not ready by then.
template <class Future>
auto get_within(Future&& f, double seconds = 20.0) -> decltype(f.get()) {
  if (f.wait_for(bound(seconds)) != std::future_status::ready) {
    throw wait_timeout("get_within: future not ready within " + std::to_string(seconds) + " s");
  }
  return f.get();
}

/// Waits at most `seconds` (scaled) for `f` to become ready; true if it did.
template <class Future>
bool ready_within(const Future& f, double seconds = 20.0) {
  return f.wait_for(bound(seconds)) == std::future_status::ready;
}

/// Polls `pred` (every 200 us) until it is true or `seconds` (scaled) have
/// passed; returns its last value. For state that has no event to wait on
/// (a pool's thread count shrinking): a bounded poll, not a fixed sleep.
bool wait_until_true(const std::function<bool()>& pred, double seconds = 20.0);

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_WATCHDOG_HPP
