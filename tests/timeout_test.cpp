// with_timeout() and timeout(): a future raced against a timer. Driven by
// a manual clock and a manual executor, so nothing sleeps; the race test
// uses real threads and checks that exactly one side wins.
#include "weft/timeout.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::manual_executor;

struct manual_timers {
  weft::manual_clock clk;
  manual_executor ex;
  weft::timer_service svc{clk, ex};  // last: destroyed first
};

TEST(WithTimeout, ValueInTimeIsGivenAndTheTimerIsCancelled) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 10ms);
  EXPECT_EQ(t.svc.pending(), 1u);
  p.set_value(7);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  boost::optional<int> v = f.get();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 7);
  EXPECT_EQ(t.svc.pending(), 0u) << "a completion in time leaves no timer behind";
  t.clk.advance(1s);
  EXPECT_EQ(t.ex.run_all(), 0u) << "the cancelled timer never runs";
}

TEST(WithTimeout, TimeRunningOutGivesNoneNeverEarly) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 10ms);
  t.clk.advance(9ms);
  t.ex.run_all();
  EXPECT_FALSE(f.is_ready()) << "not before the deadline";
  t.clk.advance(1ms);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_FALSE(f.get());
  p.set_value(1);  // late: dropped, no second outcome
  t.ex.run_all();
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(WithTimeout, AnErrorInTimeIsTheResultsError) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 10ms);
  p.set_exception(std::make_exception_ptr(std::runtime_error("down")));
  t.ex.run_all();
  EXPECT_THROW(f.get(), std::runtime_error);
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(WithTimeout, AReadyFutureGivesItsValueEvenWithAZeroTimeout) {
  manual_timers t;
  auto f = weft::with_timeout(t.svc, weft::make_ready_future(5, t.ex), 0ms);
  EXPECT_EQ(t.svc.pending(), 0u) << "nothing armed for a ready future";
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(*f.get(), 5);
}

TEST(WithTimeout, ZeroTimeoutOnAPendingFutureTimesOutWithoutAnAdvance) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 0ms);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_FALSE(f.get());
}

TEST(WithTimeout, VoidGivesTrueInTimeAndFalseLate) {
  manual_timers t;
  weft::promise<void> in_time(t.ex), late(t.ex);
  auto a = weft::with_timeout(t.svc, in_time.get_future(), 10ms);
  auto b = weft::with_timeout(t.svc, late.get_future(), 10ms);
  in_time.set_value();
  t.clk.advance(10ms);
  t.ex.run_all();
  EXPECT_TRUE(a.get());
  EXPECT_FALSE(b.get());
}

TEST(WithTimeout, ATimeOutCancelsTheWorksSource) {
  manual_timers t;
  weft::cancellation_source work;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 5ms, work);
  t.clk.advance(5ms);
  t.ex.run_all();
  EXPECT_FALSE(f.get());
  EXPECT_TRUE(work.is_cancelled());
}

TEST(WithTimeout, ACompletionInTimeLeavesTheWorksSourceAlone) {
  manual_timers t;
  weft::cancellation_source work;
  weft::promise<int> p(t.ex);
  auto f = weft::with_timeout(t.svc, p.get_future(), 5ms, work);
  p.set_value(1);
  t.ex.run_all();
  t.clk.advance(1s);
  t.ex.run_all();
  EXPECT_EQ(*f.get(), 1);
  EXPECT_FALSE(work.is_cancelled());
}

TEST(WithTimeout, InvalidFutureIsNoState) {
  manual_timers t;
  weft::future<int> empty;
  EXPECT_THROW(weft::with_timeout(t.svc, std::move(empty), 1ms), weft::future_error);
}

TEST(Timeout, LateFailsWithTimeoutErrorNotCancelled) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::timeout(t.svc, p.get_future(), 3ms);
  t.clk.advance(3ms);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  try {
    f.get();
    ADD_FAILURE() << "no error";
  } catch (const weft::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("deadline"), std::string::npos);
  }
}

TEST(Timeout, InTimePassesTheOutcomeOn) {
  manual_timers t;
  weft::promise<std::string> p(t.ex);
  weft::promise<void> v(t.ex);
  auto f = weft::timeout(t.svc, p.get_future(), 3ms);
  auto g = weft::timeout(t.svc, v.get_future(), 3ms);
  p.set_value("in time");
  v.set_value();
  t.ex.run_all();
  EXPECT_EQ(f.get(), "in time");
  EXPECT_NO_THROW(g.get());
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(Timeout, ShutdownOfTheServiceFailsAPendingTimeoutClearly) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  auto f = weft::timeout(t.svc, p.get_future(), 1h);
  t.svc.shutdown();
  t.ex.run_all();
  // The timer's task was abandoned; the race is still open, so the
  // future's own completion decides.
  p.set_value(3);
  t.ex.run_all();
  EXPECT_EQ(f.get(), 3);
}

// A completion and a time-out at the same instant, on real threads: one
// outcome, and no timer left behind.
TEST(Timeout, CompletionRacingTheTimerGivesOneOutcomeAndNoTimerLeft) {
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  const int rounds = static_cast<int>(weft_test::scaled(2000, 200));
  int in_time = 0, late = 0;
  for (int i = 0; i < rounds; ++i) {
    weft::promise<int> p(pool);
    auto f = weft::with_timeout(svc, p.get_future(), std::chrono::microseconds(i % 50));
    weft::async(pool, [q = std::move(p)]() mutable { q.set_value(1); });
    boost::optional<int> r = weft_test::get_within(f);
    (r ? in_time : late) += 1;
  }
  EXPECT_EQ(in_time + late, rounds);
  // A won completion cancelled its timer before it set the result; a
  // timer that fired was handed over before its task decided.
  EXPECT_EQ(svc.pending(), 0u);
}

}  // namespace
