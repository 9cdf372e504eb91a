// tests/common/executors.hpp: executors for tests.
//
// manual_executor queues tasks and runs them only when the test says so,
// one at a time, on the test's thread: continuations become deterministic
// and "did it run inline?" becomes a plain assertion. counting_executor
// forwards to another executor and counts what passes through.
#ifndef WEFT_TESTS_COMMON_EXECUTORS_HPP
#define WEFT_TESTS_COMMON_EXECUTORS_HPP

#include <atomic>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <gtest/gtest.h>

#include "sync.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"

namespace weft_test {

/// Queues every task; run_one()/run_all() run them in FIFO order on the
/// calling thread. Thread-safe: execute() may be called from any thread.
/// A task that throws is reported like weft's executors do.
class manual_executor final : public weft::executor {
 public:
  // retire() first, as executor.hpp asks of an executor whose destructor
  // does work: what reaches it from now on is refused, not queued.
  ~manual_executor() override {
    retire();
    abandon_all();
  }

  void execute(weft::unique_task task) override {
    if (!task) throw std::invalid_argument("manual_executor::execute: the task argument is empty");
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      task.abandon(std::make_exception_ptr(weft::executor_shutdown()));
      throw weft::executor_shutdown();
    }
    queue_.push_back(std::move(task));
    ++submitted_;
  }

  /// Runs the oldest queued task; false if none was queued.
  bool run_one() {
    weft::unique_task t;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) return false;
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      t();
    } catch (...) {
      weft::report_unhandled_error(std::current_exception());
    }
    return true;
  }

  /// Runs queued tasks (including ones they queue) until none is left;
  /// returns how many ran.
  std::size_t run_all() {
    std::size_t n = 0;
    while (run_one()) ++n;
    return n;
  }

  /// Tasks waiting to run.
  std::size_t pending() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.size();
  }
  /// Tasks ever accepted.
  std::size_t submitted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return submitted_;
  }

  /// Refuses further work and abandons what is queued (futures behind it
  /// fail with executor_shutdown).
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    abandon_all();
  }

 private:
  void abandon_all() {
    std::deque<weft::unique_task> q;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      q.swap(queue_);
    }
    for (auto& t : q) t.abandon(std::make_exception_ptr(weft::executor_shutdown()));
  }

  mutable std::mutex mutex_;
  std::deque<weft::unique_task> queue_;
  std::size_t submitted_ = 0;
  bool closed_ = false;
};

/// Forwards to `inner` and counts the tasks it was given.
class counting_executor final : public weft::executor {
 public:
  explicit counting_executor(weft::executor& inner) : inner_(inner) {}
  void execute(weft::unique_task task) override {
    count_.fetch_add(1, std::memory_order_relaxed);
    inner_.execute(std::move(task));
  }
  std::size_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  weft::executor& inner_;
  std::atomic<std::size_t> count_{0};
};

/// Keeps one worker of `ex` busy with a task that waits until release():
/// on a one-worker pool, what is submitted meanwhile queues behind it. The
/// constructor returns once the task runs (and fails the test if it does
/// not within the bound); the destructor releases it, so a failed
/// assertion cannot leave the pool blocked.
class occupied_worker {
 public:
  explicit occupied_worker(weft::executor& ex) : s_(std::make_shared<shared>()) {
    std::shared_ptr<shared> s = s_;  // the task may outlive this object
    ex.execute([s] {
      s->started.count_down();
      EXPECT_TRUE(s->release.wait_within()) << "occupied_worker: never released";
    });
    started_ok_ = s_->started.wait_within();
    EXPECT_TRUE(started_ok_) << "occupied_worker: the task did not start";
  }
  occupied_worker(const occupied_worker&) = delete;
  occupied_worker& operator=(const occupied_worker&) = delete;
  ~occupied_worker() { release(); }

  /// True if the occupying task started in time.
  bool started() const noexcept { return started_ok_; }
  /// Lets the occupying task return. Idempotent.
  void release() { s_->release.open(); }

 private:
  struct shared {
    latch started{1};
    gate release;
  };
  std::shared_ptr<shared> s_;
  bool started_ok_ = false;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_EXECUTORS_HPP
