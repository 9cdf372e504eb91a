// shared_future<T>: many readers, many continuations, copies of one outcome.
#include "weft/shared_future.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "clocks.hpp"
#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_clock;
using weft_test::manual_executor;

struct copy_counter {
  static std::atomic<int> copies;
  int v = 0;
  explicit copy_counter(int x) : v(x) {}
  copy_counter(const copy_counter& o) : v(o.v) { copies.fetch_add(1); }
  copy_counter(copy_counter&&) noexcept = default;
  copy_counter& operator=(const copy_counter&) = default;
};
std::atomic<int> copy_counter::copies{0};

TEST(SharedFuture, DefaultConstructedIsInvalidAndGetThrowsNoState) {
  weft::shared_future<int> s;
  EXPECT_FALSE(s.valid());
  try {
    s.get();
    FAIL() << "get() did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
  EXPECT_THROW((void)s.is_ready(), weft::future_error);
  EXPECT_THROW(s.wait(), weft::future_error);
  EXPECT_THROW((void)s.then([](int) {}), weft::future_error);
}

TEST(SharedFuture, GetDoesNotConsumeAndEveryCopySeesTheSameObject) {
  weft::promise<std::string> p(weft::inline_executor());
  weft::shared_future<std::string> a = p.get_future().share();
  weft::shared_future<std::string> b = a;
  p.set_value("shared");
  EXPECT_EQ(a.get(), "shared");
  EXPECT_EQ(a.get(), "shared");
  EXPECT_EQ(&a.get(), &b.get());
  EXPECT_TRUE(a.valid());
  EXPECT_TRUE(b.valid());
}

TEST(SharedFuture, ImplicitConversionFromFuture) {
  weft::shared_future<int> s = weft::make_ready_future(2, weft::inline_executor());
  EXPECT_TRUE(s.is_ready());
  EXPECT_EQ(s.get(), 2);
}

TEST(SharedFuture, EveryReaderSeesTheError) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> a = p.get_future().share();
  weft::shared_future<int> b = a;
  p.set_exception(std::make_exception_ptr(std::runtime_error("for all")));
  EXPECT_THROW(a.get(), std::runtime_error);
  EXPECT_THROW(b.get(), std::runtime_error);
  EXPECT_THROW(a.get(), std::runtime_error);
}

TEST(SharedFuture, SharedFutureOfVoid) {
  weft::promise<void> p(weft::inline_executor());
  weft::shared_future<void> s = p.get_future().share();
  EXPECT_FALSE(s.is_ready());
  p.set_value();
  EXPECT_NO_THROW(s.get());
  EXPECT_NO_THROW(s.get());
}

TEST(SharedFuture, EachContinuationRunsOnceWithItsOwnCopy) {
  manual_executor ex;
  weft::promise<copy_counter> p(ex);
  weft::shared_future<copy_counter> s = p.get_future().share();
  std::vector<weft::future<int>> outs;
  for (int i = 0; i < 5; ++i) outs.push_back(s.then([i](copy_counter c) { return c.v + i; }));
  p.set_value(copy_counter(10));
  const int copies_before = copy_counter::copies.load();
  EXPECT_EQ(ex.run_all(), 5u);
  EXPECT_GE(copy_counter::copies.load() - copies_before, 5);  // at least one copy per continuation
  for (int i = 0; i < 5; ++i) EXPECT_EQ(outs[i].get(), 10 + i);
  EXPECT_EQ(s.get().v, 10);  // the shared value itself was not moved from
}

TEST(SharedFuture, ContinuationAttachedAfterReadinessRuns) {
  manual_executor ex;
  weft::promise<int> p(ex);
  weft::shared_future<int> s = p.get_future().share();
  p.set_value(3);
  ex.run_all();
  auto g = s.then([](int v) { return v * 3; });
  ex.run_all();
  EXPECT_EQ(g.get(), 9);
}

TEST(SharedFuture, ContinuationsDefaultToTheOriginalExecutor) {
  manual_executor ex;
  weft::promise<int> p(ex);
  weft::shared_future<int> s = p.get_future().share();
  int seen = 0;
  auto g = s.then([&](int v) { seen = v; });
  p.set_value(6);
  EXPECT_EQ(seen, 0);
  ex.run_all();
  EXPECT_EQ(seen, 6);
}

TEST(SharedFuture, ContinuationRunsOnTheNamedExecutor) {
  manual_executor a, b;
  weft::promise<int> p(a);
  weft::shared_future<int> s = p.get_future().share();
  int seen = 0;
  auto g = s.then(b, [&](int v) { seen = v; });
  p.set_value(8);
  a.run_all();
  EXPECT_EQ(seen, 0);
  EXPECT_EQ(b.run_all(), 1u);
  EXPECT_EQ(seen, 8);
}

TEST(SharedFuture, ThenResultSeesTheError) {
  manual_executor ex;
  weft::promise<int> p(ex);
  weft::shared_future<int> s = p.get_future().share();
  auto g = s.then_result([](weft::result<int> r) { return r.has_value() ? std::string("value") : weft::describe(r.error()); });
  p.set_exception(std::make_exception_ptr(std::runtime_error("shared error")));
  ex.run_all();
  EXPECT_EQ(g.get(), "shared error");
}

TEST(SharedFuture, ThenResultRunsOnTheNamedExecutorAsDoLaterContinuations) {
  manual_executor a, b;
  weft::promise<int> p(a);
  weft::shared_future<int> s = p.get_future().share();
  auto g = s.then_result(b, [](weft::result<int> r) { return r.has_value() ? r.value() : -1; }).then([](int v) {
    return v + 1;
  });
  auto h = s.then_result(b, [](weft::result<int> r) { return r.has_value(); });
  p.set_value(4);
  a.run_all();
  EXPECT_FALSE(g.is_ready());
  EXPECT_EQ(b.run_all(), 3u);  // both then_results and the then after one
  EXPECT_EQ(g.get(), 5);
  EXPECT_TRUE(h.get());
  EXPECT_EQ(s.get(), 4);  // not consumed
}

TEST(SharedFuture, ThenResultOnAnExecutorSeesTheError) {
  manual_executor a, b;
  weft::promise<int> p(a);
  weft::shared_future<int> s = p.get_future().share();
  auto g = s.then_result(b, [](weft::result<int> r) { return r.has_value() ? std::string("value") : weft::describe(r.error()); });
  p.set_exception(std::make_exception_ptr(std::runtime_error("shared error")));
  a.run_all();
  EXPECT_EQ(b.run_all(), 1u);
  EXPECT_EQ(g.get(), "shared error");
}

TEST(SharedFuture, ThenSkipsFnOnErrorAndPropagates) {
  manual_executor ex;
  weft::promise<int> p(ex);
  weft::shared_future<int> s = p.get_future().share();
  bool ran = false;
  auto g = s.then([&](int) { ran = true; });
  p.set_exception(std::make_exception_ptr(std::out_of_range("skip")));
  ex.run_all();
  EXPECT_FALSE(ran);
  EXPECT_THROW(g.get(), std::out_of_range);
}

TEST(SharedFuture, WaitForTimesOutThenSucceeds) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  EXPECT_EQ(s.wait_for(std::chrono::milliseconds(5)), std::future_status::timeout);
  EXPECT_EQ(s.wait_for(std::chrono::milliseconds(-5)), std::future_status::timeout);
  p.set_value(1);
  EXPECT_EQ(s.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
}

TEST(SharedFuture, WaitUntilTakesASteadyOrASystemClockDeadline) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  weft::shared_future<int> t = s;
  EXPECT_EQ(s.wait_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(5)), std::future_status::timeout);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(20);
  EXPECT_EQ(t.wait_until(deadline), std::future_status::timeout);
  EXPECT_GE(std::chrono::system_clock::now(), deadline);  // never early by the caller's clock
  const auto past = std::chrono::system_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(s.wait_until(past), std::future_status::timeout);
  p.set_value(1);
  EXPECT_EQ(s.wait_until(past), std::future_status::ready);
  EXPECT_EQ(t.wait_until(std::chrono::steady_clock::now() - std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_EQ(s.get(), 1);  // not consumed
}

TEST(SharedFuture, WaitUntilFollowsTheCallersClockNotSteadyTime) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  manual_clock::set(0);
  std::atomic<bool> reached{false};
  weft_test::joining_thread mover([&] {
    // 5 ms are left by manual_clock, which stands still for ten times that.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reached = true;
    manual_clock::set(5);
  });
  EXPECT_EQ(s.wait_until(manual_clock::at(5)), std::future_status::timeout);
  EXPECT_TRUE(reached.load());  // it did not time out before manual_clock said so
  mover.join();
  p.set_value(2);
  EXPECT_EQ(s.wait_until(manual_clock::at(0)), std::future_status::ready);
}

TEST(SharedFuture, WaitUntilOnAnyClockWakesEveryWaitingCopy) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  manual_clock::set(0);
  std::atomic<int> ready{0};
  weft_test::latch started(4);
  std::vector<weft_test::joining_thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([s, &ready, &started] {  // each thread waits on its own copy
      started.count_down();
      if (s.wait_until(manual_clock::at(1)) == std::future_status::ready) ready.fetch_add(1);
    });
  }
  waiters.emplace_back([s, &ready, &started] {
    started.count_down();
    if (s.wait_until(std::chrono::system_clock::time_point::max()) == std::future_status::ready) ready.fetch_add(1);
  });
  ASSERT_TRUE(started.wait_within());
  p.set_value(3);
  for (auto& w : waiters) w.join();
  EXPECT_EQ(ready.load(), 4);
}

TEST(SharedFuture, TimedOutWaitersDoNotLingerInTheWaiterList) {
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(s.wait_for(std::chrono::microseconds(50)), std::future_status::timeout);
  // A stale waiter left behind would be fired on a dead stack frame: ASan
  // (and a crash) would say so here.
  p.set_value(1);
  EXPECT_EQ(s.get(), 1);
}

TEST(SharedFuture, DroppedUnobservedErrorIsReportedOnce) {
  error_capture errors;
  {
    weft::promise<int> p(weft::inline_executor());
    weft::shared_future<int> a = p.get_future().share();
    weft::shared_future<int> b = a;
    p.set_exception(std::make_exception_ptr(std::runtime_error("nobody read me")));
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "nobody read me");
}

TEST(SharedFuture, ObservedErrorIsNotReported) {
  error_capture errors;
  {
    weft::promise<int> p(weft::inline_executor());
    weft::shared_future<int> a = p.get_future().share();
    p.set_exception(std::make_exception_ptr(std::runtime_error("read")));
    EXPECT_THROW(a.get(), std::runtime_error);
  }
  EXPECT_EQ(errors.count(), 0u);
}

class SharedFutureThreads : public ::testing::TestWithParam<std::size_t> {};

TEST_P(SharedFutureThreads, ManyThreadsBlockedInGetAllWake) {
  const std::size_t n = GetParam();
  weft::promise<int> p(weft::inline_executor());
  weft::shared_future<int> s = p.get_future().share();
  weft_test::latch started(static_cast<std::ptrdiff_t>(n));
  std::atomic<int> sum{0};
  {
    std::vector<weft_test::joining_thread> readers;
    for (std::size_t i = 0; i < n; ++i) {
      readers.emplace_back([&, s] {  // each reader holds its own copy
        started.count_down();
        sum.fetch_add(get_within(s));
      });
    }
    ASSERT_TRUE(started.wait_within());
    p.set_value(5);
  }
  EXPECT_EQ(sum.load(), static_cast<int>(5 * n));
}

TEST_P(SharedFutureThreads, ContinuationsAttachedConcurrentlyWithSetValueEachRunOnce) {
  weft::thread_pool pool(GetParam());
  for (int round = 0; round < 50; ++round) {
    weft::promise<int> p(pool);
    weft::shared_future<int> s = p.get_future().share();
    std::atomic<int> runs{0};
    std::vector<weft::future<void>> outs(64);
    weft_test::spin_barrier start(2);
    {
      weft_test::joining_thread attacher([&] {
        start.arrive_and_wait();
        for (auto& o : outs) o = s.then([&runs](int v) { runs.fetch_add(v); });
      });
      start.arrive_and_wait();
      p.set_value(1);
    }
    for (auto& o : outs) get_within(o);
    ASSERT_EQ(runs.load(), 64) << "round " << round;
  }
}

TEST_P(SharedFutureThreads, GetOnPoolWorkersDoesNotStarveThePool) {
  weft::thread_pool pool(GetParam());
  weft::promise<int> p(pool);
  weft::shared_future<int> s = p.get_future().share();
  std::vector<weft::future<int>> readers;
  for (std::size_t i = 0; i < 2 * GetParam(); ++i) {
    readers.push_back(weft::async(pool, [s] { return s.get(); }));
  }
  // The value is produced by a task queued behind every reader.
  auto producer = weft::async(pool, [&p] { p.set_value(4); });
  get_within(producer);
  for (auto& r : readers) EXPECT_EQ(get_within(r), 4);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SharedFutureThreads, ::testing::Values(1, 2, 4, 8));

}  // namespace
