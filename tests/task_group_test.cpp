// task_group: asyncio TaskGroup rules for weft futures.
#include "weft/task_group.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timer.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::get_within;
using weft_test::manual_executor;

struct manual_timers {
  weft::manual_clock clk;
  manual_executor ex;
  weft::timer_service svc{clk, ex};  // last: destroyed first
};

// Accepts nothing: abandons each task (its future fails) without throwing,
// as an executor that sheds load might.
class shedding_executor final : public weft::executor {
 public:
  void execute(weft::unique_task task) override {
    task.abandon(std::make_exception_ptr(std::runtime_error("shed")));
  }
};

TEST(TaskGroup, JoinWaitsForEveryChildAndResultsStayReadable) {
  weft::thread_pool pool(2);
  weft::task_group g(pool);
  std::vector<weft::future<int>> parts;
  for (int i = 0; i < 10; ++i) parts.push_back(g.spawn([i] { return i * i; }));
  get_within(g.join());
  int sum = 0;
  for (auto& f : parts) sum += get_within(f);
  EXPECT_EQ(sum, 285);
}

TEST(TaskGroup, TheFirstFailureCancelsTheRestAndJoinHoldsOnlyRealFailures) {
  manual_executor ex;
  weft::task_group g(ex);
  std::atomic<int> started{0};
  auto ok = g.spawn([&] { ++started; return 1; });
  auto bad = g.spawn([&]() -> int { ++started; throw std::runtime_error("boom"); });
  auto never = g.spawn([&](weft::cancellation_token) { ++started; return 3; });
  auto joined = g.join();
  ex.run_all();
  EXPECT_EQ(started.load(), 2) << "the child queued after the failure never started";
  EXPECT_EQ(ok.get(), 1);
  EXPECT_THROW(never.get(), weft::cancelled_error);
  EXPECT_THROW(bad.get(), std::runtime_error);
  try {
    joined.get();
    ADD_FAILURE() << "join did not fail";
  } catch (const weft::exception_group& e) {
    ASSERT_EQ(e.size(), 1u) << e.what();
    EXPECT_THROW(std::rethrow_exception(e.exceptions()[0]), std::runtime_error);
  }
}

// All 100 children start at once (each returns a future the test settles
// later), then 3 fail: the join holds exactly those 3, and none of the
// siblings' outcomes.
TEST(TaskGroup, ThreeOfAHundredFailingGiveExactlyThree) {
  manual_executor ex;
  weft::task_group g(ex);
  std::vector<weft::promise<int>> answers;
  for (int i = 0; i < 100; ++i) answers.emplace_back(ex);
  std::vector<weft::future<int>> parts;
  for (int i = 0; i < 100; ++i) {
    parts.push_back(g.spawn([&answers, i] { return answers[static_cast<std::size_t>(i)].get_future(); }));
  }
  ex.run_all();  // every child has started and returned its future
  for (int i = 0; i < 100; ++i) {
    auto& p = answers[static_cast<std::size_t>(i)];
    if (i == 10 || i == 50 || i == 90) {
      p.set_exception(std::make_exception_ptr(std::runtime_error("part " + std::to_string(i))));
    } else {
      p.set_value(i);
    }
  }
  auto joined = g.join();
  ex.run_all();
  try {
    joined.get();
    ADD_FAILURE() << "join did not fail";
  } catch (const weft::exception_group& e) {
    ASSERT_EQ(e.size(), 3u) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 tasks failed"), std::string::npos) << e.what();
    for (const auto& x : e.exceptions()) EXPECT_THROW(std::rethrow_exception(x), std::runtime_error);
  }
  EXPECT_EQ(parts[0].get(), 0);
  EXPECT_EQ(parts[99].get(), 99);
}

TEST(TaskGroup, ChildrenQueuedBehindTheFirstFailureNeverStart) {
  manual_executor ex;
  weft::task_group g(ex);
  for (int i = 0; i < 3; ++i) g.spawn([i]() -> int { throw std::runtime_error("f" + std::to_string(i)); });
  // Run one at a time: the first failure cancels the two still queued.
  auto joined = g.join();
  ex.run_all();
  try {
    joined.get();
    ADD_FAILURE();
  } catch (const weft::exception_group& e) {
    EXPECT_EQ(e.size(), 1u) << "the first failure cancelled the two not yet started";
  }
}

TEST(TaskGroup, CancelStopsChildrenNotStartedAndJoinFailsWithCancelled) {
  manual_executor ex;
  weft::task_group g(ex);
  auto a = g.spawn([] { return 1; });
  EXPECT_TRUE(g.cancel());
  EXPECT_FALSE(g.cancel());
  auto joined = g.join();
  ex.run_all();
  EXPECT_THROW(a.get(), weft::cancelled_error);
  EXPECT_THROW(joined.get(), weft::cancelled_error);
}

TEST(TaskGroup, SpawnIntoACancelledGroupThrowsCancelled) {
  manual_executor ex;
  weft::task_group g(ex);
  g.cancel();
  EXPECT_THROW(g.spawn([] { return 1; }), weft::cancelled_error);
}

TEST(TaskGroup, SpawnAfterTheJoinCompletedThrowsLogicError) {
  manual_executor ex;
  weft::task_group g(ex);
  g.spawn([] {});
  auto joined = g.join();
  ex.run_all();
  joined.get();
  EXPECT_THROW(g.spawn([] {}), std::logic_error);
}

TEST(TaskGroup, AChildMaySpawnASiblingWhileTheJoinWaits) {
  weft::thread_pool pool(2);
  weft::task_group g(pool);
  std::atomic<int> ran{0};
  g.spawn([&] {
    ++ran;
    g.spawn([&] { ++ran; });
  });
  get_within(g.join());
  EXPECT_EQ(ran.load(), 2);
}

TEST(TaskGroup, AChildGroupIsCancelledWithItsParent) {
  manual_executor ex;
  weft::task_group parent(ex);
  weft::task_group child(ex, parent.token());
  auto c = child.spawn([] { return 1; });
  parent.cancel();
  EXPECT_TRUE(child.token().is_cancelled());
  ex.run_all();
  EXPECT_THROW(c.get(), weft::cancelled_error);
}

TEST(TaskGroup, TheDestructorCancelsAndWaitsForEveryChild) {
  weft::thread_pool pool(2);
  std::atomic<bool> finished{false};
  weft_test::gate running;
  {
    weft::task_group g(pool);
    g.spawn([&](weft::cancellation_token t) {
      running.open();
      while (!t.is_cancelled()) std::this_thread::yield();
      finished = true;
    });
    ASSERT_TRUE(running.wait_within());
  }
  EXPECT_TRUE(finished.load()) << "the destructor returned before its child ended";
}

TEST(TaskGroup, AFailureNobodyJoinedIsReportedOnceByTheDestructor) {
  weft_test::error_capture errors;
  manual_executor ex;
  {
    weft::task_group g(ex);
    g.spawn([]() -> int { throw std::runtime_error("lost?"); });  // future dropped
    ex.run_all();
  }
  EXPECT_EQ(errors.count(), 1u) << "reported once, by the group, not again by the dropped child future";
}

// ---- Deadlines -------------------------------------------------------------

TEST(TaskGroupDeadline, PassingItCancelsTheChildrenAndJoinFailsWithTimeout) {
  manual_timers t;
  weft::task_group g(t.ex, t.clk.now() + 10ms, t.svc);
  weft::cancellation_token seen;
  auto running = g.spawn([&](weft::cancellation_token tok) {
    seen = tok;
    return 1;
  });
  auto queued = g.spawn([] { return 2; });
  t.ex.run_one();  // the first child runs; the second stays queued
  EXPECT_FALSE(seen.is_cancelled());
  auto joined = g.join();
  t.clk.advance(9ms);
  t.ex.run_all();  // nothing due yet: the queued child runs in time
  EXPECT_TRUE(joined.is_ready()) << "both children finished before the deadline";
  EXPECT_NO_THROW(joined.get());
  EXPECT_EQ(t.svc.pending(), 0u) << "completing in time cancels the deadline's timer";
  t.clk.advance(1h);
  t.ex.run_all();
  EXPECT_FALSE(seen.is_cancelled()) << "a deadline after completion changes nothing";
  EXPECT_EQ(queued.get(), 2);
}

TEST(TaskGroupDeadline, ChildrenUnfinishedAtTheDeadlineAreCancelledAndJoinTimesOut) {
  manual_timers t;
  weft::task_group g(t.ex, 10ms, t.svc);  // from the clock's now
  weft::promise<int> slow(t.ex);
  weft::cancellation_token seen;
  auto running = g.spawn([&](weft::cancellation_token tok) {
    seen = tok;
    return slow.get_future();  // still running, as far as the group knows
  });
  t.ex.run_all();
  auto never = g.spawn([] { return 2; });  // queued, not started
  auto joined = g.join();
  t.clk.advance(9ms);
  t.ex.run_all();
  EXPECT_FALSE(joined.is_ready());
  EXPECT_EQ(never.get(), 2) << "before the deadline, queued children still run";
  auto late = g.spawn([] { return 3; });
  t.clk.advance(1ms);  // the deadline
  EXPECT_FALSE(seen.is_cancelled()) << "the timer's task is handed to the executor, not run by the clock";
  ASSERT_EQ(t.ex.pending(), 2u);  // `late`, then the timer's task
  t.ex.run_at(1);
  t.ex.run_all();
  EXPECT_TRUE(seen.is_cancelled()) << "running children see the group's token cancelled";
  EXPECT_THROW(late.get(), weft::cancelled_error) << "a child queued at the deadline never starts";
  EXPECT_FALSE(joined.is_ready()) << "the join waits for the running child";
  EXPECT_THROW(g.spawn([] { return 4; }), weft::timeout_error);
  slow.set_exception(std::make_exception_ptr(weft::cancelled_error("stopped")));
  t.ex.run_all();
  ASSERT_TRUE(joined.is_ready());
  EXPECT_THROW(joined.get(), weft::timeout_error);
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(TaskGroupDeadline, ARealFailureBeforeTheDeadlineWinsOverTheTimeout) {
  manual_timers t;
  weft::task_group g(t.ex, 10ms, t.svc);
  weft::promise<int> slow(t.ex);
  g.spawn([&] { return slow.get_future(); });
  g.spawn([]() -> int { throw std::runtime_error("broken"); });
  t.ex.run_all();
  auto joined = g.join();
  t.clk.advance(20ms);
  t.ex.run_all();
  slow.set_value(1);
  t.ex.run_all();
  try {
    joined.get();
    ADD_FAILURE() << "join did not fail";
  } catch (const weft::exception_group& e) {
    ASSERT_EQ(e.size(), 1u) << e.what();
    EXPECT_THROW(std::rethrow_exception(e.exceptions()[0]), std::runtime_error);
  }
}

TEST(TaskGroupDeadline, ACancelBeforeTheDeadlineStaysACancel) {
  manual_timers t;
  weft::task_group g(t.ex, 10ms, t.svc);
  weft::promise<int> slow(t.ex);
  g.spawn([&] { return slow.get_future(); });
  t.ex.run_all();
  g.cancel();
  auto joined = g.join();
  t.clk.advance(20ms);
  t.ex.run_all();
  slow.set_value(1);
  t.ex.run_all();
  EXPECT_THROW(joined.get(), weft::cancelled_error);
}

TEST(TaskGroupDeadline, APastDeadlineCancelsAtOnceAndSpawnThrowsTimeout) {
  manual_timers t;
  t.clk.advance(1h);
  weft::task_group g(t.ex, t.clk.now() - 1ms, t.svc);
  t.ex.run_all();  // the timer's task, handed over at once
  EXPECT_TRUE(g.token().is_cancelled());
  EXPECT_THROW(g.spawn([] {}), weft::timeout_error);
  EXPECT_THROW(g.wait(), weft::timeout_error);
}

TEST(TaskGroupDeadline, AReachedDeadlineOnAnExecutorThatRunsTasksInsideExecuteCancelsAtOnce) {
  weft::manual_clock clk;
  weft::timer_service svc(clk, weft::inline_executor());
  weft::task_group g(weft::inline_executor(), clk.now(), svc);  // the timer's task runs inside the constructor
  EXPECT_TRUE(g.token().is_cancelled());
  EXPECT_THROW(g.wait(), weft::timeout_error);
}

TEST(TaskGroupDeadline, AGroupNobodyJoinedDoesNotReportItsTimeout) {
  weft_test::error_capture errors;
  manual_timers t;
  {
    weft::task_group g(t.ex, 10ms, t.svc);
    weft::promise<int> slow(t.ex);
    g.spawn([&] { return slow.get_future(); });
    t.ex.run_all();
    t.clk.advance(10ms);
    t.ex.run_all();
    EXPECT_TRUE(g.token().is_cancelled());
    slow.set_value(1);
    t.ex.run_all();
  }
  EXPECT_EQ(errors.count(), 0u) << "the deadline is the group's, not a failure of a child";
}

TEST(TaskGroupDeadline, NoDeadlineArmsNoTimer) {
  manual_timers t;
  {
    weft::task_group g(t.ex, weft::clock::time_point::max(), t.svc);
    weft::task_group h(t.ex, std::chrono::hours::max(), t.svc);
    EXPECT_EQ(t.svc.pending(), 0u);
  }
}

TEST(TaskGroupDeadline, TheDestructorOfAGroupWithADeadlineLeavesNoTimer) {
  manual_timers t;
  {
    weft::task_group g(t.ex, 10ms, t.svc);
    g.spawn([] {});
    EXPECT_EQ(t.svc.pending(), 1u);
    t.ex.run_all();
  }
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(TaskGroupDeadline, AChildGroupWithItsOwnDeadlineIsAlsoCancelledWithItsParent) {
  manual_timers t;
  weft::task_group parent(t.ex);
  weft::task_group child(t.ex, parent.token(), t.clk.now() + 1h, t.svc);
  parent.cancel();
  EXPECT_TRUE(child.token().is_cancelled());
  EXPECT_THROW(child.wait(), weft::cancelled_error);
}

// ---- Executors that refuse or drop children ---------------------------------

TEST(TaskGroup, ASpawnTheExecutorRefusesThrowsAndIsNotAFailureOfTheGroup) {
  weft_test::error_capture errors;
  auto ex = std::make_unique<manual_executor>();
  weft::task_group g(*ex);
  auto ok = g.spawn([] { return 1; });
  ex->run_all();
  ex->shutdown();
  EXPECT_THROW(g.spawn([] { return 2; }), weft::executor_shutdown);
  EXPECT_NO_THROW(g.wait()) << "the refused spawn was reported by its throw, not by the join";
  EXPECT_EQ(ok.get(), 1);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(TaskGroup, ChildrenDroppedByAShutDownExecutorAreFailuresOfTheGroup) {
  weft_test::error_capture errors;
  manual_executor ex;
  weft::task_group g(ex);
  auto a = g.spawn([] { return 1; });
  g.spawn([] { return 2; });  // future dropped: the group reports it
  ex.shutdown();  // both children dropped, unrun
  EXPECT_THROW(a.get(), weft::executor_shutdown);
  try {
    g.wait();  // join() would continue on the shut-down executor: wait() does not
    ADD_FAILURE() << "join did not fail";
  } catch (const weft::exception_group& e) {
    EXPECT_EQ(e.size(), 2u) << e.what();
  }
  EXPECT_EQ(errors.count(), 0u) << "the dropped future's error is the group's, not reported again";
}

TEST(TaskGroup, AChildAnExecutorDropsWithoutThrowingIsAFailureOfTheGroup) {
  weft_test::error_capture errors;
  shedding_executor ex;
  weft::task_group g(ex);
  auto f = g.spawn([] { return 1; });
  EXPECT_THROW(f.get(), std::runtime_error);
  EXPECT_TRUE(g.token().is_cancelled()) << "as any failure, it cancels the rest";
  try {
    g.wait();
    ADD_FAILURE() << "the group lost a child and succeeded";
  } catch (const weft::exception_group& e) {
    ASSERT_EQ(e.size(), 1u) << e.what();
    EXPECT_THROW(std::rethrow_exception(e.exceptions()[0]), std::runtime_error);
  }
  EXPECT_THROW(g.spawn([] { return 2; }), weft::cancelled_error);
  EXPECT_EQ(errors.count(), 0u) << "the lost child is reported by the join, once";
}

TEST(TaskGroup, ADroppedFutureReturningChildIsAFailureOfTheGroupToo) {
  weft_test::error_capture errors;
  manual_executor ex;
  weft::task_group g(ex);
  weft::promise<int> answer(ex);
  g.spawn([&] { return answer.get_future(); });  // future dropped
  ex.shutdown();
  try {
    g.wait();
    ADD_FAILURE() << "join did not fail";
  } catch (const weft::exception_group& e) {
    EXPECT_EQ(e.size(), 1u) << e.what();
  }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(TaskGroup, OnTheInlineExecutorChildrenRunInsideSpawnAndMaySpawnMore) {
  weft::task_group g(weft::inline_executor());
  int ran = 0;
  auto a = g.spawn([&] {
    ++ran;
    g.spawn([&] { ++ran; });
    return 5;
  });
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(a.get(), 5);
  EXPECT_NO_THROW(g.wait());
}

TEST(TaskGroup, WhenTheJoinCompletesEveryChildFutureIsReady) {
  weft::thread_pool pool(2);
  for (int round = 0; round < 20; ++round) {
    weft::task_group g(pool);
    std::vector<weft::future<int>> parts;
    for (int i = 0; i < 200; ++i) parts.push_back(g.spawn([i] { return i; }));
    auto checked = g.join().then([&parts] {
      for (auto& f : parts) {
        if (!f.is_ready()) return false;
      }
      return true;
    });
    EXPECT_TRUE(get_within(checked)) << "round " << round;
  }
}

TEST(TaskGroup, CapturesOfAChildAreDestroyedBeforeItsFutureIsReady) {
  manual_executor ex;
  weft::task_group g(ex);
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto f = g.spawn([held = std::move(token)] { return *held; });
  auto alive_when_ready = f.then(weft::inline_executor(), [watch](int v) { return v + (watch.expired() ? 0 : 100); });
  ex.run_all();
  EXPECT_EQ(alive_when_ready.get(), 1);
}

}  // namespace
