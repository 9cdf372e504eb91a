// promise<T>: satisfied exactly once, broken when dropped, and its future's
// continuations run on the promise's executor, never on the thread that
// called set_value.
#include "weft/promise.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_executor;

using weft_test::future_error_reason;

std::exception_ptr error(const char* what) { return std::make_exception_ptr(std::runtime_error(what)); }

TEST(Promise, SetValueReachesTheFuture) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_FALSE(f.is_ready());
  p.set_value(3);
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 3);
}

TEST(Promise, SetValueBeforeGetFutureIsKept) {
  weft::promise<std::string> p(weft::inline_executor());
  p.set_value("early");
  EXPECT_EQ(p.get_future().get(), "early");
}

TEST(Promise, SecondSetValueThrowsAlreadySatisfied) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  p.set_value(1);
  EXPECT_EQ(future_error_reason([&] { p.set_value(2); }), weft::future_errc::already_satisfied);
  EXPECT_EQ(f.get(), 1);  // the first value stands
}

TEST(Promise, SetExceptionAfterSetValueThrowsAlreadySatisfied) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  p.set_value(1);
  EXPECT_EQ(future_error_reason([&] { p.set_exception(error("late")); }), weft::future_errc::already_satisfied);
  EXPECT_EQ(f.get(), 1);
}

TEST(Promise, SetValueAfterSetExceptionThrowsAlreadySatisfied) {
  weft::promise<void> p(weft::inline_executor());
  auto f = p.get_future();
  p.set_exception(error("first"));
  EXPECT_EQ(future_error_reason([&] { p.set_value(); }), weft::future_errc::already_satisfied);
  EXPECT_EQ(future_error_reason([&] { p.set_exception(error("second")); }), weft::future_errc::already_satisfied);
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
}

TEST(Promise, GetFutureTwiceThrowsAlreadyRetrieved) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_EQ(future_error_reason([&] { (void)p.get_future(); }), weft::future_errc::already_retrieved);
  p.set_value(1);
  EXPECT_EQ(f.get(), 1);
}

TEST(Promise, DestroyedUnsatisfiedPromiseBreaksItsFuture) {
  weft::future<int> f;
  {
    weft::promise<int> p(weft::inline_executor());
    f = p.get_future();
  }
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(future_error_reason([&] { f.get(); }), weft::future_errc::broken_promise);
}

TEST(Promise, BrokenPromiseCanBeCaughtAsItsOwnType) {
  weft::future<void> f;
  { weft::promise<void> p(weft::inline_executor()); f = p.get_future(); }
  EXPECT_THROW(f.get(), weft::broken_promise);
}

TEST(Promise, DestroyedAfterSatisfactionDoesNotBreakTheFuture) {
  weft::future<int> f;
  {
    weft::promise<int> p(weft::inline_executor());
    f = p.get_future();
    p.set_value(10);
  }
  EXPECT_EQ(f.get(), 10);
}

TEST(Promise, ReaderMayDestroyThePromiseAsSoonAsGetReturns) {
  // The promise lives on the reader's stack and dies right after get():
  // set_value must not touch the promise once the value is published.
  error_capture errors;
  weft::thread_pool pool(2);
  for (int i = 0; i < 10000; ++i) {
    weft::promise<int> p(pool);
    auto f = p.get_future();
    pool.execute([&p, i] { p.set_value(i); });
    ASSERT_EQ(get_within(f), i);
  }
  pool.shutdown();
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Promise, ABreakNobodyLooksAtIsReportedOnceWhenItsFutureIsDropped) {
  error_capture errors;
  {
    weft::future<int> f;
    {
      weft::promise<int> p(weft::inline_executor());
      f = p.get_future();
    }  // broken while the future could still see it
    EXPECT_EQ(errors.count(), 0u);
  }  // ... and dropped unseen
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_THROW(std::rethrow_exception(errors.errors()[0]), weft::broken_promise);
}

TEST(Promise, APromiseDroppedAfterItsFutureReportsNothing) {
  // The caller lost interest first (std::future code does this all the
  // time): nobody can observe the break, so nothing is stored or reported.
  error_capture errors;
  {
    weft::promise<int> p(weft::inline_executor());
    { auto f = p.get_future(); }
  }
  {
    weft::promise<int> p(weft::inline_executor());
    auto f = p.get_future();
    weft::future<int> keep = std::move(f);
    keep = weft::future<int>();
  }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Promise, APromiseDroppedWhileAContinuationWaitsBreaksIt) {
  error_capture errors;
  weft::future<std::string> g;
  {
    weft::promise<int> p(weft::inline_executor());
    g = p.get_future().then_result([](weft::result<int> r) {
      return std::string(r.has_value() ? "value" : "error");
    });
  }
  EXPECT_EQ(g.get(), "error");
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Promise, RacingSettersHaveExactlyOneWinnerAndTheLosersSeeAlreadySatisfied) {
  // The full-size race (8 threads x 10,000 rounds) is in the stress suite;
  // this is the quick one.
  constexpr int threads = 4;
  for (int round = 0; round < 200; ++round) {
    weft::promise<int> p(weft::inline_executor());
    std::atomic<int> runs{0};
    auto g = p.get_future().then_result([&runs](weft::result<int> r) {
      runs.fetch_add(1);
      return r.has_value() ? r.value() : -1;
    });
    std::atomic<int> winners{0}, losers{0};
    weft_test::spin_barrier start(threads);
    std::vector<weft_test::joining_thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          if (t % 2 == 0) {
            p.set_value(t);
          } else {
            p.set_exception(std::make_exception_ptr(std::runtime_error("lost")));
          }
          winners.fetch_add(1);
        } catch (const weft::future_error& e) {
          if (e.reason() == weft::future_errc::already_satisfied) losers.fetch_add(1);
        }
      });
    }
    for (auto& t : ts) t.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(losers.load(), threads - 1) << "round " << round;
    get_within(g);
    ASSERT_EQ(runs.load(), 1) << "round " << round;
  }
}

TEST(Promise, ASetterWhoseValueThrowsLeavesThePromiseSettable) {
  struct throws_once {
    explicit throws_once(bool fail) : v(1) {
      if (fail) throw std::runtime_error("value constructor");
    }
    int v;
  };
  weft::promise<throws_once> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_THROW(p.set_value(true), std::runtime_error);
  p.set_value(false);
  EXPECT_EQ(f.get().v, 1);
  EXPECT_THROW(p.set_value(false), weft::future_error);
}

TEST(Promise, UnsatisfiedPromiseWhoseFutureWasNeverRetrievedReportsNothing) {
  error_capture errors;
  { weft::promise<int> p(weft::inline_executor()); }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Promise, ErrorSetOnAPromiseWhoseFutureWasNeverRetrievedIsReported) {
  // Nobody can ever observe it: that is an unobserved error (nothing is swallowed).
  error_capture errors;
  {
    weft::promise<int> p(weft::inline_executor());
    p.set_exception(error("nobody can see this"));
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "nobody can see this");
}

TEST(Promise, BrokenPromiseReachesAnAttachedContinuation) {
  manual_executor ex;
  weft::future<std::string> g;
  {
    weft::promise<int> p(ex);
    g = p.get_future().then_result([](weft::result<int> r) {
      try {
        r.value();
      } catch (const weft::broken_promise&) {
        return std::string("broken");
      }
      return std::string("not broken");
    });
  }
  ex.run_all();
  EXPECT_EQ(g.get(), "broken");
}

TEST(Promise, MovedFromPromiseHasNoState) {
  weft::promise<int> p(weft::inline_executor());
  weft::promise<int> q(std::move(p));
  EXPECT_FALSE(p.valid());
  EXPECT_TRUE(q.valid());
  EXPECT_EQ(future_error_reason([&] { (void)p.get_future(); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { p.set_value(1); }), weft::future_errc::no_state);
  EXPECT_EQ(future_error_reason([&] { p.set_exception(error("x")); }), weft::future_errc::no_state);
  auto f = q.get_future();
  q.set_value(2);
  EXPECT_EQ(f.get(), 2);
}

TEST(Promise, MoveKeepsTheRetrievedAndSatisfiedFlags) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  p.set_value(1);
  weft::promise<int> q(std::move(p));
  EXPECT_EQ(future_error_reason([&] { (void)q.get_future(); }), weft::future_errc::already_retrieved);
  EXPECT_EQ(future_error_reason([&] { q.set_value(2); }), weft::future_errc::already_satisfied);
  EXPECT_EQ(f.get(), 1);
}

TEST(Promise, MoveAssignmentBreaksThePromiseItReplaces) {
  weft::promise<int> p(weft::inline_executor());
  auto old_future = p.get_future();
  weft::promise<int> q(weft::inline_executor());
  auto new_future = q.get_future();
  p = std::move(q);
  ASSERT_TRUE(old_future.is_ready());
  EXPECT_THROW(old_future.get(), weft::broken_promise);
  p.set_value(5);
  EXPECT_EQ(new_future.get(), 5);
}

TEST(Promise, SwapExchangesTheStatesAndFlagsAndBreaksNothing) {
  static_assert(noexcept(std::declval<weft::promise<int>&>().swap(std::declval<weft::promise<int>&>())),
                "promise::swap must be noexcept, as std::promise::swap");
  static_assert(noexcept(weft::swap(std::declval<weft::promise<int>&>(), std::declval<weft::promise<int>&>())),
                "swap(promise&, promise&) must be noexcept");
  weft::promise<int> p(weft::inline_executor());
  weft::promise<int> q(weft::inline_executor());
  auto f = p.get_future();  // p: retrieved
  q.set_value(7);           // q: satisfied, not retrieved
  p.swap(q);
  EXPECT_FALSE(f.is_ready());  // swapping broke nothing
  EXPECT_EQ(future_error_reason([&] { (void)q.get_future(); }), weft::future_errc::already_retrieved);
  EXPECT_EQ(future_error_reason([&] { p.set_value(8); }), weft::future_errc::already_satisfied);
  EXPECT_EQ(p.get_future().get(), 7);
  q.set_value(1);  // q now holds f's state
  EXPECT_EQ(f.get(), 1);
}

TEST(Promise, FreeSwapSwapsAndWorksWithAMovedFromPromise) {
  weft::promise<int> p(weft::inline_executor());
  weft::promise<int> gone(weft::inline_executor());
  weft::promise<int> keep(std::move(gone));
  auto f = p.get_future();
  weft::swap(p, gone);  // p takes the empty side
  EXPECT_FALSE(p.valid());
  EXPECT_TRUE(gone.valid());
  {
    using std::swap;
    swap(p, gone);  // found by ADL, as for std::promise
  }
  EXPECT_TRUE(p.valid());
  EXPECT_FALSE(gone.valid());
  p.swap(p);  // a self-swap changes nothing
  p.set_value(3);
  EXPECT_EQ(f.get(), 3);
  keep.set_value(0);
}

TEST(Promise, SetExceptionRejectsANullPointerAndStaysUsable) {
  weft::promise<int> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_THROW(p.set_exception(std::exception_ptr()), std::invalid_argument);
  EXPECT_FALSE(f.is_ready());
  p.set_value(1);
  EXPECT_EQ(f.get(), 1);
}

TEST(Promise, SetResultStoresAValueOrAnError) {
  weft::promise<int> a(weft::inline_executor());
  auto fa = a.get_future();
  a.set_result(weft::result<int>(4));
  EXPECT_EQ(fa.get(), 4);

  weft::promise<int> b(weft::inline_executor());
  auto fb = b.get_future();
  b.set_result(weft::result<int>(error("as result")));
  EXPECT_THROW(fb.get(), std::runtime_error);

  weft::promise<void> c(weft::inline_executor());
  auto fc = c.get_future();
  c.set_result(weft::result<void>());
  EXPECT_NO_THROW(fc.get());

  weft::promise<void> d(weft::inline_executor());
  auto fd = d.get_future();
  d.set_result(weft::result<void>(error("void result")));
  EXPECT_THROW(fd.get(), std::runtime_error);
}

struct throws_on_construction {
  explicit throws_on_construction(bool fail) {
    if (fail) throw std::domain_error("constructor failed");
  }
};

TEST(Promise, SetValueWhoseConstructionThrowsLeavesThePromiseUnsatisfied) {
  weft::promise<throws_on_construction> p(weft::inline_executor());
  auto f = p.get_future();
  EXPECT_THROW(p.set_value(true), std::domain_error);
  EXPECT_FALSE(f.is_ready());
  p.set_value(false);
  EXPECT_TRUE(f.is_ready());
}

TEST(Promise, ContinuationWaitsForItsExecutorNotForSetValue) {
  manual_executor ex;
  weft::promise<int> p(ex);
  int seen = 0;
  auto g = p.get_future().then([&](int v) { seen = v; });
  p.set_value(7);
  EXPECT_EQ(seen, 0) << "the continuation ran inside set_value";
  EXPECT_EQ(ex.pending(), 1u);
  ex.run_all();
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(g.is_ready());
}

TEST(Promise, AttachThenFulfilRunsTheContinuationOnce) {
  manual_executor ex;
  weft::promise<int> p(ex);
  int runs = 0;
  auto g = p.get_future().then([&](int v) {
    ++runs;
    return v * 2;
  });
  EXPECT_EQ(ex.pending(), 0u);
  p.set_value(21);
  EXPECT_EQ(ex.run_all(), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(g.get(), 42);
}

TEST(Promise, FulfilThenAttachRunsTheContinuationOnce) {
  manual_executor ex;
  weft::promise<int> p(ex);
  auto f = p.get_future();
  p.set_value(21);
  EXPECT_EQ(ex.pending(), 0u);
  int runs = 0;
  auto g = std::move(f).then([&](int v) {
    ++runs;
    return v * 2;
  });
  EXPECT_EQ(ex.run_all(), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(g.get(), 42);
}

TEST(Promise, DefaultExecutorIsTheDefaultPool) {
  weft::promise<int> p;
  auto g = p.get_future().then([](int v) { return weft::default_pool().running_in_this_thread() ? v : -1; });
  p.set_value(1);
  EXPECT_EQ(get_within(g), 1);
}

class PromiseOnPool : public ::testing::TestWithParam<std::size_t> {};

TEST_P(PromiseOnPool, ContinuationNeverRunsOnTheThreadThatCalledSetValue) {
  weft::thread_pool pool(GetParam());
  constexpr int rounds = 200;
  for (int i = 0; i < rounds; ++i) {
    weft::promise<int> p(pool);
    struct where {
      std::thread::id id;
      bool in_pool;
    };
    auto g = p.get_future().then([&pool](int) { return where{std::this_thread::get_id(), pool.running_in_this_thread()}; });
    p.set_value(i);
    const where w = get_within(g);
    ASSERT_NE(w.id, std::this_thread::get_id()) << "round " << i;
    ASSERT_TRUE(w.in_pool) << "round " << i;
  }
}

TEST_P(PromiseOnPool, ContinuationOfAPromiseSetFromAnotherThreadRunsOnThePool) {
  weft::thread_pool pool(GetParam());
  weft::promise<int> p(pool);
  std::atomic<bool> ran_on_setter{false};
  weft_test::latch set_done(1);
  std::thread::id setter_id;
  auto g = p.get_future().then([&](int v) {
    EXPECT_TRUE(set_done.wait_within());
    ran_on_setter = std::this_thread::get_id() == setter_id;
    return pool.running_in_this_thread() ? v : -1;
  });
  weft_test::joining_thread setter([&] {
    setter_id = std::this_thread::get_id();  // set_value publishes it to the continuation
    p.set_value(3);
    set_done.count_down();
  });
  EXPECT_EQ(get_within(g), 3);
  EXPECT_FALSE(ran_on_setter.load());
}

TEST_P(PromiseOnPool, ManyPromisesSetFromManyThreadsEachResolveOnce) {
  weft::thread_pool pool(GetParam());
  constexpr int n = 2000;
  std::vector<weft::promise<int>> promises;
  std::vector<weft::future<int>> results;
  std::atomic<int> runs{0};
  for (int i = 0; i < n; ++i) {
    promises.emplace_back(pool);
    results.push_back(promises.back().get_future().then([&runs](int v) {
      runs.fetch_add(1, std::memory_order_relaxed);
      return v + 1;
    }));
  }
  {
    weft_test::joining_thread a([&] {
      for (int i = 0; i < n; i += 2) promises[i].set_value(i);
    });
    weft_test::joining_thread b([&] {
      for (int i = 1; i < n; i += 2) promises[i].set_value(i);
    });
  }
  for (int i = 0; i < n; ++i) ASSERT_EQ(get_within(results[i]), i + 1);
  EXPECT_EQ(runs.load(), n);
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, PromiseOnPool, ::testing::Values(1, 2, 4, 8));

}  // namespace
