// condition: notify_one wakes one waiter and notify_all every listed one,
// no wake-up is lost between unlocking and waiting, a woken waiter holds
// the lock again before its future completes, the predicate loop,
// cancellation and time-outs racing a notify, destruction with waiters,
// and guards that do not hold the condition's mutex. 1,000 waiters with
// notify_one on a pool are in tests/stress/coord_stress.cpp.
#include "weft/condition.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "outcome.hpp"
#include "weft/async_mutex.hpp"
#include "weft/cancellation.hpp"
#include "weft/clock.hpp"
#include "weft/errors.hpp"
#include "weft/testing.hpp"
#include "weft/timeout.hpp"
#include "weft/timer.hpp"

namespace {

using weft_test::error_of;
using weft_test::manual_executor;
using guard = weft::async_mutex::guard;

constexpr const char* cancelled_message = "weft::condition::wait: cancelled before a notify reached this wait";

// A waiter of `c`: locks `m` (free or not, the test decides) and waits.
weft::future<guard> park(weft::async_mutex& m, weft::condition& c,
                         const weft::cancellation_token& t = weft::cancellation_token()) {
  guard g = m.try_lock();
  EXPECT_TRUE(g.owns_lock()) << "park() needs the mutex free";
  return c.wait(std::move(g), t);
}

TEST(Condition, WaitRejectsAGuardThatDoesNotHoldItsMutex) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::async_mutex other(ex);
  weft::condition c(m);
  const std::string what = "weft::condition::wait: the guard must hold the lock of the condition's mutex";
  try {
    c.wait(other.try_lock());
    FAIL() << "a guard of another mutex was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(e.what(), what);
  }
  EXPECT_FALSE(other.is_locked());  // the rejected guard was dropped
  try {
    c.wait(guard(), [] { return true; });
    FAIL() << "an empty guard was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(e.what(), what);
  }
  EXPECT_EQ(c.waiting(), 0u);
}

TEST(Condition, WaitReleasesTheLockAndNotifyOneWakesExactlyTheOldest) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  std::vector<weft::future<guard>> w;
  for (int i = 0; i < 3; ++i) {
    w.push_back(park(m, c));
    EXPECT_FALSE(m.is_locked());  // each wait gave its lock up
  }
  EXPECT_EQ(c.waiting(), 3u);
  c.notify_one();
  EXPECT_EQ(c.waiting(), 2u);
  ex.run_all();
  ASSERT_TRUE(w[0].is_ready());
  EXPECT_FALSE(w[1].is_ready());
  EXPECT_FALSE(w[2].is_ready());
  guard g = w[0].get();
  EXPECT_TRUE(g.owns_lock());
  g.unlock();
  ex.run_all();
  EXPECT_FALSE(w[1].is_ready());  // the unlock wakes nobody on the condition
  c.notify_one();
  ex.run_all();
  EXPECT_TRUE(w[1].is_ready());
  EXPECT_FALSE(w[2].is_ready());
  EXPECT_EQ(c.waiting(), 1u);
}

TEST(Condition, NotifyOneSkipsAWaiterWhoseFutureWasDropped) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  park(m, c);  // dropped at once: nobody would see its wake-up
  weft::future<guard> kept = park(m, c);
  c.notify_one();
  ex.run_all();
  ASSERT_TRUE(kept.is_ready());
  EXPECT_TRUE(kept.get().owns_lock());
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_FALSE(m.is_locked());  // and the skipped one took no lock
}

TEST(Condition, ANotifyWithNobodyWaitingIsNotKept) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  c.notify_one();
  c.notify_all();
  weft::future<guard> f = park(m, c);
  ex.run_all();
  EXPECT_FALSE(f.is_ready());
  EXPECT_EQ(c.waiting(), 1u);
}

TEST(Condition, NotifyAllWakesEveryListedWaiterAndEachGetsTheLockInTurn) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  std::vector<weft::future<guard>> w;
  for (int i = 0; i < 4; ++i) w.push_back(park(m, c));
  c.notify_all();
  EXPECT_EQ(c.waiting(), 0u);
  ex.run_all();
  ASSERT_TRUE(w[0].is_ready());
  // The first woken waits again, after the notify: not woken by it.
  weft::future<guard> late = c.wait(w[0].get());
  ex.run_all();
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(w[i].is_ready()) << i;
    for (int j = i + 1; j < 4; ++j) EXPECT_FALSE(w[j].is_ready()) << "two waiters hold the lock at once";
    guard g = w[i].get();
    EXPECT_TRUE(g.owns_lock());
    g.unlock();
    ex.run_all();
  }
  EXPECT_FALSE(late.is_ready());
  EXPECT_EQ(c.waiting(), 1u);
}

TEST(Condition, TheWaiterIsListedBeforeTheLockIsReleased) {
  // The lost wake-up a condition exists to prevent: the state changes and
  // the notify comes the moment the waiter gives up the lock. On the
  // inline executor, the notifier queued on the mutex runs inside the
  // waiter's unlock, so it must find the waiter listed already.
  weft::async_mutex m(weft::inline_executor());
  weft::condition c(m);
  bool ready = false;
  guard g = m.try_lock();
  std::size_t listed_when_notified = 0;
  weft::future<void> notifier = m.lock().then([&](guard) {
    listed_when_notified = c.waiting();
    ready = true;
    c.notify_one();
  });
  ASSERT_FALSE(ready);  // the waiter's test, under the lock
  weft::future<guard> f = c.wait(std::move(g));
  ASSERT_TRUE(notifier.is_ready());
  notifier.get();
  EXPECT_EQ(listed_when_notified, 1u);
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get().owns_lock());
  EXPECT_TRUE(ready);
}

TEST(Condition, AWokenWaiterHoldsTheLockAgainBeforeItsFutureCompletes) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  weft::future<guard> f = park(m, c);
  guard n = m.try_lock();
  c.notify_one();  // under the lock, as usual
  ex.run_all();
  EXPECT_FALSE(f.is_ready());  // woken, waiting for the notifier's lock
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_EQ(m.waiting(), 1u);
  n.unlock();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  guard g = f.get();
  EXPECT_TRUE(g.owns_lock());
  EXPECT_TRUE(m.is_locked());
}

TEST(Condition, APredicateThatHoldsAlreadyKeepsTheLockWithoutWaiting) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  int calls = 0;
  weft::future<guard> f = c.wait(m.try_lock(), [&] {
    ++calls;
    return true;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(m.is_locked());  // never released
  EXPECT_EQ(c.waiting(), 0u);
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get().owns_lock());
}

TEST(Condition, ThePredicateLoopWaitsAgainUntilItHoldsUnderTheLock) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  int value = 0;
  int calls = 0;
  bool locked_in_pred = true;
  weft::future<guard> f = c.wait(m.try_lock(), [&] {
    ++calls;
    locked_in_pred = locked_in_pred && m.is_locked();
    return value >= 2;
  });
  EXPECT_EQ(calls, 1);
  for (int i = 1; i <= 2; ++i) {
    EXPECT_FALSE(f.is_ready());
    EXPECT_EQ(c.waiting(), 1u) << "the loop waits again after a wake-up that finds the predicate false";
    guard g = m.try_lock();
    ASSERT_TRUE(g.owns_lock());
    value = i;
    c.notify_one();
    g.unlock();
    ex.run_all();
  }
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(locked_in_pred);
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get().owns_lock());
  EXPECT_EQ(c.waiting(), 0u);
}

TEST(Condition, ThePredicateIsDestroyedBeforeTheFutureCompletes) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  auto witness = std::make_shared<int>(0);
  std::weak_ptr<int> alive = witness;
  bool go = false;
  bool gone_when_seen = false;
  weft::future<void> seen = c.wait(m.try_lock(), [witness, &go] { return go; }).then([&](guard) {
    gone_when_seen = alive.expired();
  });
  witness.reset();
  EXPECT_FALSE(alive.expired());  // the waiting loop holds it
  go = true;
  c.notify_one();
  ex.run_all();
  ASSERT_TRUE(seen.is_ready());
  seen.get();
  EXPECT_TRUE(gone_when_seen);
}

TEST(Condition, APredicateThatThrowsFailsTheWaitAndHoldsNoLock) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  bool fail = false;
  weft::future<guard> f = c.wait(m.try_lock(), [&]() -> bool {
    if (fail) throw std::runtime_error("predicate failed");
    return false;
  });
  fail = true;
  c.notify_one();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<std::runtime_error>(f), "predicate failed");
  EXPECT_FALSE(m.is_locked());
}

TEST(Condition, ACancelledWaitHoldsNoLockAndTheNextNotifyGoesToTheNextWaiter) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  weft::cancellation_source src;
  weft::future<guard> cancelled = park(m, c, src.token());
  weft::future<guard> next = park(m, c);
  src.cancel();
  ex.run_all();
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled), cancelled_message);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(c.waiting(), 1u);
  c.notify_one();
  ex.run_all();
  ASSERT_TRUE(next.is_ready());
  EXPECT_TRUE(next.get().owns_lock());
}

TEST(Condition, ATokenCancelledAlreadyFailsAtOnceAndReleasesTheLock) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  weft::cancellation_source src;
  src.cancel();
  weft::future<guard> f = c.wait(m.try_lock(), src.token());
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(c.waiting(), 0u);
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), cancelled_message);
  weft::future<guard> p = c.wait(m.try_lock(), [] { return false; }, src.token());
  ex.run_all();
  ASSERT_TRUE(p.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(p), cancelled_message);
  EXPECT_FALSE(m.is_locked());
}

TEST(Condition, ACancelAfterTheNotifyWonChangesNothing) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::condition c(m);
  weft::cancellation_source src;
  weft::future<guard> f = park(m, c, src.token());
  guard n = m.try_lock();
  c.notify_one();
  src.cancel();  // while the woken waiter waits for the lock
  n.unlock();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get().owns_lock());
}

TEST(Condition, ATimedOutWaitLeavesTheListAndHoldsNoLock) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::async_mutex m(ex);
  weft::condition c(m);
  weft::cancellation_source src;
  weft::future<guard> f =
      weft::timeout(svc, c.wait(m.try_lock(), [] { return false; }, src.token()), std::chrono::milliseconds(50), src);
  clk.advance(std::chrono::milliseconds(50));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_FALSE(m.is_locked());

  // with_timeout: a notify in time gives the guard.
  weft::future<boost::optional<guard>> in_time =
      weft::with_timeout(svc, park(m, c), std::chrono::milliseconds(50));
  c.notify_one();
  ex.run_all();
  ASSERT_TRUE(in_time.is_ready());
  boost::optional<guard> g = in_time.get();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->owns_lock());
}

TEST(Condition, DestroyingItFailsItsWaiters) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::future<guard> looping;
  weft::future<guard> notified;
  weft::future<guard> listed;
  guard n;
  {
    weft::condition c(m);
    looping = c.wait(m.try_lock(), [] { return false; });
    notified = park(m, c);
    listed = park(m, c);
    n = m.try_lock();
    c.notify_one();
    c.notify_one();
    ex.run_all();
    EXPECT_EQ(m.waiting(), 2u);  // both woken ones wait for n's lock
    EXPECT_EQ(c.waiting(), 1u);
  }
  ex.run_all();  // the failure reaches the future through its re-lock step
  ASSERT_TRUE(listed.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(listed), "weft::condition: destroyed while this wait() was waiting");
  n.unlock();
  ex.run_all();
  // The loop, woken with its predicate still false, finds the condition
  // gone when it would wait again, and lets the lock go.
  ASSERT_TRUE(looping.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(looping), "weft::condition: destroyed while this wait() was waiting");
  // A waiter notified before goes on and gets the lock.
  ASSERT_TRUE(notified.is_ready());
  EXPECT_TRUE(notified.get().owns_lock());
  EXPECT_FALSE(m.is_locked());
}

TEST(Condition, AWaiterWokenAfterItsMutexWasDestroyedFailsInsteadOfHanging) {
  manual_executor ex;
  weft::future<guard> f;
  guard held;
  {
    weft::async_mutex m(ex);
    weft::condition c(m);
    f = park(m, c);
    held = m.try_lock();
    c.notify_one();  // its re-lock is queued on the executor
  }
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(f), "weft::async_mutex: destroyed while this lock() was waiting");
}

TEST(Condition, ANotifyOneRacingACancelIsNeverLost) {
  // Two waiters, the first cancellable; a cancel and a notify_one run in
  // an order the seed picks. Either the notify reached the first (whose
  // wait then succeeds) or the cancel won and the notify woke the second:
  // exactly one of them holds the lock afterwards.
  weft::testing::for_each_seed(1, 1000, [](weft::testing::simulation& sim) {
    weft::async_mutex m(sim.executor());
    weft::condition c(m);
    weft::cancellation_source src;
    const bool with_pred = sim.random(2) == 1;
    bool flag = false;
    auto wait = [&](const weft::cancellation_token& t) {
      guard g = m.try_lock();
      if (with_pred) return c.wait(std::move(g), [&] { return flag; }, t);
      return c.wait(std::move(g), t);
    };
    weft::future<guard> first = wait(src.token());
    weft::future<guard> second = wait(weft::cancellation_token());
    sim.executor().execute([&] { src.cancel(); });
    sim.executor().execute([&] {
      guard g = m.try_lock();
      if (!g) throw std::logic_error("the mutex is held while only waiters exist");
      flag = true;
      c.notify_one();
    });
    sim.run();
    if (!first.is_ready()) throw std::logic_error("the first waiter neither woke nor was cancelled");
    if (first.is_ready() && second.is_ready()) {
      // Only a cancel that won may let the second through.
      if (error_of<weft::cancelled_error>(first) != cancelled_message) return false;
      return second.get().owns_lock() && c.waiting() == 0;
    }
    guard g;
    try {
      g = first.get();
    } catch (const weft::cancelled_error&) {
      return false;  // cancelled, and the notify went nowhere
    }
    if (!g.owns_lock() || c.waiting() != 1) return false;
    g.unlock();
    c.notify_all();
    sim.run();
    return second.is_ready() && second.get().owns_lock();
  });
}

}  // namespace
