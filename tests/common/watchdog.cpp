// The per-test watchdog: a listener arms one monitor thread at the start of
// every test and disarms it at the end.
#include "watchdog.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>

#include <gtest/gtest.h>

namespace weft_test {

namespace {

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  return (end != v && d > 0) ? d : fallback;
}

std::string current_test_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "(no test running)";
  return std::string(info->test_suite_name()) + "." + info->name();
}

[[noreturn]] void fire(const std::string& what, const std::string& test, double seconds) {
  // Only async-signal-safe-ish calls: the process is stuck, do not make it worse.
  std::fprintf(stderr, "\n*** weft test watchdog: %s fired after %.1f s in test %s; exiting ***\n", what.c_str(),
               seconds, test.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(1);
}

// One monitor thread for the automatic per-test budget.
class monitor {
 public:
  static monitor& get() {
    static monitor* m = new monitor;  // never destroyed: it may outlive main's statics
    return *m;
  }

  void arm(double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ensure_thread();
    armed_ = true;
    budget_s_ = seconds;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    test_ = current_test_name();
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    cv_.notify_all();
  }
  // Extends the current deadline to at least now + seconds.
  void raise(double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto want = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    if (want > deadline_) {
      deadline_ = want;
      budget_s_ = seconds;
    }
    cv_.notify_all();
  }

 private:
  void ensure_thread() {
    if (started_) return;
    started_ = true;
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline_) fire("the per-test budget", test_, budget_s_);
      cv_.wait_until(lock, deadline_);
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  bool armed_ = false;
  double budget_s_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::string test_;
};

class watchdog_listener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { monitor::get().arm(default_test_budget_s()); }
  void OnTestEnd(const ::testing::TestInfo&) override { monitor::get().disarm(); }
};

// Registered before main() runs; UnitTest::GetInstance() is a function-local
// singleton, so this is safe during static initialisation.
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new watchdog_listener);
  return true;
}();

}  // namespace

// Sanitized builds run several times slower; their bounds stretch to match
// unless WEFT_TEST_TIME_SCALE says otherwise.
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SLOWDOWN 4.0
#elif defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_SLOWDOWN 2.0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_SLOWDOWN 4.0
#elif __has_feature(address_sanitizer)
#define WEFT_TEST_SLOWDOWN 2.0
#endif
#endif
#ifndef WEFT_TEST_SLOWDOWN
#define WEFT_TEST_SLOWDOWN 1.0
#endif

double time_scale() {
  static const double s = env_double("WEFT_TEST_TIME_SCALE", WEFT_TEST_SLOWDOWN);
  return s;
}

double default_test_budget_s() {
  static const double s = env_double("WEFT_TEST_WATCHDOG_S", 60.0) * time_scale();
  return s;
}

watchdog::watchdog(double seconds, std::string what) {
  const double scaled = seconds * time_scale();
  const std::string test = current_test_name();
  thread_ = std::thread([this, scaled, what, test] {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(scaled * 1000));
    if (!cv_.wait_until(lock, deadline, [this] { return dismissed_; })) fire(what, test, scaled);
  });
}

watchdog::~watchdog() {
  dismiss();
  thread_.join();
}

void watchdog::dismiss() {
  std::lock_guard<std::mutex> lock(mutex_);
  dismissed_ = true;
  cv_.notify_all();
}

void raise_test_budget(double seconds) { monitor::get().raise(seconds * time_scale()); }

bool wait_until_true(const std::function<bool()>& pred, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + bound(seconds);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace weft_test
