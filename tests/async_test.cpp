// async(ex, f): runs f on ex, returns a future for its result.
#include "weft/async.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_executor;

TEST(Async, DoesNotRunBeforeTheExecutorRunsIt) {
  manual_executor ex;
  bool ran = false;
  auto f = weft::async(ex, [&] {
    ran = true;
    return 1;
  });
  EXPECT_FALSE(ran);
  EXPECT_FALSE(f.is_ready());
  EXPECT_EQ(ex.run_all(), 1u);
  EXPECT_TRUE(ran);
  EXPECT_EQ(f.get(), 1);
}

TEST(Async, FutureOfVoidCompletes) {
  manual_executor ex;
  int x = 0;
  weft::future<void> f = weft::async(ex, [&] { x = 1; });
  ex.run_all();
  EXPECT_NO_THROW(f.get());
  EXPECT_EQ(x, 1);
}

TEST(Async, ReturnsMoveOnlyValues) {
  auto f = weft::async(weft::inline_executor(), [] { return std::make_unique<std::string>("owned"); });
  EXPECT_EQ(*f.get(), "owned");
}

TEST(Async, AcceptsMoveOnlyCallables) {
  auto p = std::make_unique<int>(5);
  auto f = weft::async(weft::inline_executor(), [p = std::move(p)] { return *p; });
  EXPECT_EQ(f.get(), 5);
}

TEST(Async, ExceptionFromTheCallableLandsInTheFuture) {
  error_capture errors;
  auto f = weft::async(weft::inline_executor(), []() -> int { throw std::out_of_range("inside"); });
  EXPECT_THROW(f.get(), std::out_of_range);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Async, ReturnedFutureIsUnwrapped) {
  manual_executor ex;
  weft::promise<int> inner(ex);
  weft::future<int> f = weft::async(ex, [&] { return inner.get_future(); });
  ex.run_all();
  EXPECT_FALSE(f.is_ready());
  inner.set_value(12);
  ex.run_all();
  EXPECT_EQ(f.get(), 12);
}

TEST(Async, UnwrappedInnerErrorPropagates) {
  weft::future<int> f = weft::async(weft::inline_executor(), [] {
    return weft::make_exceptional_future<int>(std::runtime_error("inner"), weft::inline_executor());
  });
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(Async, ReturningAnInvalidFutureFailsWithNoState) {
  weft::future<int> f = weft::async(weft::inline_executor(), [] { return weft::future<int>(); });
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
}

TEST(Async, CallableIsDestroyedBeforeTheResultIsPublished) {
  struct probe {
    std::shared_ptr<std::atomic<bool>> destroyed;
    ~probe() {
      if (destroyed) destroyed->store(true);
    }
    probe(std::shared_ptr<std::atomic<bool>> d) : destroyed(std::move(d)) {}
    probe(probe&&) = default;
  };
  weft::thread_pool pool(2);
  for (int i = 0; i < 100; ++i) {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    auto f = weft::async(pool, [pr = probe(flag)] { return 1; });
    get_within(f);
    ASSERT_TRUE(flag->load()) << "round " << i;
  }
}

TEST(Async, ContinuationsDefaultToTheSameExecutor) {
  manual_executor ex;
  auto f = weft::async(ex, [] { return 2; });
  EXPECT_EQ(&f.get_executor(), &ex);
  auto g = std::move(f).then([](int v) { return v + 1; });
  EXPECT_EQ(ex.run_all(), 2u);
  EXPECT_EQ(g.get(), 3);
}

TEST(Async, RunsOnThePoolItWasGiven) {
  weft::thread_pool pool(2);
  auto f = weft::async(pool, [&pool] { return pool.running_in_this_thread(); });
  EXPECT_TRUE(get_within(f));
}

TEST(Async, OnAShutDownPoolThrowsExecutorShutdownAndReportsNothing) {
  error_capture errors;
  weft::thread_pool pool(1);
  pool.shutdown();
  bool ran = false;
  EXPECT_THROW(weft::async(pool, [&] { ran = true; }), weft::executor_shutdown);
  EXPECT_FALSE(ran);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Async, OnAShutDownPoolDestroysTheCallable) {
  weft::thread_pool pool(1);
  pool.shutdown();
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  EXPECT_THROW(weft::async(pool, [token] { return *token; }), weft::executor_shutdown);
  token.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(Async, DroppedByItsExecutorFailsTheFuture) {
  auto ex = std::make_unique<manual_executor>();
  auto f = weft::async(*ex, [] { return 1; });
  ex.reset();  // abandons the queued task
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::executor_shutdown);
}

TEST(Async, TaskDestroyedWithoutRunOrAbandonBreaksThePromise) {
  // An executor that just drops the unique_task: the future must still resolve.
  struct dropping_executor final : weft::executor {
    void execute(weft::unique_task) override {}
  } ex;
  auto f = weft::async(ex, [] { return 1; });
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::broken_promise);
}

class AsyncOnPool : public ::testing::TestWithParam<std::size_t> {};

TEST_P(AsyncOnPool, ManyCallsAllResolveWithTheirOwnValues) {
  weft::thread_pool pool(GetParam());
  std::vector<weft::future<int>> fs;
  for (int i = 0; i < 10000; ++i) fs.push_back(weft::async(pool, [i] { return i * 2; }));
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(get_within(fs[i]), i * 2);
}

TEST_P(AsyncOnPool, AsyncFromInsideATaskRuns) {
  weft::thread_pool pool(GetParam());
  auto f = weft::async(pool, [&pool] { return weft::async(pool, [&pool] { return pool.running_in_this_thread(); }); });
  EXPECT_TRUE(get_within(f));
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, AsyncOnPool, ::testing::Values(1, 2, 4, 8));

}  // namespace
