// The test kit: manual_executor, and the messages of run_until_complete and
// mock_async.
#include "weft/testing.hpp"

#include <cstdio>
#include <string>
#include <utility>

namespace weft {
inline namespace v1 {
namespace testing {

manual_executor::manual_executor() = default;

manual_executor::~manual_executor() {
  // retire() first, as executor.hpp asks of an executor whose destructor
  // does work: from here, continuations reaching it through a future fail
  // with executor_shutdown instead of queueing into a dying object.
  retire();
  shutdown();
}

void manual_executor::execute(unique_task task) {
  if (!task) throw std::invalid_argument("weft::testing::manual_executor::execute: the task argument is empty");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) {
      queue_.push_back(std::move(task));
      ++submitted_;
      return;
    }
  }
  // Outside the lock: abandoning fails a future, whose continuations may
  // reach this executor again.
  task.abandon(std::make_exception_ptr(executor_shutdown()));
  throw executor_shutdown();
}

bool manual_executor::run_one() noexcept {
  unique_task t;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return false;
    t = std::move(queue_.front());
    queue_.pop_front();
  }
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
  return true;
}

void manual_executor::run_at(std::size_t index) {
  unique_task t;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index >= queue_.size()) {
      throw std::invalid_argument("weft::testing::manual_executor::run_at: index " + std::to_string(index) +
                                  " is not below pending() (" + std::to_string(queue_.size()) + ")");
    }
    const auto at = queue_.begin() + static_cast<std::ptrdiff_t>(index);
    t = std::move(*at);
    queue_.erase(at);
  }
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
}

std::size_t manual_executor::run_all() noexcept {
  std::size_t n = 0;
  while (run_one()) ++n;
  return n;
}

std::size_t manual_executor::pending() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

std::size_t manual_executor::submitted() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_;
}

void manual_executor::shutdown() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  abandon_queued();
}

void manual_executor::abandon_queued() noexcept {
  std::deque<unique_task> q;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    q.swap(queue_);
  }
  // Outside the lock, oldest first: a failed future's continuations may
  // call execute() here (refused now) or run other code.
  std::exception_ptr why;
  try {
    why = std::make_exception_ptr(executor_shutdown());
  } catch (...) {
    why = std::current_exception();  // std::bad_alloc: still a reason to give
  }
  for (auto& t : q) t.abandon(why);
}

namespace detail {

namespace {

// "250 ms", "2 s", "1.5 us": the limit as a person would write it.
std::string human(std::chrono::duration<double> d) {
  const double s = d.count();
  const char* unit = "s";
  double v = s;
  if (s != 0 && s < 1e-6) {
    v = s * 1e9;
    unit = "ns";
  } else if (s != 0 && s < 1e-3) {
    v = s * 1e6;
    unit = "us";
  } else if (s != 0 && s < 1) {
    v = s * 1e3;
    unit = "ms";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g %s", v, unit);
  return buf;
}

}  // namespace

void throw_not_complete_within(std::chrono::duration<double> limit) {
  throw timeout_error("weft::testing::run_until_complete: the future was not ready within " + human(limit));
}

void throw_ran_dry() {
  throw std::logic_error(
      "weft::testing::run_until_complete: nothing left to run on the manual_executor, the future can never complete");
}

void throw_negative_limit() {
  throw std::invalid_argument("weft::testing::run_until_complete: limit is negative");
}

std::exception_ptr nothing_scripted(const std::string& mock, std::size_t call) {
  return std::make_exception_ptr(std::logic_error(
      "weft::testing::mock_async '" + mock + "': call " + std::to_string(call) +
      " has nothing scripted and no default (script it with returns(), fails(), returns_future() or invokes(), "
      "or set a default_returns(), default_fails() or default_invokes())"));
}

void throw_mock_argument(const char* function, const char* what) {
  throw std::invalid_argument(std::string("weft::testing::mock_async::") + function + ": " + what);
}

}  // namespace detail
}  // namespace testing
}  // namespace v1
}  // namespace weft
