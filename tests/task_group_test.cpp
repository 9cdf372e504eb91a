// task_group: asyncio TaskGroup rules for weft futures.
#include "weft/task_group.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::manual_executor;

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

}  // namespace
