// executor and inline_executor(): trampolined inline execution; user
// executors drive the continuation path; the tests' own executors.
#include "weft/executor.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "small_stack.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_executor;
using weft_test::on_small_stack;

TEST(InlineExecutor, IsOneProcessWideInstance) { EXPECT_EQ(&weft::inline_executor(), &weft::inline_executor()); }

TEST(InlineExecutor, RunsTheTaskBeforeExecuteReturnsOnTheCallingThread) {
  std::thread::id ran_on;
  weft::inline_executor().execute([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(InlineExecutor, NestedSubmissionsRunAfterTheCurrentTaskInOrder) {
  std::vector<std::string> log;
  weft::inline_executor().execute([&] {
    log.push_back("outer begin");
    weft::inline_executor().execute([&] {
      log.push_back("inner 1");
      weft::inline_executor().execute([&] { log.push_back("inner 1.1"); });
    });
    weft::inline_executor().execute([&] { log.push_back("inner 2"); });
    log.push_back("outer end");
  });
  EXPECT_EQ(log, (std::vector<std::string>{"outer begin", "outer end", "inner 1", "inner 2", "inner 1.1"}));
}

TEST(InlineExecutor, AllNestedWorkIsDoneWhenTheOuterExecuteReturns) {
  int done = 0;
  weft::inline_executor().execute([&] {
    for (int i = 0; i < 10; ++i) weft::inline_executor().execute([&] { ++done; });
  });
  EXPECT_EQ(done, 10);
}

TEST(InlineExecutor, DeeplyNestedSubmissionsUseConstantStack) {
  constexpr int depth = 100000;
  int runs = 0;
  on_small_stack([&] {
    std::function<void()> step = [&] {
      if (++runs < depth) weft::inline_executor().execute([&] { step(); });
    };
    weft::inline_executor().execute([&] { step(); });
  });
  EXPECT_EQ(runs, depth);
}

TEST(InlineExecutor, ThrowingTaskIsReportedAndLaterTasksStillRun) {
  error_capture errors;
  bool later_ran = false;
  EXPECT_NO_THROW(weft::inline_executor().execute([&] {
    weft::inline_executor().execute([] { throw std::runtime_error("nested throw"); });
    weft::inline_executor().execute([&] { later_ran = true; });
  }));
  EXPECT_TRUE(later_ran);
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "nested throw");
}

TEST(InlineExecutor, ThrowingOutermostTaskIsReportedNotTerminate) {
  error_capture errors;
  EXPECT_NO_THROW(weft::inline_executor().execute([] { throw std::runtime_error("outer throw"); }));
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "outer throw");
  // The trampoline was reset: the next submission runs at once again.
  bool ran = false;
  weft::inline_executor().execute([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(InlineExecutor, EmptyTaskIsRejectedWithInvalidArgument) {
  EXPECT_THROW(weft::inline_executor().execute(weft::unique_task()), std::invalid_argument);
}

TEST(InlineExecutor, ThreadsHaveIndependentTrampolines) {
  // A task running inline on thread A must not capture submissions made by
  // thread B while it runs.
  weft_test::gate a_running, b_done;
  std::thread::id b_task_thread, b_self;
  weft_test::joining_thread a([&] {
    weft::inline_executor().execute([&] {
      a_running.open();
      EXPECT_TRUE(b_done.wait_within());
    });
  });
  ASSERT_TRUE(a_running.wait_within());
  weft_test::joining_thread b([&] {
    b_self = std::this_thread::get_id();
    weft::inline_executor().execute([&] { b_task_thread = std::this_thread::get_id(); });
    EXPECT_EQ(b_task_thread, b_self) << "B's task did not run on B before execute returned";
    b_done.open();
  });
  b.join();
  a.join();
  EXPECT_EQ(b_task_thread, b_self);
}

// A get() inside an inline task on work it queued on the same trampoline:
// the wait runs the queued work first instead of blocking on it forever.
TEST(InlineExecutor, AGetInsideAnInlineTaskRunsTheInlineWorkItWaitsFor) {
  int got = 0;
  std::vector<int> order;
  weft::inline_executor().execute([&] {
    weft::future<int> f = weft::async(weft::inline_executor(), [&] {
      order.push_back(1);
      return 7;
    });
    EXPECT_FALSE(f.is_ready()) << "queued behind the running task";
    got = f.get();
    order.push_back(2);
  });
  EXPECT_EQ(got, 7);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(InlineExecutor, AGetInsideAnInlineTaskOnAPoolWorkerRunsTheInlineWorkItWaitsFor) {
  weft::thread_pool pool(1);
  weft::future<int> outer = weft::async(pool, [] {
    int got = 0;
    weft::inline_executor().execute([&got] {
      weft::future<int> chained =
          weft::make_ready_future(20, weft::inline_executor()).then([](int x) { return x + 1; }).then([](int x) {
            return x * 2;
          });
      got = chained.get();
    });
    return got;
  });
  EXPECT_EQ(get_within(outer), 42);
}

TEST(InlineExecutor, ContinuationsOnItRunWhereTheFutureCompletes) {
  weft::promise<int> p(weft::inline_executor());
  std::thread::id ran_on;
  auto g = p.get_future().then([&](int) { ran_on = std::this_thread::get_id(); });
  weft_test::joining_thread setter([&] { p.set_value(1); });
  setter.join();
  get_within(g);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_NE(ran_on, std::thread::id());
}

// ---- user executors -----------------------------------------------------------

TEST(UserExecutor, DrivesContinuationsThroughExecute) {
  weft_test::counting_executor ex(weft::inline_executor());
  weft::promise<int> p(ex);
  auto g = p.get_future().then([](int v) { return v + 1; }).then([](int v) { return v * 2; });
  p.set_value(1);
  EXPECT_EQ(g.get(), 4);
  EXPECT_EQ(ex.count(), 2u);
}

TEST(UserExecutor, ThatThrowsFromExecuteFailsTheContinuation) {
  struct refusing final : weft::executor {
    void execute(weft::unique_task t) override {
      t.abandon(std::make_exception_ptr(std::runtime_error("refused")));
      throw std::runtime_error("refused");
    }
  } ex;
  weft::promise<int> p(ex);
  auto g = p.get_future().then([](int v) { return v; });
  EXPECT_NO_THROW(p.set_value(1));
  ASSERT_TRUE(g.is_ready());
  EXPECT_THROW(g.get(), std::runtime_error);
}

TEST(UserExecutor, ThatThrowsWithoutAbandoningStillResolvesTheContinuation) {
  struct careless final : weft::executor {
    void execute(weft::unique_task) override { throw std::runtime_error("lost"); }
  } ex;
  weft::promise<int> p(ex);
  auto g = p.get_future().then([](int v) { return v; });
  EXPECT_NO_THROW(p.set_value(1));
  ASSERT_TRUE(g.is_ready());
  EXPECT_THROW(g.get(), weft::broken_promise);
}

// ---- the tests' own executors -----------------------------------------------------

TEST(ManualExecutor, RunsTasksOneAtATimeInSubmissionOrder) {
  manual_executor ex;
  std::vector<int> log;
  for (int i = 0; i < 3; ++i) ex.execute([&log, i] { log.push_back(i); });
  EXPECT_EQ(ex.pending(), 3u);
  EXPECT_TRUE(ex.run_one());
  EXPECT_EQ(log, std::vector<int>{0});
  EXPECT_EQ(ex.run_all(), 2u);
  EXPECT_EQ(log, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(ex.run_one());
}

TEST(ManualExecutor, ShutdownAbandonsQueuedWorkAndRefusesMore) {
  manual_executor ex;
  auto f = weft::async(ex, [] { return 1; });
  ex.shutdown();
  EXPECT_THROW(f.get(), weft::executor_shutdown);
  EXPECT_THROW(ex.execute([] {}), weft::executor_shutdown);
}

}  // namespace
