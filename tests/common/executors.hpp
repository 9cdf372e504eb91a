// tests/common/executors.hpp: executors for tests.
//
// manual_executor (the public one, weft/testing.hpp) queues tasks and runs
// them only when the test says so, one at a time, on the test's thread:
// continuations become deterministic and "did it run inline?" becomes a
// plain assertion. counting_executor forwards to another executor and
// counts what passes through; occupied_worker keeps a pool's worker busy.
#ifndef WEFT_TESTS_COMMON_EXECUTORS_HPP
#define WEFT_TESTS_COMMON_EXECUTORS_HPP

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

#include <gtest/gtest.h>

#include "sync.hpp"
#include "weft/executor.hpp"
#include "weft/testing.hpp"

namespace weft_test {

/// The public kit's manual_executor (weft/testing.hpp): queues every task
/// and runs them, FIFO or at a chosen position, on the calling thread.
using manual_executor = weft::testing::manual_executor;

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
