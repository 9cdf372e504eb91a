// semaphore: the fast path, strict FIFO (a big waiter is not starved, a
// cancelled head hands its turn on), cancellation and time-outs that
// consume nothing, destruction with waiters, permits that outlive their
// semaphore. Every future is bound to a manual_executor, so "not inline on
// the releasing thread" is a plain assertion. Races at volume are in
// tests/stress/coord_stress.cpp.
#include "weft/semaphore.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
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
using permit = weft::semaphore::permit;

TEST(Semaphore, FreePermitsAreReadyAtOnce) {
  manual_executor ex;
  weft::semaphore s(3, ex);
  weft::future<permit> f = s.acquire(2);
  ASSERT_TRUE(f.is_ready());
  permit p = f.get();
  EXPECT_TRUE(static_cast<bool>(p));
  EXPECT_EQ(p.count(), 2);
  EXPECT_EQ(s.available(), 1);
  p.release();
  EXPECT_FALSE(static_cast<bool>(p));
  EXPECT_EQ(p.count(), 0);
  EXPECT_EQ(s.available(), 3);
  p.release();  // a no-op on an empty permit
  EXPECT_EQ(s.available(), 3);
}

TEST(Semaphore, APermitGivesItsPermitsBackWhenDestroyedOrAssigned) {
  manual_executor ex;
  weft::semaphore s(2, ex);
  {
    permit a = s.try_acquire();
    permit b = std::move(a);
    EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): documented empty
    EXPECT_EQ(s.available(), 1);
    b = s.try_acquire();  // b gives its permit back, then holds the new one
    EXPECT_EQ(s.available(), 1);
  }
  EXPECT_EQ(s.available(), 2);
}

TEST(Semaphore, AWaiterContinuesOnTheSemaphoresExecutorNotOnTheReleasingThread) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  bool ran = false;
  weft::future<void> done = s.acquire().then([&](permit p) {
    ran = true;
    EXPECT_EQ(p.count(), 1);
  });
  EXPECT_EQ(s.waiting(), 1u);
  s.release();
  EXPECT_FALSE(ran);  // release() only handed the permit over
  EXPECT_EQ(s.waiting(), 0u);
  ex.run_all();
  EXPECT_TRUE(ran);
  EXPECT_TRUE(done.is_ready());
  EXPECT_EQ(s.available(), 1);  // the continuation's permit went back when it ended
}

TEST(Semaphore, ReleaseWakesAsManyWaitersAsItSatisfiesInOrder) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  std::vector<weft::future<permit>> w;
  for (int i = 0; i < 5; ++i) w.push_back(s.acquire());
  s.release(3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(w[i].is_ready(), i < 3) << i;
  EXPECT_EQ(s.available(), 0);
  EXPECT_EQ(s.waiting(), 2u);
  s.release(2);
  for (auto& f : w) EXPECT_TRUE(f.is_ready());
}

TEST(Semaphore, ABigWaiterIsNotStarvedBySmallOnes) {
  manual_executor ex;
  weft::semaphore s(2, ex);
  permit held = s.try_acquire(2);
  weft::future<permit> big = s.acquire(2);
  weft::future<permit> small = s.acquire(1);
  s.release(1);  // one free: small would fit, but big is ahead of it
  EXPECT_FALSE(big.is_ready());
  EXPECT_FALSE(small.is_ready());
  EXPECT_EQ(s.available(), 1);
  EXPECT_FALSE(static_cast<bool>(s.try_acquire(1)));  // nor may anyone jump the queue
  held.release();  // three free: big takes two, small one
  ASSERT_TRUE(big.is_ready());
  ASSERT_TRUE(small.is_ready());
  EXPECT_EQ(big.get().count(), 2);  // a temporary: its permits go back at once
  EXPECT_EQ(s.available(), 2);       // small still holds one
}

TEST(Semaphore, TryAcquireNeverJumpsTheQueue) {
  manual_executor ex;
  weft::semaphore s(1, ex);
  permit held = s.try_acquire();
  weft::future<permit> w = s.acquire();
  s.release(1);  // w is served first
  EXPECT_TRUE(w.is_ready());
  EXPECT_FALSE(static_cast<bool>(s.try_acquire()));
  EXPECT_EQ(s.available(), 0);
  w.get().release();
  EXPECT_TRUE(static_cast<bool>(s.try_acquire()));
}

TEST(Semaphore, ACancelledHeadWaiterPassesFreePermitsToTheWaitersBehindIt) {
  manual_executor ex;
  weft::semaphore s(2, ex);
  permit held = s.try_acquire(1);  // one free
  weft::cancellation_source src;
  weft::future<permit> big = s.acquire(2, src.token());
  weft::future<permit> small1 = s.acquire(1);
  weft::future<permit> small2 = s.acquire(1);
  EXPECT_FALSE(small1.is_ready());
  EXPECT_TRUE(src.cancel());
  ASSERT_TRUE(big.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(big), "weft::semaphore::acquire: cancelled before the permits were granted");
  EXPECT_TRUE(small1.is_ready());  // the free permit went on at once
  EXPECT_FALSE(small2.is_ready());
  EXPECT_EQ(s.available(), 0);
  held.release();
  EXPECT_TRUE(small2.is_ready());
}

TEST(Semaphore, ACancelledWaiterInTheMiddleConsumesNothing) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  weft::cancellation_source src;
  weft::future<permit> a = s.acquire();
  weft::future<permit> b = s.acquire(1, src.token());
  weft::future<permit> c = s.acquire();
  src.cancel();
  ASSERT_TRUE(b.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(b), "weft::semaphore::acquire: cancelled before the permits were granted");
  EXPECT_EQ(s.waiting(), 2u);
  s.release(2);
  EXPECT_TRUE(a.is_ready());
  EXPECT_TRUE(c.is_ready());
  EXPECT_EQ(s.available(), 0);
}

TEST(Semaphore, ATokenCancelledAlreadyFailsAtOnceAndTakesNothing) {
  manual_executor ex;
  weft::semaphore s(3, ex);
  weft::cancellation_source src;
  src.cancel();
  weft::future<permit> f = s.acquire(1, src.token());
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::semaphore::acquire: cancelled before the permits were granted");
  EXPECT_EQ(s.available(), 3);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(Semaphore, AGrantedWaiterKeepsItsPermitWhenCancelledLater) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  weft::cancellation_source src;
  weft::cancellation_token tok = src.token();
  weft::future<permit> f = s.acquire(1, tok);
  EXPECT_EQ(tok.registered_callbacks(), 1u);
  s.release();
  // The registration is gone with the wait, before anyone sees the permit.
  EXPECT_EQ(tok.registered_callbacks(), 0u);
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  permit p = f.get();
  EXPECT_EQ(p.count(), 1);
  EXPECT_EQ(s.available(), 0);
}

TEST(Semaphore, AWaitersRegistrationIsGoneOnceCancelled) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  weft::cancellation_source src;
  weft::cancellation_token tok = src.token();
  weft::future<permit> f = s.acquire(1, tok);
  src.cancel();
  EXPECT_EQ(tok.registered_callbacks(), 0u);
  EXPECT_EQ(s.waiting(), 0u);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::semaphore::acquire: cancelled before the permits were granted");
  s.release();
  EXPECT_EQ(s.available(), 1);  // nothing was waiting to take it
}

TEST(Semaphore, ATimedOutAcquireConsumesNothing) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::semaphore s(1, ex);
  permit held = s.try_acquire();
  weft::cancellation_source src;
  weft::future<permit> f = weft::timeout(svc, s.acquire(1, src.token()), std::chrono::seconds(10), src);
  weft::future<permit> next = s.acquire();
  clk.advance(std::chrono::seconds(9));
  ex.run_all();
  EXPECT_FALSE(f.is_ready());
  clk.advance(std::chrono::seconds(1));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  EXPECT_EQ(s.waiting(), 1u);  // only `next` is left
  held.release();
  ASSERT_TRUE(next.is_ready());  // the timed-out waiter took nothing on its way out
  EXPECT_EQ(next.get().count(), 1);
  EXPECT_EQ(s.available(), 1);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Semaphore, AnAcquireInTimeUnderWithTimeoutGetsItsPermit) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::semaphore s(0, ex);
  weft::cancellation_source src;
  auto f = weft::with_timeout(svc, s.acquire(1, src.token()), std::chrono::seconds(10), src);
  s.release();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  boost::optional<permit> p = f.get();
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->count(), 1);
  EXPECT_EQ(s.available(), 0);
  p = boost::none;
  EXPECT_EQ(s.available(), 1);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Semaphore, AnAbandonedWaitPassesItsPermitsOn) {
  manual_executor ex;
  weft::semaphore s(0, ex);
  { weft::future<permit> dropped = s.acquire(2); }
  weft::future<permit> next = s.acquire(1);
  s.release(2);  // the dropped wait is granted first, and gives both back
  ASSERT_TRUE(next.is_ready());
  EXPECT_EQ(s.available(), 1);
}

TEST(Semaphore, AnInlineContinuationMayDestroyTheSemaphoreThatGrantedIt) {
  // On inline_executor() the continuation runs inside release(); it drops
  // the last owner of the semaphore while the grant loop still runs (an
  // abandoned wait behind it gives its permit back there). ASan checks.
  auto s = std::make_shared<weft::semaphore>(0, weft::inline_executor());
  std::shared_ptr<weft::semaphore> owner = s;
  bool ran = false;
  weft::future<void> done = s->acquire().then([&owner, &ran](permit) {
    owner.reset();
    ran = true;
  });
  { weft::future<permit> dropped = s->acquire(); }
  weft::semaphore* raw = s.get();
  s.reset();
  raw->release(2);
  EXPECT_TRUE(ran);
  EXPECT_TRUE(done.is_ready());
}

TEST(Semaphore, DestroyingItFailsItsWaitersWithExecutorShutdown) {
  manual_executor ex;
  weft::future<permit> a, b;
  {
    weft::semaphore s(0, ex);
    a = s.acquire();
    b = s.acquire(3);
  }
  ASSERT_TRUE(a.is_ready());
  ASSERT_TRUE(b.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(a), "weft::semaphore: destroyed while this acquire() was waiting");
  EXPECT_EQ(error_of<weft::executor_shutdown>(b), "weft::semaphore: destroyed while this acquire() was waiting");
}

TEST(Semaphore, APermitMayOutliveItsSemaphore) {
  manual_executor ex;
  permit p, q;
  weft::future<permit> granted;
  {
    weft::semaphore s(2, ex);
    p = s.try_acquire();
    q = s.try_acquire();
    granted = s.acquire();
    q.release();
  }
  // Dropping what the semaphore's shared core backs is safe (ASan checks).
  p.release();
  ASSERT_TRUE(granted.is_ready());
  permit g = granted.get();
  EXPECT_EQ(g.count(), 1);
}

TEST(Semaphore, AForgottenPermitIsConsumed) {
  manual_executor ex;
  weft::semaphore s(0, ex);  // a counter of items
  s.release(2);
  permit p = s.try_acquire();
  p.forget();
  EXPECT_FALSE(static_cast<bool>(p));
  EXPECT_EQ(s.available(), 1);
}

TEST(Semaphore, BadCountsAreInvalidArguments) {
  manual_executor ex;
  EXPECT_THROW(weft::semaphore(-1, ex), std::invalid_argument);
  EXPECT_THROW(weft::semaphore(weft::semaphore::max() + 1, ex), std::invalid_argument);
  weft::semaphore s(1, ex);
  EXPECT_THROW(s.acquire(0), std::invalid_argument);
  EXPECT_THROW(s.acquire(-3), std::invalid_argument);
  EXPECT_THROW(s.acquire(weft::semaphore::max() + 1), std::invalid_argument);
  EXPECT_THROW(s.try_acquire(0), std::invalid_argument);
  EXPECT_THROW(s.release(-1), std::invalid_argument);
  EXPECT_THROW(s.release(weft::semaphore::max()), std::invalid_argument);
  try {
    s.acquire(0);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weft::semaphore::acquire"), std::string::npos);
  }
  EXPECT_EQ(s.available(), 1);
  s.release(0);
  EXPECT_EQ(s.available(), 1);
}

}  // namespace
