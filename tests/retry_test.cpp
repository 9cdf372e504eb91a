// retry(fn, policy) and retry_backoff: every attempt on a manual clock and
// a manual executor, so each backoff is an advance of the clock and each
// attempt a task the test runs; nothing sleeps.
#include "weft/retry.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "small_stack.hpp"
#include "watchdog.hpp"
#include "witness.hpp"
#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/promise.hpp"
#include "weft/testing.hpp"

namespace {

using namespace std::chrono_literals;
using weft::clock;
using weft::retry_jitter;
using weft::retry_policy;
using weft_test::manual_executor;

struct manual_timers {
  weft::manual_clock clk;
  manual_executor ex;
  weft::timer_service svc{clk, ex};  // last: destroyed first

  // A policy that waits on this clock and calls on this executor, with
  // exact delays unless a test says otherwise.
  retry_policy policy(int attempts, clock::duration base, clock::duration cap = 1h) {
    retry_policy p;
    p.max_attempts = attempts;
    p.base_delay = base;
    p.max_delay = cap;
    p.jitter = retry_jitter::none;
    p.timers = &svc;
    p.ex = &ex;
    return p;
  }

  // Runs what is queued, then moves the clock to the next timer, until `f`
  // is ready or nothing is left to do.
  template <class Future>
  void drive(const Future& f) {
    for (;;) {
      ex.run_all();
      if (f.is_ready()) return;
      const clock::time_point next = svc.next_deadline();
      if (next == clock::time_point::max()) return;
      clk.advance_to(next);
    }
  }

  clock::duration since_start() const { return clk.now().time_since_epoch(); }
};

// A failure of the kind a flaky service gives, numbered by the call.
std::runtime_error unavailable(int call) { return std::runtime_error("503 on call " + std::to_string(call)); }

// fn for the tests: fails its first `failures` calls, then returns 42;
// counts its calls and records when each was made.
struct flaky {
  flaky(int f, const weft::manual_clock& c) : failures(f), clk(&c) {}
  int failures;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::vector<clock::duration>> at = std::make_shared<std::vector<clock::duration>>();
  const weft::manual_clock* clk;

  int operator()() const {
    const int n = ++*calls;
    at->push_back(clk->now().time_since_epoch());
    if (n <= failures) throw unavailable(n);
    return 42;
  }
};

template <class E, class Future>
E error_of(Future& f) {
  try {
    f.get();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the wrong error: " << e.what();
    throw;
  }
  ADD_FAILURE() << "no error";
  throw std::logic_error("no error");
}

// ---- the happy paths -------------------------------------------------------

TEST(Retry, AFirstSuccessIsTheValueWithOneCallOnTheExecutor) {
  manual_timers t;
  flaky fn(0, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(5, 10ms));
  EXPECT_EQ(*fn.calls, 0) << "fn is called on the executor, not inside retry()";
  EXPECT_EQ(t.ex.pending(), 1u);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(*fn.calls, 1);
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(Retry, TheKthRetrySucceedingMakesExactlyKPlusOneCalls) {
  for (int k = 0; k < 6; ++k) {
    manual_timers t;
    flaky fn(k, t.clk);
    weft::future<int> f = weft::retry(fn, t.policy(10, 1ms));
    t.drive(f);
    ASSERT_TRUE(f.is_ready()) << k;
    EXPECT_EQ(f.get(), 42);
    EXPECT_EQ(*fn.calls, k + 1) << "k = " << k;
    EXPECT_EQ(t.svc.pending(), 0u);
  }
}

TEST(Retry, WithoutJitterTheDelaysAreBaseTimesTwoToTheNCapped) {
  manual_timers t;
  flaky fn(5, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(6, 100ms, 350ms));
  t.ex.run_all();
  EXPECT_EQ(*fn.calls, 1);
  // Never early: one nanosecond before each backoff ends, no call.
  const std::vector<clock::duration> delays = {100ms, 200ms, 350ms, 350ms, 350ms};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    t.clk.advance(delays[i] - 1ns);
    t.ex.run_all();
    EXPECT_EQ(*fn.calls, static_cast<int>(i) + 1) << "retry " << i << " came early";
    t.clk.advance(1ns);
    t.ex.run_all();
    EXPECT_EQ(*fn.calls, static_cast<int>(i) + 2) << "retry " << i << " is late";
  }
  const std::vector<clock::duration> expected = {0ms, 100ms, 300ms, 650ms, 1000ms, 1350ms};
  EXPECT_EQ(*fn.at, expected);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 42);
}

TEST(Retry, AFunctionReturningFuturesIsRetriedOnTheirErrors) {
  manual_timers t;
  std::vector<weft::promise<std::string>> replies;
  int calls = 0;
  weft::future<std::string> f = weft::retry(
      [&] {
        ++calls;
        replies.emplace_back(t.ex);
        return replies.back().get_future();
      },
      t.policy(3, 10ms));
  t.ex.run_all();
  ASSERT_EQ(calls, 1);
  replies[0].set_exception(std::make_exception_ptr(unavailable(1)));
  t.ex.run_all();
  EXPECT_EQ(t.svc.pending(), 1u) << "a failed future starts a backoff";
  t.clk.advance(10ms);
  t.ex.run_all();
  ASSERT_EQ(calls, 2);
  EXPECT_FALSE(f.is_ready()) << "waits for the second call's future";
  replies[1].set_value("ok");
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), "ok");
}

TEST(Retry, VoidFunctionsAndFutureVoid) {
  manual_timers t;
  int calls = 0;
  weft::future<void> a = weft::retry(
      [&] {
        if (++calls < 3) throw unavailable(calls);
      },
      t.policy(3, 1ms));
  t.drive(a);
  ASSERT_TRUE(a.is_ready());
  EXPECT_NO_THROW(a.get());
  EXPECT_EQ(calls, 3);

  int future_calls = 0;
  weft::future<void> b = weft::retry(
      [&]() -> weft::future<void> {
        if (++future_calls < 2) return weft::make_exceptional_future<void>(unavailable(future_calls), t.ex);
        return weft::make_ready_future(static_cast<weft::executor&>(t.ex));
      },
      t.policy(3, 1ms));
  t.drive(b);
  ASSERT_TRUE(b.is_ready());
  EXPECT_NO_THROW(b.get());
  EXPECT_EQ(future_calls, 2);
}

TEST(Retry, AnEmptyFutureFromFnIsAFailedAttempt) {
  manual_timers t;
  int calls = 0;
  weft::future<int> f = weft::retry(
      [&] {
        ++calls;
        return weft::future<int>();
      },
      t.policy(2, 1ms));
  t.drive(f);
  EXPECT_EQ(calls, 2);
  weft::retry_error e = error_of<weft::retry_error>(f);
  EXPECT_THROW(std::rethrow_exception(e.last_error()), weft::future_error);
}

// ---- running out -----------------------------------------------------------

TEST(Retry, RunningOutFailsWithRetryErrorHoldingTheLastErrorAndTheCount) {
  manual_timers t;
  flaky fn(100, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(4, 5ms));
  t.drive(f);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(*fn.calls, 4);
  const weft::retry_error e = error_of<weft::retry_error>(f);
  EXPECT_EQ(e.attempts(), 4);
  ASSERT_TRUE(e.last_error());
  EXPECT_EQ(weft::describe(e.last_error()), "503 on call 4") << "the last error, not the first";
  const std::string what = e.what();
  EXPECT_NE(what.find("4 attempts"), std::string::npos) << what;
  EXPECT_NE(what.find("503 on call 4"), std::string::npos) << what;
  // Nested, so the standard way of unwrapping works too.
  try {
    std::rethrow_if_nested(e);
    ADD_FAILURE() << "nothing nested";
  } catch (const std::runtime_error& inner) {
    EXPECT_STREQ(inner.what(), "503 on call 4");
  }
  EXPECT_THROW(e.rethrow_nested(), std::runtime_error);
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(Retry, OneAttemptMeansNoRetry) {
  manual_timers t;
  flaky fn(1, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(1, 5ms));
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  const weft::retry_error e = error_of<weft::retry_error>(f);
  EXPECT_EQ(e.attempts(), 1);
  EXPECT_NE(std::string(e.what()).find("1 attempt;"), std::string::npos) << e.what();
  EXPECT_EQ(t.svc.pending(), 0u) << "no backoff after the last attempt";
}

TEST(RetryError, RefusesANullErrorAndACountBelowOne) {
  EXPECT_THROW(weft::retry_error(std::exception_ptr(), 1), std::invalid_argument);
  EXPECT_THROW(weft::retry_error(std::make_exception_ptr(unavailable(1)), 0), std::invalid_argument);
}

// A thousand attempts: the exponent saturates at the cap, the delays never
// overflow (a plain base * 2^999 would).
TEST(Retry, AThousandAttemptsDoNotOverflowTheDelays) {
  manual_timers t;
  flaky fn(1000, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(1000, 1ms, 1h));
  t.drive(f);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(*fn.calls, 1000);
  EXPECT_EQ(error_of<weft::retry_error>(f).attempts(), 1000);
  for (std::size_t i = 1; i < fn.at->size(); ++i) {
    const clock::duration d = (*fn.at)[i] - (*fn.at)[i - 1];
    ASSERT_GT(d, clock::duration::zero()) << i;
    ASSERT_LE(d, clock::duration(1h)) << i;
  }
  EXPECT_EQ(fn.at->back() - (*fn.at)[fn.at->size() - 2], clock::duration(1h)) << "capped";
}

// ---- retry_if --------------------------------------------------------------

TEST(Retry, APredicateSayingNoFailsAtOnceWithTheOriginalError) {
  manual_timers t;
  int calls = 0;
  retry_policy p = t.policy(5, 1ms);
  std::vector<std::string> asked;
  p.retry_if = [&](const std::exception_ptr& e) {
    asked.push_back(weft::describe(e));
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error&) {
      return true;  // transient
    } catch (...) {
      return false;
    }
  };
  weft::future<int> f = weft::retry(
      [&]() -> int {
        if (++calls == 1) throw unavailable(1);
        throw std::logic_error("bad request");
      },
      p);
  t.drive(f);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(calls, 2);
  const std::logic_error e = error_of<std::logic_error>(f);  // not a retry_error
  EXPECT_STREQ(e.what(), "bad request");
  EXPECT_EQ(asked, (std::vector<std::string>{"503 on call 1", "bad request"}));
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(Retry, APredicateThatThrowsFailsTheRetryWithWhatItThrew) {
  manual_timers t;
  retry_policy p = t.policy(5, 1ms);
  p.retry_if = [](const std::exception_ptr&) -> bool { throw std::domain_error("predicate broke"); };
  int calls = 0;
  weft::future<int> f = weft::retry(
      [&]() -> int {
        ++calls;
        throw unavailable(1);
      },
      p);
  t.drive(f);
  EXPECT_EQ(calls, 1);
  EXPECT_STREQ(error_of<std::domain_error>(f).what(), "predicate broke");
}

TEST(Retry, ACancelledErrorFromFnIsNeverRetriedNorShownToThePredicate) {
  manual_timers t;
  retry_policy p = t.policy(5, 1ms);
  int asked = 0;
  p.retry_if = [&](const std::exception_ptr&) {
    ++asked;
    return true;
  };
  int calls = 0;
  weft::future<int> f = weft::retry(
      [&]() -> int {
        ++calls;
        throw weft::cancelled_error("the caller went away");
      },
      p);
  t.drive(f);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(asked, 0);
  EXPECT_STREQ(error_of<weft::cancelled_error>(f).what(), "the caller went away") << "fn's own error, as it is";
}

// ---- cancellation ----------------------------------------------------------

TEST(Retry, CancelDuringABackoffFailsAtOnceCancelsTheTimerAndCallsNoMore) {
  manual_timers t;
  weft::cancellation_source src;
  auto live = std::make_shared<std::atomic<int>>(0);
  flaky fn(100, t.clk);
  retry_policy p = t.policy(5, 1s);
  p.token = src.token();
  weft::future<int> f = weft::retry([fn, w = weft_test::witness(live)] { return fn(); }, p);
  t.ex.run_all();
  ASSERT_EQ(*fn.calls, 1);
  ASSERT_EQ(t.svc.pending(), 1u) << "the backoff's timer";
  EXPECT_EQ(src.token().registered_callbacks(), 1u);
  EXPECT_TRUE(src.cancel());
  ASSERT_TRUE(f.is_ready()) << "at once, not when the backoff would have ended";
  EXPECT_EQ(t.svc.pending(), 0u) << "the timer is cancelled, not left to fire";
  EXPECT_EQ(*live, 0) << "fn was destroyed before the future completed";
  EXPECT_EQ(src.token().registered_callbacks(), 0u) << "the registration is gone with it";
  const weft::cancelled_error e = error_of<weft::cancelled_error>(f);
  EXPECT_STREQ(e.what(), "weft::retry: cancelled");
  t.clk.advance(1h);
  t.ex.run_all();
  EXPECT_EQ(*fn.calls, 1);
}

TEST(Retry, ATokenCancelledAlreadyNeverCallsFn) {
  manual_timers t;
  weft::cancellation_source src;
  src.cancel();
  auto live = std::make_shared<std::atomic<int>>(0);
  int calls = 0;
  retry_policy p = t.policy(5, 1ms);
  p.token = src.token();
  weft::future<int> f = weft::retry(
      [&calls, w = weft_test::witness(live)] {
        ++calls;
        return 1;
      },
      p);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(*live, 0);
  t.drive(f);
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(f.get(), weft::cancelled_error);
}

TEST(Retry, CancelBeforeTheFirstAttemptRunsCallsNothing) {
  manual_timers t;
  weft::cancellation_source src;
  int calls = 0;
  retry_policy p = t.policy(5, 1ms);
  p.token = src.token();
  weft::future<int> f = weft::retry(
      [&calls] {
        ++calls;
        return 1;
      },
      p);
  EXPECT_EQ(t.ex.pending(), 1u);
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  t.ex.run_all();
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(f.get(), weft::cancelled_error);
}

TEST(Retry, CancelWhileFnsFutureIsPendingFailsAtOnceAndIgnoresItsOutcome) {
  manual_timers t;
  weft::cancellation_source src;
  weft::promise<int> reply(t.ex);
  int calls = 0;
  retry_policy p = t.policy(5, 1ms);
  p.token = src.token();
  weft::future<int> f = weft::retry(
      [&] {
        ++calls;
        return reply.get_future();
      },
      p);
  t.ex.run_all();
  ASSERT_EQ(calls, 1);
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  reply.set_exception(std::make_exception_ptr(unavailable(1)));  // late: no retry
  t.drive(f);
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(f.get(), weft::cancelled_error);
  EXPECT_EQ(t.svc.pending(), 0u);
}

// A cancel while fn runs: fn is not destroyed under its own call; the
// retry completes when the call returns, and its value is dropped.
TEST(Retry, CancelDuringACallCompletesWhenTheCallReturns) {
  manual_timers t;
  weft::cancellation_source src;
  auto live = std::make_shared<std::atomic<int>>(0);
  retry_policy p = t.policy(5, 1ms);
  p.token = src.token();
  weft::future<int>* result = nullptr;
  bool ready_inside = true;
  weft::future<int> f = weft::retry(
      [&, w = weft_test::witness(live)] {
        src.cancel();
        ready_inside = result->is_ready();
        return 7;
      },
      p);
  result = &f;
  t.ex.run_all();
  EXPECT_FALSE(ready_inside) << "the future completed while fn still ran";
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(*live, 0);
  EXPECT_THROW(f.get(), weft::cancelled_error);
}

TEST(Retry, TheFutureOfACallCancelledMidwayIsConsumedNotReportedAsUnhandled) {
  weft_test::error_capture errors;
  manual_timers t;
  weft::cancellation_source src;
  retry_policy p = t.policy(5, 1ms);
  p.token = src.token();
  weft::future<int> f = weft::retry(
      [&] {
        src.cancel();
        return weft::make_exceptional_future<int>(unavailable(1), t.ex);
      },
      p);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::cancelled_error);
  EXPECT_EQ(errors.count(), 0u) << "the dropped call's error was reported";
}

// ---- the deadline ----------------------------------------------------------

TEST(Retry, ABackoffThatWouldEndPastTheDeadlineIsNotBegun) {
  manual_timers t;
  flaky fn(100, t.clk);
  retry_policy p = t.policy(10, 100ms);
  p.time_limit = 250ms;  // calls at 0 and 100 ms; the next would be at 300 ms
  weft::future<int> f = weft::retry(fn, p);
  t.ex.run_all();
  t.clk.advance(100ms);
  t.ex.run_all();
  EXPECT_EQ(*fn.calls, 2);
  ASSERT_TRUE(f.is_ready()) << "fails at once, without waiting for the deadline";
  EXPECT_EQ(t.since_start(), clock::duration(100ms));
  EXPECT_EQ(t.svc.pending(), 0u);
  try {
    f.get();
    ADD_FAILURE() << "no error";
  } catch (const weft::timeout_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("2 attempts"), std::string::npos) << what;
    EXPECT_NE(what.find("503 on call 2"), std::string::npos) << what;
    try {
      std::rethrow_if_nested(e);
      ADD_FAILURE() << "the last error is not nested";
    } catch (const std::runtime_error& inner) {
      EXPECT_STREQ(inner.what(), "503 on call 2");
    }
  }
}

TEST(Retry, ABackoffEndingExactlyAtTheDeadlineIsNotBegunEither) {
  manual_timers t;
  flaky fn(100, t.clk);
  retry_policy p = t.policy(10, 100ms);
  p.deadline = clock::time_point(300ms);  // the absolute form; the third call would be at 300 ms
  weft::future<int> f = weft::retry(fn, p);
  t.drive(f);
  EXPECT_EQ(*fn.calls, 2);
  EXPECT_EQ(t.since_start(), clock::duration(100ms));
  EXPECT_THROW(f.get(), weft::timeout_error);
}

TEST(Retry, TheEarlierOfDeadlineAndTimeLimitIsInForce) {
  manual_timers t;
  t.clk.advance(1s);
  flaky fn(100, t.clk);
  retry_policy p = t.policy(10, 100ms);
  p.deadline = clock::time_point(10s);
  p.time_limit = 150ms;  // from the call: 1.15 s
  weft::future<int> f = weft::retry(fn, p);
  t.drive(f);
  EXPECT_EQ(*fn.calls, 2);  // at 1.0 s and 1.1 s
  EXPECT_THROW(f.get(), weft::timeout_error);
}

TEST(Retry, NoCallStartsAtOrAfterTheDeadlineEvenWhenTheExecutorIsLate) {
  manual_timers t;
  flaky fn(100, t.clk);
  retry_policy p = t.policy(10, 100ms);
  p.time_limit = 150ms;
  weft::future<int> f = weft::retry(fn, p);
  t.ex.run_all();
  t.clk.advance(100ms);  // the timer hands the attempt over on time...
  ASSERT_EQ(t.ex.pending(), 1u);
  t.clk.advance(100ms);  // ...but the executor gets to it after the deadline
  t.ex.run_all();
  EXPECT_EQ(*fn.calls, 1);
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::timeout_error);
}

TEST(Retry, ADeadlinePassedAlreadyCallsNothingAndNestsNothing) {
  manual_timers t;
  int calls = 0;
  retry_policy p = t.policy(3, 1ms);
  p.time_limit = clock::duration::zero();
  weft::future<int> f = weft::retry(
      [&] {
        ++calls;
        return 1;
      },
      p);
  t.drive(f);
  EXPECT_EQ(calls, 0);
  try {
    f.get();
    ADD_FAILURE() << "no error";
  } catch (const weft::timeout_error& e) {
    EXPECT_EQ(dynamic_cast<const std::nested_exception*>(&e), nullptr) << "nothing to nest";
    EXPECT_NE(std::string(e.what()).find("before the first attempt"), std::string::npos) << e.what();
  }
}

// ---- lifetimes and refusals ------------------------------------------------

TEST(Retry, FnIsDestroyedBeforeTheFutureCompletes) {
  for (int failures : {0, 2, 100}) {  // a value, a value after retries, running out
    manual_timers t;
    auto live = std::make_shared<std::atomic<int>>(0);
    flaky fn(failures, t.clk);
    weft::future<int> f = weft::retry([fn, w = weft_test::witness(live)] { return fn(); }, t.policy(3, 1ms));
    EXPECT_EQ(*live, 1);
    // A continuation run by the very call that completes the future sees
    // fn gone.
    int live_when_done = -1;
    weft::future<void> seen =
        std::move(f).then_result(weft::inline_executor(), [&](weft::result<int>) { live_when_done = *live; });
    t.drive(seen);
    ASSERT_TRUE(seen.is_ready());
    EXPECT_EQ(live_when_done, 0) << failures;
  }
}

TEST(Retry, ATimerServiceShutDownDuringABackoffFailsWithExecutorShutdown) {
  manual_timers t;
  flaky fn(100, t.clk);
  weft::future<int> f = weft::retry(fn, t.policy(5, 1s));
  t.ex.run_all();
  ASSERT_EQ(t.svc.pending(), 1u);
  t.svc.shutdown();
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::executor_shutdown);
  EXPECT_EQ(*fn.calls, 1);
}

TEST(Retry, AnExecutorThatRefusesTheFirstAttemptFailsTheFuture) {
  manual_timers t;
  manual_executor closed;
  closed.shutdown();
  retry_policy p = t.policy(5, 1ms);
  p.ex = &closed;
  int calls = 0;
  weft::future<int> f = weft::retry(
      [&] {
        ++calls;
        return 1;
      },
      p);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(f.get(), weft::executor_shutdown);
}

void expect_refused(const retry_policy& p, const std::string& field) {
  int calls = 0;
  try {
    weft::retry(
        [&] {
          ++calls;
          return 1;
        },
        p);
    ADD_FAILURE() << field << ": accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find("weft::retry: policy." + field), 0u) << what;
  }
  EXPECT_THROW(weft::retry_backoff b(p), std::invalid_argument) << field;
  EXPECT_EQ(calls, 0);
}

TEST(Retry, APolicyWithNonsenseIsRefusedByRetryItself) {
  manual_timers t;
  const retry_policy ok = t.policy(3, 10ms, 1s);
  retry_policy p = ok;
  p.max_attempts = 0;
  expect_refused(p, "max_attempts");
  p.max_attempts = -3;
  expect_refused(p, "max_attempts");
  p = ok;
  p.base_delay = -1ms;
  expect_refused(p, "base_delay");
  p = ok;
  p.max_delay = -1ms;
  expect_refused(p, "max_delay");
  p = ok;
  p.base_delay = 2s;
  expect_refused(p, "base_delay");  // above max_delay
  p = ok;
  p.multiplier = 0.5;
  expect_refused(p, "multiplier");
  p.multiplier = std::nan("");
  expect_refused(p, "multiplier");
  p.multiplier = std::numeric_limits<double>::infinity();
  expect_refused(p, "multiplier");
  p = ok;
  p.time_limit = -1ms;
  expect_refused(p, "time_limit");
  p = ok;
  p.jitter = static_cast<retry_jitter>(17);
  expect_refused(p, "jitter");
  p = ok;
  p.ex = &weft::inline_executor();
  try {
    weft::retry([] { return 1; }, p);
    ADD_FAILURE() << "inline_executor() accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("inline_executor"), std::string::npos) << e.what();
  }
  EXPECT_EQ(t.ex.pending(), 0u);
  EXPECT_EQ(t.svc.pending(), 0u);
}

// ---- the stack -------------------------------------------------------------

// 10,000 attempts with no delay: each starts as a task of its own, so the
// stack does not grow with them. fn records how deep it runs.
void ten_thousand_attempts() {
  manual_timers t;
  std::uintptr_t lowest = UINTPTR_MAX, highest = 0;
  int calls = 0;
  retry_policy p = t.policy(10000, clock::duration::zero(), clock::duration::zero());
  weft::future<int> f = weft::retry(
      [&]() -> int {
        char here = 0;
        const auto at = reinterpret_cast<std::uintptr_t>(&here);
        lowest = std::min(lowest, at);
        highest = std::max(highest, at);
        if (++calls < 10000) throw unavailable(calls);
        return calls;
      },
      p);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 10000);
  EXPECT_LT(highest - lowest, 1024u) << "the stack grew by " << (highest - lowest) << " bytes over 10,000 attempts";
  EXPECT_EQ(t.svc.pending(), 0u);
}

TEST(Retry, TenThousandAttemptsRunOnAFlatStack) {
  ten_thousand_attempts();
  // And on a 256 KiB stack, where nesting would overflow.
  weft_test::on_small_stack([] { ten_thousand_attempts(); });
}

// ---- interleavings ---------------------------------------------------------

// One retry under 1,000 seeded interleavings: fn's futures completed by
// tasks that run in any order, a cancel due at a time drawn from the seed,
// a deadline, and, for half the seeds, time that may pass between tasks (a
// backoff or the deadline coming due before a ready task runs). Whatever
// the order, the outcome fits what happened, fn is called at most
// max_attempts times and is gone, and no timer of the retry is left once
// the future is ready.
TEST(Retry, AnyInterleavingOfCompletionsCancelsAndDeadlinesGivesOneFittingOutcome) {
  int values = 0, gave_up = 0, too_late = 0, cancelled = 0;
  weft::testing::for_each_seed(0, 1000, [&](weft::testing::simulation& sim) {
    sim.set_time_may_pass_between_tasks(sim.seed() % 2 == 0);  // half the seeds: late tasks too
    weft::cancellation_source src;
    auto live = std::make_shared<std::atomic<int>>(0);
    int calls = 0;
    retry_policy p;
    p.max_attempts = 4;
    p.base_delay = 1ms;
    p.max_delay = 4ms;
    p.jitter = retry_jitter::full;
    p.seed = sim.seed() + 1;
    p.time_limit = 30ms;
    p.token = src.token();
    p.timers = &sim.timers();
    p.ex = &sim.executor();
    const std::uint64_t salt = sim.seed();
    weft::future<int> f = weft::retry(
        [&sim, &calls, salt, w = weft_test::witness(live)] {
          const int call = ++calls;
          weft::promise<int> reply(sim.executor());
          weft::future<int> answer = reply.get_future();
          weft::async(sim.executor(), [r = std::move(reply), call, salt]() mutable {
            if (salt % 5 != static_cast<std::uint64_t>(call)) {  // call salt % 5 succeeds; 0: none does
              r.set_exception(std::make_exception_ptr(unavailable(call)));
            } else {
              r.set_value(call);
            }
          });
          return answer;
        },
        p);
    bool cancel_fired = false;
    weft::timer_handle canceller = sim.timers().arm_after(std::chrono::milliseconds(salt / 5 % 40), [&] {
      cancel_fired = true;
      src.cancel();
    });
    try {
      const int v = sim.run_until_complete(std::move(f));
      EXPECT_EQ(v, calls) << "the value of the last call";
      ++values;
    } catch (const weft::retry_error& e) {
      EXPECT_EQ(e.attempts(), 4);
      EXPECT_EQ(calls, 4);
      ++gave_up;
    } catch (const weft::timeout_error&) {
      EXPECT_LT(calls, 4);
      ++too_late;
    } catch (const weft::cancelled_error&) {
      EXPECT_TRUE(cancel_fired) << "cancelled, but nobody cancelled it";
      ++cancelled;
    }
    EXPECT_LE(calls, 4);
    EXPECT_EQ(*live, 0) << "fn outlived the retry";
    const std::size_t left = sim.timers().pending();
    EXPECT_EQ(left, sim.timers().cancel(canceller) ? 1u : 0u) << "only the canceller's own timer may be left";
    sim.run();
    return !::testing::Test::HasFailure();
  });
  // Each outcome came up: the seeds reach every path.
  EXPECT_GT(values, 0);
  EXPECT_GT(gave_up, 0);
  EXPECT_GT(too_late, 0);
  EXPECT_GT(cancelled, 0);
  std::printf("[ info     ] 1000 seeds: %d values, %d gave up, %d past the deadline, %d cancelled\n", values, gave_up,
              too_late, cancelled);
}

// ---- the backoff's delays --------------------------------------------------

retry_policy backoff_policy(retry_jitter j, std::uint64_t seed, clock::duration base = 10ms,
                            clock::duration cap = 10s) {
  retry_policy p;
  p.base_delay = base;
  p.max_delay = cap;
  p.jitter = j;
  p.seed = seed;
  return p;
}

std::vector<clock::duration> draws(retry_policy p, int n) {
  weft::retry_backoff b(p);
  std::vector<clock::duration> out;
  for (int i = 0; i < n; ++i) out.push_back(b.next());
  return out;
}

TEST(RetryBackoff, NoneIsBaseDoublingThenCapped) {
  const std::vector<clock::duration> d = draws(backoff_policy(retry_jitter::none, 1, 100ms, 1s), 6);
  EXPECT_EQ(d, (std::vector<clock::duration>{100ms, 200ms, 400ms, 800ms, 1s, 1s}));
  retry_policy p = backoff_policy(retry_jitter::none, 1, 10ms, 1s);
  p.multiplier = 3;
  EXPECT_EQ(draws(p, 4), (std::vector<clock::duration>{10ms, 30ms, 90ms, 270ms}));
  p.multiplier = 1;
  EXPECT_EQ(draws(p, 3), (std::vector<clock::duration>{10ms, 10ms, 10ms}));
}

TEST(RetryBackoff, AThousandRetriesSaturateAtTheCapWithoutOverflow) {
  for (retry_jitter j : {retry_jitter::none, retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    retry_policy p = backoff_policy(j, 7, 1ns, clock::duration::max());
    p.multiplier = 10;
    weft::retry_backoff b(p);
    clock::duration last{};
    for (int i = 0; i < 1000; ++i) {
      last = b.next();
      ASSERT_GE(last, clock::duration::zero()) << static_cast<int>(j) << " retry " << i;
    }
    if (j == retry_jitter::none) {
      EXPECT_EQ(last, clock::duration::max());
    }
  }
}

// exp(n) = min(cap, base * 2^n), as the blog defines it.
clock::duration exp_delay(clock::duration base, clock::duration cap, int n) {
  clock::duration d = base;
  for (int i = 0; i < n && d < cap; ++i) d = std::min(cap, d * 2);
  return std::min(cap, d);
}

TEST(RetryBackoff, EachJitterStaysInItsBoundsAndSpreadsOverThem) {
  const clock::duration base = 10ms, cap = 2s;
  const int retries = 12;  // reaches the cap
  for (retry_jitter j : {retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    // Per retry index, the smallest and largest delay drawn, as a fraction
    // of the range allowed.
    std::vector<double> low(retries, 1.0), high(retries, 0.0);
    for (std::uint64_t seed = 1; seed <= 400; ++seed) {
      weft::retry_backoff b(backoff_policy(j, seed, base, cap));
      clock::duration prev = base;
      for (int n = 0; n < retries; ++n) {
        const clock::duration d = b.next();
        clock::duration lo, hi;
        if (j == retry_jitter::full) {
          lo = clock::duration::zero();
          hi = exp_delay(base, cap, n);
        } else if (j == retry_jitter::equal) {
          hi = exp_delay(base, cap, n);
          lo = hi - hi / 2;
        } else {
          lo = base;
          hi = std::min(cap, prev * 3);
        }
        ASSERT_GE(d, lo) << "jitter " << static_cast<int>(j) << ", seed " << seed << ", retry " << n;
        ASSERT_LE(d, hi) << "jitter " << static_cast<int>(j) << ", seed " << seed << ", retry " << n;
        if (hi > lo) {
          const double x = static_cast<double>((d - lo).count()) / static_cast<double>((hi - lo).count());
          low[n] = std::min(low[n], x);
          high[n] = std::max(high[n], x);
        }
        prev = d;
      }
    }
    for (int n = 0; n < retries; ++n) {
      // 400 uniform draws: the extremes fall within 2% of the ends with
      // probability 1 - 2 * 0.98^400 (1 - 6e-4 each; the seeds are fixed,
      // so this either always passes or never does).
      EXPECT_LT(low[n], 0.02) << "jitter " << static_cast<int>(j) << ", retry " << n;
      EXPECT_GT(high[n], 0.98) << "jitter " << static_cast<int>(j) << ", retry " << n;
    }
  }
}

TEST(RetryBackoff, TheSameSeedGivesTheSameDelaysAndOthersDiffer) {
  for (retry_jitter j : {retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    const std::vector<clock::duration> a = draws(backoff_policy(j, 1234), 50);
    EXPECT_EQ(a, draws(backoff_policy(j, 1234), 50));
    EXPECT_NE(a, draws(backoff_policy(j, 1235), 50));
  }
  // Unseeded: a seed is drawn, different each time, and it replays.
  weft::retry_backoff x(backoff_policy(retry_jitter::full, 0)), y(backoff_policy(retry_jitter::full, 0));
  EXPECT_NE(x.seed(), 0u);
  EXPECT_NE(x.seed(), y.seed());
  const std::vector<clock::duration> drawn = draws(backoff_policy(retry_jitter::full, x.seed()), 20);
  std::vector<clock::duration> replay;
  for (int i = 0; i < 20; ++i) replay.push_back(x.next());
  EXPECT_EQ(drawn, replay);
}

TEST(RetryBackoff, AZeroBaseStaysZero) {
  for (retry_jitter j : {retry_jitter::none, retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    for (clock::duration d : draws(backoff_policy(j, 3, clock::duration::zero(), 1s), 20)) {
      EXPECT_EQ(d, clock::duration::zero()) << static_cast<int>(j);
    }
  }
}

// retry() waits exactly what a backoff with its seed gives.
TEST(Retry, TheWaitsAreTheBackoffsDelaysForTheSeed) {
  for (retry_jitter j : {retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    manual_timers t;
    flaky fn(100, t.clk);
    retry_policy p = t.policy(8, 10ms, 1s);
    p.jitter = j;
    p.seed = 99;
    weft::future<int> f = weft::retry(fn, p);
    t.drive(f);
    ASSERT_EQ(fn.at->size(), 8u);
    weft::retry_backoff b(p);
    for (std::size_t i = 1; i < fn.at->size(); ++i) {
      EXPECT_EQ((*fn.at)[i] - (*fn.at)[i - 1], b.next()) << static_cast<int>(j) << " retry " << i;
    }
    EXPECT_THROW(f.get(), weft::retry_error);
  }
}

}  // namespace
