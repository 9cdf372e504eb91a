// async_mutex: try_lock, FIFO hand-over, a guard moved into a continuation
// holding the lock until that continuation ends, cancellation and
// time-outs that take nothing, destruction with waiters. A mutex shared by
// many threads is in tests/stress/coord_stress.cpp.
#include "weft/async_mutex.hpp"

#include <chrono>
#include <string>
#include <utility>
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
using guard = weft::async_mutex::guard;

TEST(AsyncMutex, TryLockTakesAFreeMutexOnly) {
  manual_executor ex;
  weft::async_mutex m(ex);
  guard g = m.try_lock();
  EXPECT_TRUE(g.owns_lock());
  EXPECT_TRUE(m.is_locked());
  guard h = m.try_lock();
  EXPECT_FALSE(h.owns_lock());
  g.unlock();
  EXPECT_FALSE(g.owns_lock());
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(static_cast<bool>(m.try_lock()));
}

TEST(AsyncMutex, LockIsReadyAtOnceWhenFree) {
  manual_executor ex;
  weft::async_mutex m(ex);
  weft::future<guard> f = m.lock();
  ASSERT_TRUE(f.is_ready());
  guard g = f.get();
  EXPECT_TRUE(g.owns_lock());
}

TEST(AsyncMutex, WaitersGetTheMutexInOrder) {
  manual_executor ex;
  weft::async_mutex m(ex);
  guard g = m.try_lock();
  std::vector<weft::future<guard>> w;
  for (int i = 0; i < 3; ++i) w.push_back(m.lock());
  EXPECT_EQ(m.waiting(), 3u);
  EXPECT_FALSE(static_cast<bool>(m.try_lock()));  // never ahead of a waiter
  g.unlock();
  EXPECT_TRUE(w[0].is_ready());
  EXPECT_FALSE(w[1].is_ready());
  w[0].get();  // a temporary guard: unlocked at once, to the next
  EXPECT_TRUE(w[1].is_ready());
  EXPECT_FALSE(w[2].is_ready());
  guard g1 = w[1].get();
  EXPECT_FALSE(w[2].is_ready());
  g1 = guard();
  EXPECT_TRUE(w[2].is_ready());
}

TEST(AsyncMutex, AGuardMovedIntoAContinuationHoldsTheLockUntilItEnds) {
  manual_executor ex;
  weft::async_mutex m(ex);
  guard first = m.try_lock();
  bool locked_inside = false;
  weft::future<void> done = m.lock().then([&](guard g) {
    EXPECT_TRUE(g.owns_lock());
    locked_inside = m.is_locked() && !m.try_lock();
  });
  weft::future<guard> next = m.lock();
  first.unlock();
  EXPECT_TRUE(m.is_locked());  // handed to the continuation, which has not run
  EXPECT_FALSE(next.is_ready());
  ex.run_all();
  EXPECT_TRUE(locked_inside);
  EXPECT_TRUE(done.is_ready());
  EXPECT_TRUE(next.is_ready());  // the continuation's guard went to `next` as it ended
}

TEST(AsyncMutex, ACancelledLockTakesNothing) {
  manual_executor ex;
  weft::async_mutex m(ex);
  guard g = m.try_lock();
  weft::cancellation_source src;
  weft::future<guard> cancelled = m.lock(src.token());
  weft::future<guard> next = m.lock();
  src.cancel();
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled), "weft::async_mutex::lock: cancelled before the mutex was granted");
  g.unlock();
  ASSERT_TRUE(next.is_ready());
  EXPECT_TRUE(next.get().owns_lock());
}

TEST(AsyncMutex, ATimedOutLockTakesNothing) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::async_mutex m(ex);
  guard g = m.try_lock();
  weft::cancellation_source src;
  weft::future<guard> f = weft::timeout(svc, m.lock(src.token()), std::chrono::milliseconds(100), src);
  clk.advance(std::chrono::milliseconds(100));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  g.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.waiting(), 0u);
}

TEST(AsyncMutex, DestroyingItFailsItsWaitersAndLeavesGuardsValid) {
  manual_executor ex;
  weft::future<guard> f;
  guard g;
  {
    weft::async_mutex m(ex);
    g = m.try_lock();
    f = m.lock();
  }
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(f), "weft::async_mutex: destroyed while this lock() was waiting");
  EXPECT_TRUE(g.owns_lock());
  g.unlock();  // after its mutex: safe
  EXPECT_FALSE(g.owns_lock());
}

}  // namespace
