// event: a set before anyone waits is not lost, set() wakes every waiter
// once, clear(), cancellation and time-outs, destruction with waiters.
// Futures are bound to a manual_executor, so "not inline on the thread
// that called set()" is a plain assertion.
#include "weft/event.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "outcome.hpp"
#include "weft/cancellation.hpp"
#include "weft/clock.hpp"
#include "weft/errors.hpp"
#include "weft/timeout.hpp"
#include "weft/timer.hpp"

namespace {

using weft_test::error_of;
using weft_test::manual_executor;

TEST(Event, ASetBeforeAnyoneWaitsIsNotLost) {
  manual_executor ex;
  weft::event e(ex);
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  weft::future<void> f = e.wait();
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(e.waiting(), 0u);
}

TEST(Event, SetWakesEveryWaiterOnceOnTheEventsExecutor) {
  manual_executor ex;
  weft::event e(ex);
  std::vector<int> runs(4, 0);
  std::vector<weft::future<void>> done;
  for (int i = 0; i < 4; ++i) done.push_back(e.wait().then([&runs, i] { ++runs[i]; }));
  EXPECT_EQ(e.waiting(), 4u);
  e.set();
  EXPECT_EQ(e.waiting(), 0u);
  EXPECT_EQ(runs, std::vector<int>(4, 0));  // set() ran none of them
  e.set();                                  // a second set() wakes nobody twice
  ex.run_all();
  EXPECT_EQ(runs, std::vector<int>(4, 1));
  for (auto& f : done) EXPECT_TRUE(f.is_ready());
}

TEST(Event, ClearMakesLaterWaitsWait) {
  manual_executor ex;
  weft::event e(ex);
  e.set();
  e.clear();
  EXPECT_FALSE(e.is_set());
  weft::future<void> f = e.wait();
  EXPECT_FALSE(f.is_ready());
  e.set();
  EXPECT_TRUE(f.is_ready());
}

TEST(Event, AClearAfterSetLeavesTheWokenWaitersWoken) {
  manual_executor ex;
  weft::event e(ex);
  weft::future<void> f = e.wait();
  e.set();
  e.clear();
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "no error");
}

TEST(Event, ACancelledWaitFailsAndLeavesTheList) {
  manual_executor ex;
  weft::event e(ex);
  weft::cancellation_source src;
  weft::cancellation_token tok = src.token();
  weft::future<void> f = e.wait(tok);
  weft::future<void> other = e.wait();
  EXPECT_EQ(tok.registered_callbacks(), 1u);
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::event::wait: cancelled before the event was set");
  EXPECT_EQ(tok.registered_callbacks(), 0u);
  EXPECT_EQ(e.waiting(), 1u);
  EXPECT_FALSE(other.is_ready());
  e.set();
  EXPECT_TRUE(other.is_ready());
}

TEST(Event, ATokenCancelledAlreadyFailsAtOnceEvenWhenSet) {
  manual_executor ex;
  weft::event e(ex);
  e.set();
  weft::cancellation_source src;
  src.cancel();
  weft::future<void> f = e.wait(src.token());
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::event::wait: cancelled before the event was set");
}

TEST(Event, AWokenWaitIgnoresALaterCancel) {
  manual_executor ex;
  weft::event e(ex);
  weft::cancellation_source src;
  weft::future<void> f = e.wait(src.token());
  e.set();
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "no error");
}

TEST(Event, ATimedOutWaitLeavesTheList) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::event e(ex);
  weft::cancellation_source src;
  weft::future<void> f = weft::timeout(svc, e.wait(src.token()), std::chrono::seconds(5), src);
  clk.advance(std::chrono::seconds(5));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  EXPECT_EQ(e.waiting(), 0u);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Event, WithTimeoutSaysTrueWhenSetInTime) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::event e(ex);
  weft::future<bool> f = weft::with_timeout(svc, e.wait(), std::chrono::seconds(5));
  clk.advance(std::chrono::seconds(4));
  e.set();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get());
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Event, DestroyingItFailsItsWaitersWithExecutorShutdown) {
  manual_executor ex;
  weft::future<void> f;
  {
    weft::event e(ex);
    f = e.wait();
  }
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(f), "weft::event: destroyed while this wait() was waiting");
}

}  // namespace
