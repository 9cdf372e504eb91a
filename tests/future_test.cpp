// future<T>: get, wait, wait_for, is_ready, valid, via, share, and the
// errors they raise; make_ready_future / make_exceptional_future.
#include "weft/future.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

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

using weft_test::future_error_reason;

TEST(Future, DefaultConstructedFutureIsInvalid) {
  weft::future<int> f;
  EXPECT_FALSE(f.valid());
}

TEST(Future, GetOnAnInvalidFutureThrowsNoState) {
  weft::future<int> f;
  EXPECT_EQ(future_error_reason([&] { f.get(); }), weft::future_errc::no_state);
  weft::future<void> v;
  EXPECT_EQ(future_error_reason([&] { v.get(); }), weft::future_errc::no_state);
}

TEST(Future, EveryOperationOnAnInvalidFutureThrowsNoState) {
  weft::future<int> f;
  EXPECT_EQ(future_error_reason([&] { (void)f.is_ready(); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { f.wait(); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.wait_for(std::chrono::milliseconds(1)); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.then([](int) {}); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.then_result([](weft::result<int>) {}); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.finally([] {}); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.via(weft::inline_executor()); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.share(); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { (void)f.get_executor(); }), weft::future_errc::no_state);
}

TEST(Future, GetReturnsTheValueAndConsumesTheFuture) {
  auto f = weft::make_ready_future(42, weft::inline_executor());
  ASSERT_TRUE(f.valid());
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 42);
  EXPECT_FALSE(f.valid());
  EXPECT_EQ(future_error_reason([&] { f.get(); }), weft::future_errc::no_state);
}

TEST(Future, MakeReadyFutureOfVoidIsReady) {
  auto f = weft::make_ready_future(weft::inline_executor());
  EXPECT_TRUE(f.is_ready());
  EXPECT_NO_THROW(f.get());
}

TEST(Future, MakeReadyFutureOfADerivedExecutorIsAVoidFutureOnIt) {
  weft_test::manual_executor ex;
  weft::future<void> f = weft::make_ready_future(ex);
  static_assert(std::is_same<decltype(weft::make_ready_future(ex)), weft::future<void>>::value,
                "a pool or manual_executor passed as itself is the executor, not a value");
  bool ran = false;
  auto g = std::move(f).then([&] { ran = true; });
  EXPECT_FALSE(ran) << "the continuation is queued on ex";
  ex.run_all();
  EXPECT_TRUE(ran);
  g.get();
}

TEST(Future, MakeReadyFutureDecaysItsArgument) {
  const std::string s = "text";
  weft::future<std::string> f = weft::make_ready_future(s, weft::inline_executor());
  EXPECT_EQ(f.get(), "text");
}

TEST(Future, MakeReadyFutureRemembersItsExecutor) {
  manual_executor ex;
  auto f = weft::make_ready_future(1, ex);
  EXPECT_EQ(&f.get_executor(), &ex);
}

TEST(Future, MakeExceptionalFutureRethrowsOnGet) {
  auto f = weft::make_exceptional_future<int>(std::runtime_error("nope"), weft::inline_executor());
  EXPECT_TRUE(f.is_ready());
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "nope");
  }
}

TEST(Future, MakeExceptionalFutureRejectsANullExceptionPointer) {
  EXPECT_THROW(weft::make_exceptional_future<int>(std::exception_ptr()), std::invalid_argument);
}

TEST(Future, GetMovesAMoveOnlyValueOut) {
  weft::promise<std::unique_ptr<int>> p(weft::inline_executor());
  auto f = p.get_future();
  p.set_value(std::make_unique<int>(9));
  std::unique_ptr<int> v = f.get();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 9);
}

TEST(Future, GetBlocksUntilAnotherThreadSetsTheValue) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  weft_test::gate go;
  weft_test::joining_thread producer([&] {
    ASSERT_TRUE(go.wait_within());
    p.set_value(5);
  });
  EXPECT_FALSE(f.is_ready());
  go.open();
  EXPECT_EQ(get_within(f), 5);
  producer.join();
}

TEST(Future, ProducerWritesHappenBeforeGetReturns) {
  // Plain (non-atomic) data written before set_value is visible after get();
  // TSan checks the ordering, the assertion checks the value.
  for (int round = 0; round < 200; ++round) {
    weft::promise<void> p(weft::inline_executor());
    auto f = p.get_future();
    std::vector<int> data;
    weft_test::joining_thread producer([&] {
      data.assign(64, round);
      p.set_value();
    });
    get_within(f);
    ASSERT_EQ(data.size(), 64u);
    EXPECT_EQ(data[63], round);
    producer.join();
  }
}

TEST(Future, WaitDoesNotConsumeTheFuture) {
  auto f = weft::make_ready_future(3, weft::inline_executor());
  f.wait();
  EXPECT_TRUE(f.valid());
  EXPECT_EQ(f.get(), 3);
}

TEST(Future, WaitReturnsOnceAnotherThreadSetsTheValue) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  weft_test::joining_thread producer([&] { p.set_value(8); });
  weft_test::watchdog wd(20, "Future.WaitReturnsOnceAnotherThreadSetsTheValue wait()");
  f.wait();
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 8);
  producer.join();
}

TEST(Future, WaitForTimesOutOnAPendingFuture) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  EXPECT_TRUE(f.valid());
  p.set_value(1);
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get(), 1);
}

TEST(Future, WaitForTreatsANegativeDurationAsZero) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(-5)), std::future_status::timeout);
  p.set_value(1);
  EXPECT_EQ(f.wait_for(std::chrono::seconds(-5)), std::future_status::ready);
}

TEST(Future, WaitUntilAPastDeadlineReportsReadiness) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  const auto past = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(f.wait_until(past), std::future_status::timeout);
  p.set_value(1);
  EXPECT_EQ(f.wait_until(past), std::future_status::ready);
}

TEST(Future, WaitUntilTakesASystemClockDeadline) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(20);
  EXPECT_EQ(f.wait_until(deadline), std::future_status::timeout);
  EXPECT_GE(std::chrono::system_clock::now(), deadline);  // never early by the caller's clock
  const auto past = std::chrono::system_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(f.wait_until(past), std::future_status::timeout);
  p.set_value(1);
  EXPECT_EQ(f.wait_until(past), std::future_status::ready);
  EXPECT_EQ(f.get(), 1);
}

TEST(Future, WaitUntilOnASystemClockReturnsReadyWhenSetDuringTheWait) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  weft_test::joining_thread producer([&] { p.set_value(12); });
  // The farthest deadline there is: a step must not overflow steady_clock.
  EXPECT_EQ(f.wait_until(std::chrono::system_clock::time_point::max()), std::future_status::ready);
  EXPECT_EQ(f.get(), 12);
  producer.join();
}

TEST(Future, WaitUntilFollowsTheCallersClockNotSteadyTime) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  manual_clock::set(100);
  std::atomic<bool> reached{false};
  weft_test::joining_thread mover([&] {
    // 5 ms are left by manual_clock, which stands still for ten times that
    // in steady time, jumps back, and only then reaches the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    manual_clock::set(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    reached = true;
    manual_clock::set(105);
  });
  EXPECT_EQ(f.wait_until(manual_clock::at(105)), std::future_status::timeout);
  EXPECT_TRUE(reached.load());  // it did not time out before manual_clock said so
  mover.join();
  p.set_value(2);
  EXPECT_EQ(f.wait_until(manual_clock::at(0)), std::future_status::ready);
}

TEST(Future, WaitUntilOnAStandingClockReturnsReadyWhenSetDuringTheWait) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  manual_clock::set(0);
  weft_test::joining_thread producer([&] { p.set_value(13); });
  EXPECT_EQ(f.wait_until(manual_clock::at(1)), std::future_status::ready);
  EXPECT_EQ(f.get(), 13);
  producer.join();
}

TEST(Future, WaitForReturnsReadyWhenSetDuringTheWait) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  weft_test::joining_thread producer([&] { p.set_value(11); });
  EXPECT_EQ(f.wait_for(weft_test::bound(20)), std::future_status::ready);
  EXPECT_EQ(f.get(), 11);
  producer.join();
}

TEST(Future, RepeatedTimedWaitsThenAWakeAllWork) {
  // A waiter that gave up must leave the slot free for the next one.
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.wait_for(std::chrono::milliseconds(1)), std::future_status::timeout);
  weft_test::joining_thread producer([&] { p.set_value(2); });
  EXPECT_EQ(get_within(f), 2);
  producer.join();
}

TEST(Future, MoveTransfersTheState) {
  auto f = weft::make_ready_future(1, weft::inline_executor());
  weft::future<int> g(std::move(f));
  EXPECT_FALSE(f.valid());
  ASSERT_TRUE(g.valid());
  weft::future<int> h;
  h = std::move(g);
  EXPECT_FALSE(g.valid());
  EXPECT_EQ(h.get(), 1);
}

TEST(Future, ViaChangesTheExecutorOfLaterContinuations) {
  manual_executor a, b;
  weft::promise<int> p(a);
  auto f = p.get_future().via(b);
  EXPECT_EQ(&f.get_executor(), &b);
  int seen = 0;
  auto g = f.then([&](int v) { seen = v; });
  p.set_value(4);
  EXPECT_EQ(a.pending(), 0u);
  EXPECT_EQ(b.run_all(), 1u);
  EXPECT_EQ(seen, 4);
}

TEST(Future, ShareConsumesTheFuture) {
  auto f = weft::make_ready_future(6, weft::inline_executor());
  weft::shared_future<int> s = f.share();
  EXPECT_FALSE(f.valid());
  EXPECT_EQ(s.get(), 6);
}

TEST(Future, DroppingAFailedFutureReportsTheErrorOnce) {
  error_capture errors;
  auto e = std::make_exception_ptr(std::runtime_error("dropped"));
  {
    auto f = weft::make_exceptional_future<int>(e, weft::inline_executor());
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.errors()[0], e);
}

TEST(Future, GettingAFailedFutureIsObservingIt) {
  error_capture errors;
  {
    auto f = weft::make_exceptional_future<int>(std::runtime_error("seen"), weft::inline_executor());
    EXPECT_THROW(f.get(), std::runtime_error);
  }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Future, WaitingOnAFailedFutureIsNotObservingIt) {
  error_capture errors;
  {
    weft::promise<int> p(weft::inline_executor());
    auto f = p.get_future();
    weft_test::joining_thread producer([&] { p.set_exception(std::make_exception_ptr(std::runtime_error("waited"))); });
    EXPECT_TRUE(weft_test::ready_within(f));
    producer.join();
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "waited");
}

TEST(Future, DroppingASuccessfulFutureReportsNothing) {
  error_capture errors;
  { auto f = weft::make_ready_future(1, weft::inline_executor()); }
  { auto f = weft::make_ready_future(weft::inline_executor()); }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Future, DroppingAPendingFutureLetsTheProducerFinishWithoutReport) {
  error_capture errors;
  weft::promise<int> p(weft::inline_executor());
  { auto f = p.get_future(); }
  p.set_value(1);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Future, DroppedFailedFutureFromAPoolTaskIsReportedExactlyOnce) {
  error_capture errors;
  weft::thread_pool pool(2);
  {
    auto f = weft::async(pool, []() -> int { throw std::logic_error("task failed"); });
    ASSERT_TRUE(weft_test::ready_within(f));
  }
  pool.shutdown();  // every task of the pool has finished: no report can be pending
  ASSERT_TRUE(errors.wait_for_count(1));
  EXPECT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "task failed");
}

}  // namespace
