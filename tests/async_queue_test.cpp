// async_queue: ready and waiting push/pop in FIFO order, try_push/try_pop,
// close() (drain, then queue_closed; pushes after and during close fail
// and destroy their items once), cancellation and time-outs that take
// nothing, abandoned pops, destruction with waiters, move-only items.
// Futures are bound to a manual_executor, so "not inline on the other
// side's thread" is a plain assertion; the races between cancel, close,
// push and pop run under many seeds of the simulation. Volume and real
// threads are in tests/stress/queue_stress.cpp.
#include "weft/async_queue.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
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
#include "weft/testing.hpp"
#include "weft/timeout.hpp"
#include "weft/timer.hpp"

namespace {

using weft_test::error_of;
using weft_test::manual_executor;

// How many times each item (by id) was destroyed while it owned its value.
struct ledger {
  std::map<int, int> destroyed;
  int live = 0;
  bool each_destroyed_once(int n) const {
    if (live != 0 || destroyed.size() != static_cast<std::size_t>(n)) return false;
    for (const auto& d : destroyed) {
      if (d.second != 1) return false;
    }
    return true;
  }
};

// A move-only item that records its destruction in a ledger.
class tracked {
 public:
  tracked(ledger& l, int id) : l_(&l), id_(id) { ++l.live; }
  tracked(tracked&& o) noexcept : l_(o.l_), id_(o.id_) { o.l_ = nullptr; }
  tracked& operator=(tracked&& o) noexcept {
    if (this != &o) {
      drop();
      l_ = o.l_;
      id_ = o.id_;
      o.l_ = nullptr;
    }
    return *this;
  }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() { drop(); }
  int id() const { return id_; }

 private:
  void drop() noexcept {
    if (l_ == nullptr) return;
    --l_->live;
    ++l_->destroyed[id_];
    l_ = nullptr;
  }
  ledger* l_;
  int id_;
};

const char* const cancelled_while_waiting = "weft::async_queue: cancelled while waiting; nothing was queued or taken";

TEST(AsyncQueue, PushesWithRoomAndPopsWithItemsAreReadyAtOnceInOrder) {
  manual_executor ex;
  weft::async_queue<int> q(3, ex);
  EXPECT_EQ(q.capacity(), 3u);
  for (int i = 1; i <= 3; ++i) {
    weft::future<void> f = q.push(i);
    ASSERT_TRUE(f.is_ready());
    f.get();
  }
  EXPECT_EQ(q.size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    weft::future<int> f = q.pop();
    ASSERT_TRUE(f.is_ready());
    EXPECT_EQ(f.get(), i);
  }
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(ex.pending(), 0u);  // nothing needed the executor
}

TEST(AsyncQueue, ARingThatWrapsAroundAndGrowsKeepsTheOrder) {
  manual_executor ex;
  weft::async_queue<int> q(100, ex);
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 20; ++round) {  // fill levels up to 60, then down
    const int in = round < 10 ? 7 : 2;
    for (int i = 0; i < in; ++i) ASSERT_TRUE(q.try_push(next_in++));
    for (int i = 0; i < 3; ++i) {
      int v = -1;
      ASSERT_TRUE(q.try_pop(v));
      EXPECT_EQ(v, next_out++);
    }
  }
  int v = -1;
  while (q.try_pop(v)) EXPECT_EQ(v, next_out++);
  EXPECT_EQ(next_out, next_in);
}

TEST(AsyncQueue, APushWaitsWhileFullAndAPopMovesItsItemIntoTheFreedSlot) {
  manual_executor ex;
  weft::async_queue<int> q(1, ex);
  q.push(1).get();
  weft::future<void> second = q.push(2);
  weft::future<void> third = q.push(3);
  EXPECT_FALSE(second.is_ready());
  EXPECT_EQ(q.waiting_pushers(), 2u);
  EXPECT_EQ(q.size(), 1u);

  weft::future<int> a = q.pop();
  ASSERT_TRUE(a.is_ready());
  EXPECT_EQ(a.get(), 1);
  ASSERT_TRUE(second.is_ready());  // its item is in the slot now
  EXPECT_FALSE(third.is_ready());
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.waiting_pushers(), 1u);
  EXPECT_EQ(q.pop().get(), 2);
  EXPECT_EQ(q.pop().get(), 3);
  ASSERT_TRUE(third.is_ready());
  third.get();
  EXPECT_EQ(q.size(), 0u);
}

TEST(AsyncQueue, APopWaitsAndContinuesOnTheQueuesExecutorNotOnThePushingThread) {
  manual_executor ex;
  weft::async_queue<std::string> q(4, ex);
  std::string got;
  weft::future<void> done = q.pop().then([&got](std::string s) { got = s; });
  EXPECT_EQ(q.waiting_poppers(), 1u);
  weft::future<void> pushed = q.push("hello");
  ASSERT_TRUE(pushed.is_ready());   // handed straight to the waiting pop
  EXPECT_EQ(q.size(), 0u);          // never held in the queue
  EXPECT_EQ(q.waiting_poppers(), 0u);
  EXPECT_EQ(got, "");               // push() only handed the item over
  ex.run_all();
  EXPECT_EQ(got, "hello");
  EXPECT_TRUE(done.is_ready());
}

TEST(AsyncQueue, WaitingPopsAreServedFirstInFirstOut) {
  manual_executor ex;
  weft::async_queue<int> q(2, ex);
  std::vector<weft::future<int>> pops;
  for (int i = 0; i < 4; ++i) pops.push_back(q.pop());
  for (int i = 0; i < 4; ++i) q.push(10 + i).get();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pops[static_cast<std::size_t>(i)].is_ready());
    EXPECT_EQ(pops[static_cast<std::size_t>(i)].get(), 10 + i);
  }
}

TEST(AsyncQueue, WaitingPushesAreServedFirstInFirstOutSoOneProducersOrderHolds) {
  manual_executor ex;
  weft::async_queue<int> q(2, ex);
  std::vector<weft::future<void>> pushes;
  for (int i = 0; i < 10; ++i) pushes.push_back(q.push(i));  // one producer, not waiting in between
  EXPECT_EQ(q.waiting_pushers(), 8u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(q.pop().get(), i);
    // A pop lets exactly the oldest waiting push in.
    for (int j = 0; j < 10; ++j) EXPECT_EQ(pushes[static_cast<std::size_t>(j)].is_ready(), j < i + 3 || j < 2) << j;
  }
}

TEST(AsyncQueue, TryPushAndTryPopNeverWaitAndLeaveTheirArgumentAloneOnFailure) {
  manual_executor ex;
  weft::async_queue<std::unique_ptr<int>> q(1, ex);
  std::unique_ptr<int> out(new int(-1));
  EXPECT_FALSE(q.try_pop(out));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, -1);

  std::unique_ptr<int> a(new int(1));
  EXPECT_TRUE(q.try_push(std::move(a)));
  EXPECT_FALSE(a);
  std::unique_ptr<int> b(new int(2));
  EXPECT_FALSE(q.try_push(std::move(b)));  // full
  ASSERT_TRUE(b);                           // untouched
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(q.waiting_pushers(), 0u);       // try_push never queues

  EXPECT_TRUE(q.try_pop(out));
  EXPECT_EQ(*out, 1);
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(*out, 1);
}

TEST(AsyncQueue, TryPushHandsToAWaitingPopAndTryPopLetsAWaitingPushIn) {
  manual_executor ex;
  weft::async_queue<int> q(1, ex);
  weft::future<int> waiting = q.pop();
  const int three = 3;
  EXPECT_TRUE(q.try_push(three));  // the copying overload
  ASSERT_TRUE(waiting.is_ready());
  EXPECT_EQ(waiting.get(), 3);
  EXPECT_EQ(q.size(), 0u);

  q.push(4).get();
  weft::future<void> pushed = q.push(5);
  int v = 0;
  EXPECT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 4);
  ASSERT_TRUE(pushed.is_ready());
  EXPECT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 5);
}

TEST(AsyncQueue, AfterCloseAPopDrainsWhatWasPushedThenFailsWithQueueClosed) {
  manual_executor ex;
  weft::async_queue<int> q(4, ex);
  q.push(1).get();
  q.push(2).get();
  EXPECT_FALSE(q.is_closed());
  q.close();
  EXPECT_TRUE(q.is_closed());
  EXPECT_EQ(q.pop().get(), 1);
  int v = 0;
  EXPECT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 2);
  EXPECT_FALSE(q.try_pop(v));
  weft::future<int> end = q.pop();
  ASSERT_TRUE(end.is_ready());
  EXPECT_EQ(error_of<weft::queue_closed>(end), "weft::async_queue::pop: the queue is closed and drained");
  q.close();  // idempotent
  EXPECT_TRUE(q.is_closed());
}

TEST(AsyncQueue, APushAfterCloseFailsAndDestroysItsItemOnce) {
  manual_executor ex;
  ledger l;
  {
    weft::async_queue<tracked> q(4, ex);
    q.close();
    weft::future<void> f = q.push(tracked(l, 1));
    ASSERT_TRUE(f.is_ready());
    EXPECT_EQ(error_of<weft::queue_closed>(f), "weft::async_queue::push: the queue is closed");
    EXPECT_TRUE(l.each_destroyed_once(1));
    tracked t(l, 2);
    EXPECT_FALSE(q.try_push(std::move(t)));
    EXPECT_EQ(l.live, 1);  // t still owns its item
    EXPECT_EQ(t.id(), 2);
  }
  EXPECT_TRUE(l.each_destroyed_once(2));
}

TEST(AsyncQueue, PushesWaitingAtCloseFailAndTheirItemsAreDestroyedOnce) {
  manual_executor ex;
  ledger l;
  weft::async_queue<tracked> q(1, ex);
  q.push(tracked(l, 0)).get();
  weft::future<void> a = q.push(tracked(l, 1));
  weft::future<void> b = q.push(tracked(l, 2));
  EXPECT_EQ(l.live, 3);
  q.close();
  ASSERT_TRUE(a.is_ready());
  ASSERT_TRUE(b.is_ready());
  EXPECT_EQ(l.live, 1);  // only the item in the queue is left
  EXPECT_EQ(l.destroyed[1], 1);
  EXPECT_EQ(l.destroyed[2], 1);
  EXPECT_EQ(error_of<weft::queue_closed>(a),
            "weft::async_queue::push: the queue was closed while this push waited; the item was dropped");
  EXPECT_EQ(error_of<weft::queue_closed>(b),
            "weft::async_queue::push: the queue was closed while this push waited; the item was dropped");
  EXPECT_EQ(q.waiting_pushers(), 0u);
  EXPECT_EQ(q.pop().get().id(), 0);  // what was in is still drained
  EXPECT_TRUE(l.each_destroyed_once(3));
}

TEST(AsyncQueue, PopsWaitingAtCloseFailWithQueueClosed) {
  manual_executor ex;
  weft::async_queue<int> q(1, ex);
  bool ran = false;
  weft::future<void> a = q.pop().then_result([&ran](weft::result<int> r) {
    ran = true;
    EXPECT_THROW(r.value(), weft::queue_closed);
  });
  weft::future<int> b = q.pop();
  q.close();
  ASSERT_TRUE(b.is_ready());
  EXPECT_EQ(error_of<weft::queue_closed>(b), "weft::async_queue::pop: the queue was closed while this pop waited");
  EXPECT_FALSE(ran);  // continues on the executor
  ex.run_all();
  EXPECT_TRUE(ran);
  EXPECT_EQ(q.waiting_poppers(), 0u);
}

TEST(AsyncQueue, CapacityZeroIsAnInvalidArgumentNamingTheConstructor) {
  manual_executor ex;
  try {
    weft::async_queue<int> q(0, ex);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::async_queue::async_queue: capacity must be at least 1");
  }
}

TEST(AsyncQueue, ACancelledPopTakesNothingAndTheNextPopGetsTheItem) {
  manual_executor ex;
  weft::async_queue<int> q(2, ex);
  weft::cancellation_source src;
  weft::cancellation_token tok = src.token();
  weft::future<int> cancelled = q.pop(tok);
  weft::future<int> next = q.pop();
  EXPECT_EQ(tok.registered_callbacks(), 1u);
  src.cancel();
  EXPECT_EQ(tok.registered_callbacks(), 0u);
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled), cancelled_while_waiting);
  EXPECT_EQ(q.waiting_poppers(), 1u);
  q.push(7).get();
  ASSERT_TRUE(next.is_ready());
  EXPECT_EQ(next.get(), 7);
  q.push(8).get();
  EXPECT_EQ(q.size(), 1u);  // nobody took it
}

TEST(AsyncQueue, AGrantedPopKeepsItsItemWhenCancelledLater) {
  manual_executor ex;
  weft::async_queue<int> q(2, ex);
  weft::cancellation_source src;
  weft::cancellation_token tok = src.token();
  weft::future<int> f = q.pop(tok);
  q.push(5).get();
  EXPECT_EQ(tok.registered_callbacks(), 0u);  // gone with the wait
  src.cancel();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 5);
}

TEST(AsyncQueue, ATokenCancelledAlreadyFailsAtOnceAndChangesNothing) {
  manual_executor ex;
  ledger l;
  weft::async_queue<tracked> q(2, ex);
  q.push(tracked(l, 1)).get();
  weft::cancellation_source src;
  src.cancel();
  weft::future<tracked> p = q.pop(src.token());
  ASSERT_TRUE(p.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(p), "weft::async_queue::pop: cancelled before an item was taken");
  weft::future<void> s = q.push(tracked(l, 2), src.token());
  ASSERT_TRUE(s.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(s), "weft::async_queue::push: cancelled before the item was queued");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(l.destroyed[2], 1);
  EXPECT_EQ(q.pop().get().id(), 1);
}

TEST(AsyncQueue, ACancelledPushLeavesNoItemBehind) {
  manual_executor ex;
  ledger l;
  weft::async_queue<tracked> q(1, ex);
  q.push(tracked(l, 0)).get();
  weft::cancellation_source src;
  weft::future<void> cancelled = q.push(tracked(l, 1), src.token());
  weft::future<void> after = q.push(tracked(l, 2));
  EXPECT_EQ(q.waiting_pushers(), 2u);
  src.cancel();
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled), cancelled_while_waiting);
  EXPECT_EQ(l.destroyed[1], 1);  // gone before anyone saw the failure
  EXPECT_EQ(q.waiting_pushers(), 1u);
  EXPECT_EQ(q.pop().get().id(), 0);
  EXPECT_EQ(q.pop().get().id(), 2);  // item 1 never made it in
  ASSERT_TRUE(after.is_ready());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_TRUE(l.each_destroyed_once(3));
}

TEST(AsyncQueue, ADroppedPopFutureLosesNoItem) {
  manual_executor ex;
  weft::async_queue<int> q(2, ex);
  { weft::future<int> dropped = q.pop(); }
  weft::future<int> next = q.pop();
  { weft::future<int> dropped_too = q.pop(); }
  q.push(1).get();
  ASSERT_TRUE(next.is_ready());
  EXPECT_EQ(next.get(), 1);
  q.push(2).get();  // only an abandoned pop is left: the item is kept
  EXPECT_EQ(q.waiting_poppers(), 0u);
  EXPECT_EQ(q.size(), 1u);
  int v = 0;
  EXPECT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 2);
  { weft::future<int> dropped = q.pop(); }
  EXPECT_TRUE(q.try_push(3));  // try_push skips it too
  EXPECT_EQ(q.size(), 1u);
}

TEST(AsyncQueue, DestroyingItFailsItsWaitersAndDestroysEveryItemOnce) {
  manual_executor ex;
  ledger l;
  weft::future<tracked> pop;
  weft::future<void> push;
  {
    weft::async_queue<tracked> q(1, ex);
    pop = q.pop();
  }
  ASSERT_TRUE(pop.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(pop), "weft::async_queue: destroyed while this pop() was waiting");
  {
    weft::async_queue<tracked> q(1, ex);
    q.push(tracked(l, 1)).get();
    push = q.push(tracked(l, 2));
    EXPECT_EQ(l.live, 2);
  }
  EXPECT_TRUE(l.each_destroyed_once(2));
  ASSERT_TRUE(push.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(push), "weft::async_queue: destroyed while this push() was waiting");
}

TEST(AsyncQueue, ATimedOutPopTakesNothing) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::async_queue<int> q(1, ex);
  weft::cancellation_source src;
  weft::future<int> f = weft::timeout(svc, q.pop(src.token()), std::chrono::seconds(10), src);
  clk.advance(std::chrono::seconds(10));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  EXPECT_EQ(q.waiting_poppers(), 0u);
  q.push(3).get();
  EXPECT_EQ(q.size(), 1u);  // kept for the next pop
  EXPECT_EQ(q.pop().get(), 3);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(AsyncQueue, APopInTimeUnderWithTimeoutGetsItsItem) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::async_queue<std::unique_ptr<int>> q(1, ex);
  weft::cancellation_source src;
  auto f = weft::with_timeout(svc, q.pop(src.token()), std::chrono::seconds(10), src);
  q.push(std::unique_ptr<int>(new int(9))).get();
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  boost::optional<std::unique_ptr<int>> got = f.get();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(**got, 9);
  EXPECT_EQ(svc.pending(), 0u);
}

// --- races under the simulation -------------------------------------------

// A waiting pop, the push that would serve it and the cancel of its token,
// in every order the seeds pick: the item is either popped by the waiter
// or left for the next pop, never both, never neither.
TEST(AsyncQueue, CancelRacingPushUnderManySeedsNeitherLosesNorDuplicatesTheItem) {
  int popped = 0;
  int kept = 0;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    ledger l;
    {
      weft::testing::simulation sim(seed);
      weft::async_queue<tracked> q(1, sim.executor());
      weft::cancellation_source src;
      weft::future<tracked> pop;
      weft::future<void> push;
      auto& ex = sim.executor();
      ex.execute([&] { pop = q.pop(src.token()); });
      ex.execute([&] { push = q.push(tracked(l, 1)); });
      ex.execute([&] { src.cancel(); });
      sim.run();
      ASSERT_TRUE(pop.is_ready()) << "seed " << seed;
      ASSERT_TRUE(push.is_ready()) << "seed " << seed;
      push.get();
      int got = 0;
      try {
        got += pop.get().id();
        ++popped;
      } catch (const weft::cancelled_error&) {
      }
      tracked out(l, 99);
      if (q.try_pop(out)) {
        got += out.id();
        ++kept;
      }
      EXPECT_EQ(got, 1) << "seed " << seed;
      EXPECT_EQ(q.size(), 0u) << "seed " << seed;
    }
    ASSERT_EQ(l.live, 0) << "seed " << seed;
    for (const auto& d : l.destroyed) ASSERT_LE(d.second, 1) << "seed " << seed << " item " << d.first;
  }
  EXPECT_GT(popped, 0);  // both outcomes were explored
  EXPECT_GT(kept, 0);
}

// A waiting push (queue full), a pop that would let it in, and a cancel of
// the push: the item is in the queue exactly when the push succeeded.
TEST(AsyncQueue, CancelRacingPopUnderManySeedsLeavesTheItemExactlyWhenThePushSucceeded) {
  int in = 0;
  int out = 0;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    ledger l;
    {
      weft::testing::simulation sim(seed);
      weft::async_queue<tracked> q(1, sim.executor());
      q.push(tracked(l, 0)).get();
      weft::cancellation_source src;
      weft::future<tracked> pop;
      weft::future<void> push;
      auto& ex = sim.executor();
      ex.execute([&] { push = q.push(tracked(l, 1), src.token()); });
      ex.execute([&] { pop = q.pop(); });
      ex.execute([&] { src.cancel(); });
      sim.run();
      ASSERT_TRUE(pop.is_ready() && push.is_ready()) << "seed " << seed;
      EXPECT_EQ(pop.get().id(), 0) << "seed " << seed;
      bool pushed = true;
      try {
        push.get();
      } catch (const weft::cancelled_error&) {
        pushed = false;
      }
      tracked rest(l, 99);
      const bool held = q.try_pop(rest);
      EXPECT_EQ(held, pushed) << "seed " << seed;
      if (held) {
        EXPECT_EQ(rest.id(), 1) << "seed " << seed;
      }
      ++(pushed ? in : out);
    }
    ASSERT_EQ(l.live, 0) << "seed " << seed;
    for (const auto& d : l.destroyed) ASSERT_LE(d.second, 1) << "seed " << seed << " item " << d.first;
  }
  EXPECT_GT(in, 0);
  EXPECT_GT(out, 0);
}

// Three pushes (of two producers), two pops and a close, in any order:
// every push that succeeded is popped or left to drain, exactly once, in
// its producer's order; every failed push destroyed its item; every pop
// either got an item or saw queue_closed.
TEST(AsyncQueue, CloseRacingPushAndPopUnderManySeedsLosesAndDuplicatesNothing) {
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    ledger l;
    {
      weft::testing::simulation sim(seed);
      weft::async_queue<tracked> q(1, sim.executor());
      std::vector<weft::future<void>> pushes(3);
      std::vector<weft::future<tracked>> pops(2);
      auto& ex = sim.executor();
      // Producer A pushes 1 then (once that push is done) 2; producer B pushes 3.
      ex.execute([&] {
        pushes[0] = q.push(tracked(l, 1)).then_result([&](weft::result<void> r) {
          pushes[1] = q.push(tracked(l, 2));
          r.value();
        });
      });
      ex.execute([&] { pushes[2] = q.push(tracked(l, 3)); });
      std::vector<std::size_t> pop_order;  // pops are served in the order they were called
      ex.execute([&] {
        pops[0] = q.pop();
        pop_order.push_back(0);
      });
      ex.execute([&] {
        pops[1] = q.pop();
        pop_order.push_back(1);
      });
      ex.execute([&] { q.close(); });
      sim.run();
      std::vector<int> got;
      for (std::size_t k : pop_order) {
        weft::future<tracked>& p = pops[k];
        ASSERT_TRUE(p.is_ready()) << "seed " << seed;
        try {
          got.push_back(p.get().id());
        } catch (const weft::queue_closed&) {
        }
      }
      tracked rest(l, 99);
      while (q.try_pop(rest)) got.push_back(rest.id());
      std::vector<int> succeeded;
      const int ids[] = {1, 2, 3};
      for (std::size_t i = 0; i < 3; ++i) {
        if (!pushes[i].valid()) continue;  // 2 is pushed only after 1 succeeded
        ASSERT_TRUE(pushes[i].is_ready()) << "seed " << seed;
        try {
          pushes[i].get();
          succeeded.push_back(ids[i]);
        } catch (const weft::queue_closed&) {
          EXPECT_EQ(l.destroyed[ids[i]], 1) << "seed " << seed;
        }
      }
      std::vector<int> sorted_got = got;
      std::sort(sorted_got.begin(), sorted_got.end());
      EXPECT_EQ(sorted_got, succeeded) << "seed " << seed;
      auto pos = [&got](int id) { return std::find(got.begin(), got.end(), id) - got.begin(); };
      if (pos(2) != static_cast<std::ptrdiff_t>(got.size())) {
        EXPECT_LT(pos(1), pos(2)) << "seed " << seed;
      }
      EXPECT_TRUE(q.is_closed());
    }
    ASSERT_EQ(l.live, 0) << "seed " << seed;
    for (const auto& d : l.destroyed) ASSERT_LE(d.second, 1) << "seed " << seed << " item " << d.first;
  }
}

}  // namespace
