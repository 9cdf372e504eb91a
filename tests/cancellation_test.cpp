// Cancellation: sources, tokens, callbacks and linked sources, and the
// tokens taken by async(), then() and offload(). Races between
// registration, destruction and cancel() at volume are in
// tests/stress/cancellation_stress.cpp.
#include "weft/cancellation.hpp"

#include <array>
#include <condition_variable>
#include <mutex>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <boost/chrono.hpp>
#include <boost/thread/thread.hpp>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "witness.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/blocking_pool.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_executor;

using weft_test::witness;

// Attaches to `f` a continuation on the inline executor that records how
// many witnesses were alive when `f` resolved, and returns that number
// once it is known (-1 if `f` did not resolve in time).
template <class T>
int alive_when_resolved(weft::future<T> f, const std::shared_ptr<std::atomic<int>>& live) {
  auto seen = std::move(f).then_result(weft::inline_executor(), [live](weft::result<T>) { return live->load(); });
  return get_within(seen);
}

// ---- sources and tokens -------------------------------------------------------

TEST(CancellationSource, CancelReturnsTrueOnlyForTheCallThatCancelled) {
  weft::cancellation_source src;
  EXPECT_FALSE(src.is_cancelled());
  EXPECT_TRUE(src.cancel());
  EXPECT_TRUE(src.is_cancelled());
  EXPECT_FALSE(src.cancel());
  EXPECT_FALSE(src.cancel());
  EXPECT_TRUE(src.is_cancelled());
}

TEST(CancellationSource, CopiesShareOneState) {
  weft::cancellation_source a;
  weft::cancellation_source b = a;
  weft::cancellation_token t = b.token();
  EXPECT_TRUE(a.cancel());
  EXPECT_TRUE(b.is_cancelled());
  EXPECT_TRUE(t.is_cancelled());
  EXPECT_FALSE(b.cancel());  // the state was cancelled through a
}

TEST(CancellationSource, DistinctSourcesAreIndependent) {
  weft::cancellation_source a, b;
  a.cancel();
  EXPECT_FALSE(b.is_cancelled());
  EXPECT_FALSE(b.token().is_cancelled());
}

TEST(CancellationSource, AMovedFromSourceCancelsNothing) {
  weft::cancellation_source a;
  weft::cancellation_token t = a.token();
  weft::cancellation_source b = std::move(a);
  EXPECT_FALSE(a.cancel());  // NOLINT(bugprone-use-after-move): documented
  EXPECT_FALSE(a.token().can_be_cancelled());
  EXPECT_FALSE(t.is_cancelled());
  EXPECT_TRUE(b.cancel());
  EXPECT_TRUE(t.is_cancelled());
}

TEST(CancellationToken, ADefaultTokenIsNeverCancelled) {
  weft::cancellation_token t;
  EXPECT_FALSE(t.is_cancelled());
  EXPECT_FALSE(t.can_be_cancelled());
  EXPECT_NO_THROW(t.throw_if_cancelled());
  EXPECT_EQ(t.registered_callbacks(), 0u);
  int ran = 0;
  {
    weft::cancellation_callback cb(t, [&] { ++ran; });
    EXPECT_EQ(t.registered_callbacks(), 0u);
  }
  EXPECT_EQ(ran, 0);
}

TEST(CancellationToken, ThrowIfCancelledThrowsCancelledErrorOnceCancelled) {
  weft::cancellation_source src;
  weft::cancellation_token t = src.token();
  EXPECT_NO_THROW(t.throw_if_cancelled());
  src.cancel();
  EXPECT_THROW(t.throw_if_cancelled(), weft::cancelled_error);
  try {
    t.throw_if_cancelled();
  } catch (const std::runtime_error& e) {  // cancelled_error is a runtime_error
    EXPECT_NE(std::string(e.what()).find("cancel"), std::string::npos) << e.what();
  }
}

TEST(CancellationToken, CanBeCancelledWhileASourceLivesOrOnceCancelled) {
  weft::cancellation_token t;
  {
    weft::cancellation_source src;
    t = src.token();
    EXPECT_TRUE(t.can_be_cancelled());
  }
  EXPECT_FALSE(t.can_be_cancelled());  // nothing can cancel it any more
  EXPECT_FALSE(t.is_cancelled());

  weft::cancellation_token u;
  {
    weft::cancellation_source src;
    u = src.token();
    src.cancel();
  }
  EXPECT_TRUE(u.can_be_cancelled());
  EXPECT_TRUE(u.is_cancelled());
}

TEST(CancellationToken, ATokenOutlivesItsSourceAndSeesItsLastWord) {
  weft::cancellation_token t;
  {
    weft::cancellation_source src;
    t = src.token();
    src.cancel();
  }
  EXPECT_TRUE(t.is_cancelled());
  weft::cancellation_token copy = t;
  EXPECT_TRUE(copy.is_cancelled());
}

// ---- callbacks --------------------------------------------------------------

TEST(CancellationCallback, RunsOnCancelOnTheCancellingThreadExactlyOnce) {
  weft::cancellation_source src;
  std::atomic<int> runs{0};
  std::thread::id ran_on;
  weft::cancellation_callback cb(src.token(), [&] {
    ++runs;
    ran_on = std::this_thread::get_id();
  });
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(src.token().registered_callbacks(), 1u);
  weft_test::joining_thread canceller([&] { EXPECT_TRUE(src.cancel()); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(ran_on, canceller_id);
  EXPECT_FALSE(src.cancel());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
}

TEST(CancellationCallback, RegisteredAfterCancelRunsAtOnceOnThisThreadExactlyOnce) {
  weft::cancellation_source src;
  src.cancel();
  int runs = 0;
  std::thread::id ran_on;
  {
    weft::cancellation_callback cb(src.token(), [&] {
      ++runs;
      ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(runs, 1);  // before the constructor returned
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_EQ(src.token().registered_callbacks(), 0u);
    EXPECT_FALSE(src.cancel());
  }
  EXPECT_EQ(runs, 1);  // the destructor does not run it again
}

TEST(CancellationCallback, EveryCallbackRunsOnceNewestFirst) {
  weft::cancellation_source src;
  std::vector<int> order;
  std::vector<std::unique_ptr<weft::cancellation_callback>> cbs;
  for (int i = 0; i < 5; ++i) {
    cbs.emplace_back(new weft::cancellation_callback(src.token(), [&order, i] { order.push_back(i); }));
  }
  EXPECT_EQ(src.token().registered_callbacks(), 5u);
  src.cancel();
  EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
  src.cancel();
  cbs.clear();
  EXPECT_EQ(order.size(), 5u);
}

TEST(CancellationCallback, ADestroyedCallbackNeverRuns) {
  weft::cancellation_source src;
  int first = 0, second = 0, third = 0;
  weft::cancellation_callback a(src.token(), [&] { ++first; });
  { weft::cancellation_callback b(src.token(), [&] { ++second; }); }
  weft::cancellation_callback c(src.token(), [&] { ++third; });
  EXPECT_EQ(src.token().registered_callbacks(), 2u);
  src.cancel();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(third, 1);
}

// The destructor of a callback whose function runs on another thread
// returns only after the function has. The function waits until the
// destroyer is about to destroy it and then keeps running a little: a
// destructor that did not wait would return while it runs and see
// `finished` still false (this ordering cannot make a correct destructor
// fail).
TEST(CancellationCallback, DestroyingItWhileItRunsOnAnotherThreadWaitsForIt) {
  for (int round = 0; round < 20; ++round) {
    weft::cancellation_source src;
    weft_test::latch entered(1);
    weft_test::latch destroying(1);
    std::atomic<bool> finished{false};
    auto cb = std::unique_ptr<weft::cancellation_callback>(new weft::cancellation_callback(src.token(), [&] {
      entered.count_down();
      EXPECT_TRUE(destroying.wait_within());
      for (int i = 0; i < 100; ++i) {
        weft_test::spin_for(200);
        std::this_thread::yield();
      }
      finished = true;
    }));
    weft_test::joining_thread canceller([&] { src.cancel(); });
    ASSERT_TRUE(entered.wait_within());
    destroying.count_down();
    cb.reset();  // must wait for the function
    EXPECT_TRUE(finished.load()) << "round " << round;
    canceller.join();
  }
}

TEST(CancellationCallback, DestroyingItFromInsideItsOwnFunctionDoesNotWait) {
  weft::cancellation_source src;
  int earlier = 0, runs = 0;
  weft::cancellation_callback older(src.token(), [&] { ++earlier; });  // runs after the newer one
  std::unique_ptr<weft::cancellation_callback> self;
  self.reset(new weft::cancellation_callback(src.token(), [&] {
    ++runs;
    self.reset();  // would deadlock if it waited for itself
  }));
  weft_test::joining_thread canceller([&] { src.cancel(); });
  canceller.join();  // the watchdog ends the test if this hangs
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(self, nullptr);
  EXPECT_EQ(earlier, 1);
}

TEST(CancellationCallback, AFunctionMayDestroyACallbackThatHasNotRunYet) {
  weft::cancellation_source src;
  int victim_runs = 0;
  std::unique_ptr<weft::cancellation_callback> victim(
      new weft::cancellation_callback(src.token(), [&] { ++victim_runs; }));
  weft::cancellation_callback killer(src.token(), [&] { victim.reset(); });  // newer: runs first
  src.cancel();
  EXPECT_EQ(victim, nullptr);
  EXPECT_EQ(victim_runs, 0);
}

TEST(CancellationCallback, AFunctionMayDestroyTheLastSourceAndToken) {
  std::unique_ptr<weft::cancellation_source> src(new weft::cancellation_source);
  int runs = 0;
  std::unique_ptr<weft::cancellation_callback> cb;
  weft::cancellation_callback first(src->token(), [&] { ++runs; });
  cb.reset(new weft::cancellation_callback(src->token(), [&] {
    ++runs;
    src.reset();  // the state stays alive until cancel() returns
    cb.reset();   // last: it destroys this function's captures
  }));
  weft::cancellation_source* raw = src.get();
  raw->cancel();  // ASan: nothing is touched after it is freed
  EXPECT_EQ(runs, 2);
}

// The only callback destroys the source and itself: cancel() runs a single
// callback without a reference of its own and must touch nothing after it.
TEST(CancellationCallback, TheOnlyFunctionMayDestroyTheSourceAndItself) {
  std::unique_ptr<weft::cancellation_source> src(new weft::cancellation_source);
  int runs = 0;
  std::unique_ptr<weft::cancellation_callback> cb;
  cb.reset(new weft::cancellation_callback(src->token(), [&] {
    ++runs;
    src.reset();
    cb.reset();  // last: it destroys this function's captures
  }));
  weft::cancellation_source* raw = src.get();
  EXPECT_TRUE(raw->cancel());  // ASan: nothing is touched after it is freed
  EXPECT_EQ(runs, 1);
}

// The first of two callbacks to run destroys the other (not yet run), the
// source and itself: the list is then empty when cancel() takes it again.
TEST(CancellationCallback, AFunctionMayEmptyTheListAndDestroyEverything) {
  std::unique_ptr<weft::cancellation_source> src(new weft::cancellation_source);
  int other_runs = 0, runs = 0;
  std::unique_ptr<weft::cancellation_callback> other(
      new weft::cancellation_callback(src->token(), [&] { ++other_runs; }));
  std::unique_ptr<weft::cancellation_callback> cb;
  cb.reset(new weft::cancellation_callback(src->token(), [&] {
    ++runs;
    other.reset();
    src.reset();
    cb.reset();
  }));
  weft::cancellation_source* raw = src.get();
  EXPECT_TRUE(raw->cancel());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(other_runs, 0);
}

TEST(CancellationCallback, AThrowingFunctionIsReportedAndTheOthersStillRun) {
  error_capture errors;
  weft::cancellation_source src;
  int a = 0, c = 0;
  weft::cancellation_callback ca(src.token(), [&] { ++a; });
  weft::cancellation_callback cb(src.token(), [] { throw std::runtime_error("callback threw"); });
  weft::cancellation_callback cc(src.token(), [&] { ++c; });
  EXPECT_TRUE(src.cancel());  // cancel() itself never throws
  EXPECT_EQ(a, 1);
  EXPECT_EQ(c, 1);
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "callback threw");
}

TEST(CancellationCallback, AThrowingFunctionRunAtOnceIsReportedNotThrown) {
  error_capture errors;
  weft::cancellation_source src;
  src.cancel();
  EXPECT_NO_THROW(weft::cancellation_callback(src.token(), [] { throw std::logic_error("late callback threw"); }));
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "late callback threw");
}

TEST(CancellationCallback, TheFunctionAndItsCapturesDieWithTheCallback) {
  auto small = std::make_shared<int>(1);
  auto large = std::make_shared<int>(2);
  std::array<char, 256> big{};  // too large to be stored inline
  weft::cancellation_source src;
  int sum = 0;
  {
    weft::cancellation_callback a(src.token(), [&sum, s = small] { sum += *s; });
    weft::cancellation_callback b(src.token(), [&sum, l = large, big] { sum += *l + big[0]; });
    EXPECT_EQ(small.use_count(), 2);
    EXPECT_EQ(large.use_count(), 2);
    src.cancel();
    EXPECT_EQ(sum, 3);
    EXPECT_EQ(small.use_count(), 2);  // run, not yet destroyed
  }
  EXPECT_EQ(small.use_count(), 1);
  EXPECT_EQ(large.use_count(), 1);
  {
    weft::cancellation_callback never(weft::cancellation_token(), [s = small] { (void)s; });
    EXPECT_EQ(small.use_count(), 2);
  }
  EXPECT_EQ(small.use_count(), 1);
}

TEST(CancellationCallback, ACallbackKeepsTheStateAliveAfterTheSourceAndTokensDie) {
  int runs = 0;
  std::unique_ptr<weft::cancellation_callback> cb;
  {
    weft::cancellation_source src;
    cb.reset(new weft::cancellation_callback(src.token(), [&] { ++runs; }));
  }
  cb.reset();  // ASan: deregisters from a state only the callback keeps
  EXPECT_EQ(runs, 0);
}

// ---- linked sources -----------------------------------------------------------

TEST(LinkedSource, IsCancelledWithItsParentAndRunsItsCallbacks) {
  weft::cancellation_source parent;
  weft::cancellation_source child(parent.token());
  int runs = 0;
  weft::cancellation_callback cb(child.token(), [&] { ++runs; });
  EXPECT_EQ(parent.token().registered_callbacks(), 1u);  // the link
  EXPECT_TRUE(parent.cancel());
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(child.token().is_cancelled());
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(child.cancel());  // already cancelled, through the parent
}

TEST(LinkedSource, CancellingTheChildDoesNotCancelTheParent) {
  weft::cancellation_source parent;
  weft::cancellation_source child(parent.token());
  weft::cancellation_source sibling(parent.token());
  EXPECT_TRUE(child.cancel());
  EXPECT_FALSE(parent.is_cancelled());
  EXPECT_FALSE(sibling.is_cancelled());
  EXPECT_TRUE(parent.cancel());
  EXPECT_TRUE(sibling.is_cancelled());
}

TEST(LinkedSource, ParentCancelledAfterTheChildDiedIsFine) {
  weft::cancellation_source parent;
  weft::cancellation_token kept;
  {
    weft::cancellation_source child(parent.token());
    kept = child.token();
    EXPECT_EQ(parent.token().registered_callbacks(), 1u);
  }
  EXPECT_EQ(parent.token().registered_callbacks(), 0u);
  EXPECT_TRUE(parent.cancel());
  EXPECT_FALSE(kept.is_cancelled());  // detached before the parent was cancelled
  EXPECT_FALSE(kept.can_be_cancelled());
}

TEST(LinkedSource, ChildOfACancelledParentStartsCancelled) {
  weft::cancellation_source parent;
  parent.cancel();
  weft::cancellation_source child(parent.token());
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_EQ(parent.token().registered_callbacks(), 0u);
}

TEST(LinkedSource, ChildOfADefaultTokenIsIndependent) {
  weft::cancellation_source child{weft::cancellation_token()};
  EXPECT_FALSE(child.is_cancelled());
  EXPECT_TRUE(child.cancel());
}

TEST(LinkedSource, CancellationReachesGrandchildren) {
  weft::cancellation_source root;
  weft::cancellation_source mid(root.token());
  weft::cancellation_source leaf(mid.token());
  int runs = 0;
  weft::cancellation_callback cb(leaf.token(), [&] { ++runs; });
  root.cancel();
  EXPECT_TRUE(mid.is_cancelled());
  EXPECT_TRUE(leaf.is_cancelled());
  EXPECT_EQ(runs, 1);
}

TEST(LinkedSource, CopiesKeepTheLinkUntilTheLastOneDies) {
  weft::cancellation_source parent;
  auto child = std::unique_ptr<weft::cancellation_source>(new weft::cancellation_source(parent.token()));
  weft::cancellation_source copy = *child;
  child.reset();
  EXPECT_EQ(parent.token().registered_callbacks(), 1u);
  parent.cancel();
  EXPECT_TRUE(copy.is_cancelled());
}

TEST(LinkedSource, HundredThousandShortLivedChildrenLeaveNothingOnTheParent) {
  weft::cancellation_source parent;
  const weft::cancellation_token pt = parent.token();
  for (int i = 0; i < 100000; ++i) {
    weft::cancellation_source child(pt);
    weft::cancellation_callback cb(child.token(), [] {});
    if (i == 0) {
      EXPECT_EQ(pt.registered_callbacks(), 1u);
    }
  }
  EXPECT_EQ(pt.registered_callbacks(), 0u);
  weft::cancellation_source last(pt);
  EXPECT_TRUE(parent.cancel());
  EXPECT_TRUE(last.is_cancelled());
}

// A child's callback destroys the child's last source while the parent's
// cancel runs the link to that child (same thread): no wait, and nothing
// is touched after it is freed (ASan).
TEST(LinkedSource, TheChildsLastSourceMayDieInsideTheParentsCancel) {
  weft::cancellation_source parent;
  std::unique_ptr<weft::cancellation_source> child(new weft::cancellation_source(parent.token()));
  std::unique_ptr<weft::cancellation_callback> cb;
  int runs = 0;
  cb.reset(new weft::cancellation_callback(child->token(), [&] {
    ++runs;
    child.reset();
    cb.reset();  // last: it destroys this function's captures
  }));
  EXPECT_TRUE(parent.cancel());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(child, nullptr);
  EXPECT_EQ(parent.token().registered_callbacks(), 0u);
}

// The parent's canceller runs the link on one thread while the child's
// last source dies on another: the destructor waits for the link's run,
// which cancels the child and runs its callback, before the child's state
// can go. The callback keeps running a little after the destroyer starts,
// as in DestroyingItWhileItRunsOnAnotherThreadWaitsForIt.
TEST(LinkedSource, TheChildsLastSourceDyingDuringTheParentsCancelWaitsForIt) {
  for (int round = 0; round < 20; ++round) {
    weft::cancellation_source parent;
    std::unique_ptr<weft::cancellation_source> child(new weft::cancellation_source(parent.token()));
    weft_test::latch entered(1);
    weft_test::latch destroying(1);
    std::atomic<int> runs{0};
    weft::cancellation_callback cb(child->token(), [&] {
      entered.count_down();
      EXPECT_TRUE(destroying.wait_within());
      for (int i = 0; i < 100; ++i) {
        weft_test::spin_for(200);
        std::this_thread::yield();
      }
      ++runs;
    });
    weft_test::joining_thread canceller([&] { parent.cancel(); });
    ASSERT_TRUE(entered.wait_within());
    destroying.count_down();
    child.reset();
    EXPECT_EQ(runs.load(), 1) << "round " << round;
    canceller.join();
    EXPECT_EQ(parent.token().registered_callbacks(), 0u);
  }
}

// ---- async with a token ---------------------------------------------------------

TEST(AsyncWithToken, RunsAsAsyncWhenNotCancelled) {
  weft::thread_pool pool(2);
  weft::cancellation_source src;
  EXPECT_EQ(get_within(weft::async(pool, src.token(), [] { return 6 * 7; })), 42);
  EXPECT_EQ(get_within(weft::async(pool, weft::cancellation_token(), [] { return 1; })), 1);
}

TEST(AsyncWithToken, CancelledBeforeTheTaskStartsItNeverRunsAndFailsWithCancelled) {
  manual_executor ex;
  weft::cancellation_source src;
  bool ran = false;
  auto f = weft::async(ex, src.token(), [&] {
    ran = true;
    return 1;
  });
  src.cancel();
  EXPECT_FALSE(f.is_ready());  // checked when the task starts, not before
  ASSERT_EQ(ex.run_all(), 1u);
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::cancelled_error);
  EXPECT_FALSE(ran);
}

TEST(AsyncWithToken, TheCallableAndItsCapturesDieBeforeTheCancelledFutureResolves) {
  manual_executor ex;
  weft::cancellation_source src;
  auto live = std::make_shared<std::atomic<int>>(0);
  auto f = weft::async(ex, src.token(), [w = witness(live)] { return 1; });
  EXPECT_EQ(live->load(), 1);
  src.cancel();
  weft_test::joining_thread runner([&] { ex.run_all(); });
  EXPECT_EQ(alive_when_resolved(std::move(f), live), 0);
}

TEST(AsyncWithToken, TheCallableMayPollTheTokenToStopPartWay) {
  weft::thread_pool pool(2);
  weft::cancellation_source src;
  weft_test::latch started(1);
  std::atomic<int> steps{0};
  auto f = weft::async(pool, src.token(), [&, t = src.token()] {
    started.count_down();
    for (;;) {
      t.throw_if_cancelled();
      ++steps;
      std::this_thread::yield();
    }
  });
  ASSERT_TRUE(started.wait_within());
  src.cancel();
  EXPECT_THROW(get_within(f), weft::cancelled_error);
}

TEST(AsyncWithToken, AReturnedFutureIsUnwrapped) {
  weft::thread_pool pool(2);
  weft::cancellation_source src;
  auto f = weft::async(pool, src.token(), [&pool] { return weft::async(pool, [] { return 5; }); });
  EXPECT_EQ(get_within(f), 5);
}

// ---- then with a token ---------------------------------------------------------

TEST(ThenWithToken, RunsAsThenWhenNotCancelled) {
  weft::thread_pool pool(2);
  weft::cancellation_source src;
  auto f = weft::async(pool, [] { return 20; }).then(src.token(), [](int v) { return v + 1; });
  EXPECT_EQ(get_within(f), 21);
  auto g = weft::async(pool, [] {}).then(src.token(), [] { return 2; });
  EXPECT_EQ(get_within(g), 2);
}

TEST(ThenWithToken, CancelledBeforeTheContinuationStartsFnIsDroppedUnrun) {
  manual_executor ex;
  weft::cancellation_source src;
  weft::promise<int> p(ex);
  auto live = std::make_shared<std::atomic<int>>(0);
  bool ran = false;
  auto f = p.get_future().then(src.token(), [&ran, w = witness(live)](int v) {
    ran = true;
    return v;
  });
  p.set_value(1);
  src.cancel();  // the continuation is queued, not started
  EXPECT_EQ(live->load(), 1);
  weft_test::joining_thread runner([&] { ex.run_all(); });
  EXPECT_EQ(alive_when_resolved(std::move(f), live), 0);
  EXPECT_FALSE(ran);
}

TEST(ThenWithToken, ItsFutureFailsWithCancelledError) {
  manual_executor ex;
  weft::cancellation_source src;
  src.cancel();
  auto f = weft::make_ready_future(1, ex).then(src.token(), [](int v) { return v; });
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::cancelled_error);
}

TEST(ThenWithToken, CancellationStopsTheRestOfAChain) {
  manual_executor ex;
  weft::cancellation_source src;
  std::vector<int> ran;
  auto f = weft::make_ready_future(0, ex)
               .then(src.token(),
                     [&](int v) {
                       ran.push_back(1);
                       src.cancel();  // from inside a step: the next ones do not start
                       return v + 1;
                     })
               .then(src.token(), [&](int v) {
                 ran.push_back(2);
                 return v + 1;
               })
               .then(src.token(), [&](int v) {
                 ran.push_back(3);
                 return v + 1;
               });
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), weft::cancelled_error);
  EXPECT_EQ(ran, std::vector<int>{1});
}

TEST(ThenWithToken, AnErrorPassesOnAsWithThen) {
  manual_executor ex;
  weft::cancellation_source src;
  src.cancel();
  auto f = weft::make_exceptional_future<int>(std::runtime_error("input failed"), ex).then(src.token(), [](int v) {
    return v;
  });
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(ThenWithToken, WithAnExecutorRunsThere) {
  weft::thread_pool pool(2);
  manual_executor ex;
  weft::cancellation_source src;
  bool ran_here = false;
  auto f = weft::make_ready_future(3, pool).then(ex, src.token(), [&](int v) {
    ran_here = true;
    return v * 2;
  });
  // The input is ready: then() hands the continuation to `ex` at once.
  ASSERT_EQ(ex.run_all(), 1u);
  EXPECT_EQ(get_within(f), 6);
  EXPECT_TRUE(ran_here);

  auto g = weft::make_ready_future(3, pool).then(ex, src.token(), [](int v) { return v; });
  src.cancel();
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  EXPECT_THROW(g.get(), weft::cancelled_error);
}

TEST(ThenWithToken, OnASharedFuture) {
  manual_executor ex;
  weft::cancellation_source src;
  weft::promise<int> p(ex);
  weft::shared_future<int> s = p.get_future().share();
  auto kept = s.then(src.token(), [](int v) { return v + 1; });
  auto dropped = s.then(ex, src.token(), [](int v) { return v + 2; });
  auto plain = s.then([](int v) { return v + 3; });
  p.set_value(10);
  ex.run_one();  // the first continuation runs before the cancel
  src.cancel();
  ex.run_all();
  EXPECT_EQ(kept.get(), 11);
  EXPECT_THROW(dropped.get(), weft::cancelled_error);
  EXPECT_EQ(plain.get(), 13);
}

// ---- offload with a token: what tests/blocking_pool_test.cpp does not cover ------

TEST(OffloadWithToken, TheCallableDiesBeforeTheCancelledFutureResolves) {
  weft::blocking_pool pool(1);
  weft_test::gate release;
  weft_test::latch started(1);
  auto blocker = weft::offload(pool, [&] {
    started.count_down();
    return release.wait_within();
  });
  ASSERT_TRUE(started.wait_within());
  weft::cancellation_source src;
  auto live = std::make_shared<std::atomic<int>>(0);
  auto f = weft::offload(pool, src.token(), [w = witness(live)] { return 1; });
  src.cancel();
  release.open();
  EXPECT_EQ(alive_when_resolved(std::move(f), live), 0);
  EXPECT_TRUE(get_within(blocker));
}

// A call that interruption cannot reach (here a plain std::condition_variable
// wait) is stopped by a callback on the same token that makes it return.
TEST(OffloadWithToken, ACallbackStopsACallThatInterruptionCannotReach) {
  weft::blocking_pool pool(1);
  weft::cancellation_source src;
  std::mutex m;
  std::condition_variable cv;
  bool closed = false;
  weft_test::latch waiting(1);
  weft::cancellation_callback close_it(src.token(), [&] {
    std::lock_guard<std::mutex> lock(m);
    closed = true;
    cv.notify_all();
  });
  auto f = weft::offload(pool, src.token(), [&] {
    std::unique_lock<std::mutex> lock(m);
    waiting.count_down();
    cv.wait(lock, [&] { return closed; });  // not an interruption point
    return std::string("returned when its wait was released");
  });
  ASSERT_TRUE(waiting.wait_within());
  src.cancel();
  EXPECT_EQ(get_within(f), "returned when its wait was released");
}

}  // namespace
