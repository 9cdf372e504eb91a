// Continuations: then, then_result, on_error, finally, via, unwrapping, and
// long chains (no recursion per link, no reordering).
#include "weft/future.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "small_stack.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::manual_executor;
using weft_test::on_small_stack;

struct base_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct derived_error : base_error {
  using base_error::base_error;
};

template <class T>
weft::future<T> failed(const char* what) {
  return weft::make_exceptional_future<T>(std::runtime_error(what), weft::inline_executor());
}

// A chain that recursed once per link would overflow weft_test::on_small_stack's
// 256 KiB long before 100,000 links.

// ---- then ------------------------------------------------------------------

TEST(Then, TransformsTheValue) {
  auto f = weft::make_ready_future(20, weft::inline_executor()).then([](int v) { return v + 1; }).then([](int v) {
    return std::to_string(v);
  });
  EXPECT_EQ(f.get(), "21");
}

TEST(Then, ConsumesTheFuture) {
  auto f = weft::make_ready_future(1, weft::inline_executor());
  auto g = f.then([](int v) { return v; });
  EXPECT_FALSE(f.valid());
  EXPECT_EQ(g.get(), 1);
}

TEST(Then, OnAFutureOfVoidTakesNoArgument) {
  int x = 0;
  auto f = weft::make_ready_future(weft::inline_executor()).then([&] { x = 5; }).then([&] { return x * 2; });
  EXPECT_EQ(f.get(), 10);
}

TEST(Then, AnErrorSkipsTheFunctionAndPropagatesUnchanged) {
  bool ran = false;
  auto e = std::make_exception_ptr(derived_error("first"));
  auto f = weft::make_exceptional_future<int>(e, weft::inline_executor()).then([&](int v) {
    ran = true;
    return v;
  });
  EXPECT_FALSE(ran);
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const derived_error& ex) {
    EXPECT_STREQ(ex.what(), "first");
  }
}

TEST(Then, ExceptionThrownByTheFunctionLandsInTheNextFuture) {
  auto f = weft::make_ready_future(1, weft::inline_executor())
               .then([](int) -> int { throw std::logic_error("from then"); })
               .then([](int v) { return v + 1; });
  EXPECT_THROW(f.get(), std::logic_error);
}

TEST(Then, RunsOnTheFuturesExecutor) {
  manual_executor ex;
  weft::promise<int> p(ex);
  bool ran = false;
  auto g = p.get_future().then([&](int) { ran = true; });
  p.set_value(1);
  EXPECT_FALSE(ran);
  ex.run_all();
  EXPECT_TRUE(ran);
}

TEST(Then, WithAnExecutorRunsThereAndLaterContinuationsFollow) {
  manual_executor a, b;
  weft::promise<int> p(a);
  std::vector<std::string> log;
  auto g = p.get_future()
               .then(b, [&](int v) {
                 log.push_back("first");
                 return v;
               })
               .then([&](int v) {
                 log.push_back("second");
                 return v;
               });
  p.set_value(1);
  EXPECT_EQ(a.run_all(), 0u);
  EXPECT_EQ(b.run_all(), 2u);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(&g.get_executor(), &b);
}

TEST(Then, AcceptsMoveOnlyFunctionsAndValues) {
  auto owned = std::make_unique<int>(3);
  auto f = weft::make_ready_future(std::make_unique<int>(4), weft::inline_executor())
               .then([owned = std::move(owned)](std::unique_ptr<int> v) { return *v + *owned; });
  EXPECT_EQ(f.get(), 7);
}

TEST(Then, EachContinuationRunsExactlyOnce) {
  manual_executor ex;
  weft::promise<int> p(ex);
  int runs = 0;
  auto g = p.get_future().then([&](int) { ++runs; }).then([&] { ++runs; });
  p.set_value(1);
  ex.run_all();
  ex.run_all();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(ex.submitted(), 2u);
}

TEST(Then, OnAShutDownPoolFailsWithExecutorShutdown) {
  weft::thread_pool pool(1);
  weft::promise<int> p(pool);
  bool ran = false;
  auto g = p.get_future().then([&](int) { ran = true; });
  pool.shutdown();
  p.set_value(1);  // the continuation is refused, not run inline, not lost
  ASSERT_TRUE(weft_test::ready_within(g));
  EXPECT_THROW(g.get(), weft::executor_shutdown);
  EXPECT_FALSE(ran);
}

TEST(Then, DroppingTheEndOfAFailedChainReportsOnce) {
  error_capture errors;
  {
    auto f = failed<int>("chain error").then([](int v) { return v; }).then([](int v) { return v; });
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "chain error");
}

// ---- then_result ------------------------------------------------------------

TEST(ThenResult, SeesAValue) {
  auto f = weft::make_ready_future(2, weft::inline_executor()).then_result([](weft::result<int> r) {
    return r.has_value() ? r.value() * 10 : -1;
  });
  EXPECT_EQ(f.get(), 20);
}

TEST(ThenResult, SeesAnErrorAndMayRecover) {
  error_capture errors;
  auto f = failed<int>("seen by then_result").then_result([](weft::result<int> r) {
    return r.has_value() ? std::string("value") : weft::describe(r.error());
  });
  EXPECT_EQ(f.get(), "seen by then_result");
  EXPECT_EQ(errors.count(), 0u);
}

TEST(ThenResult, OnVoid) {
  auto f = failed<void>("v").then_result([](weft::result<void> r) { return r.has_value(); });
  EXPECT_FALSE(f.get());
}

TEST(ThenResult, WithAnExecutorRunsThere) {
  manual_executor a, b;
  weft::promise<int> p(a);
  auto g = p.get_future().then_result(b, [](weft::result<int> r) { return r.value(); });
  p.set_value(3);
  EXPECT_EQ(a.run_all(), 0u);
  EXPECT_EQ(b.run_all(), 1u);
  EXPECT_EQ(g.get(), 3);
}

TEST(ThenResult, ThrowingReplacesTheOutcome) {
  auto f = weft::make_ready_future(1, weft::inline_executor()).then_result([](weft::result<int>) -> int {
    throw std::domain_error("then_result threw");
  });
  EXPECT_THROW(f.get(), std::domain_error);
}

// ---- on_error --------------------------------------------------------------

TEST(OnError, RecoversFromAMatchingError) {
  auto f = weft::make_exceptional_future<int>(base_error("b"), weft::inline_executor()).on_error<base_error>(
      [](base_error& e) { return static_cast<int>(std::string(e.what()).size()); });
  EXPECT_EQ(f.get(), 1);
}

TEST(OnError, RecoversFromADerivedError) {
  auto f = weft::make_exceptional_future<std::string>(derived_error("derived"), weft::inline_executor())
               .on_error<base_error>([](base_error& e) { return std::string("caught ") + e.what(); });
  EXPECT_EQ(f.get(), "caught derived");
}

TEST(OnError, LetsOtherErrorsPassThroughWithoutCalling) {
  bool ran = false;
  auto f = weft::make_exceptional_future<int>(std::logic_error("other"), weft::inline_executor())
               .on_error<base_error>([&](base_error&) {
                 ran = true;
                 return 0;
               });
  EXPECT_THROW(f.get(), std::logic_error);
  EXPECT_FALSE(ran);
}

TEST(OnError, LetsValuesPassThroughWithoutCalling) {
  bool ran = false;
  auto f = weft::make_ready_future(5, weft::inline_executor()).on_error<std::exception>([&](std::exception&) {
    ran = true;
    return 0;
  });
  EXPECT_EQ(f.get(), 5);
  EXPECT_FALSE(ran);
}

TEST(OnError, OnVoidFutures) {
  bool recovered = false;
  auto f = failed<void>("v").on_error<std::runtime_error>([&](std::runtime_error&) { recovered = true; });
  EXPECT_NO_THROW(f.get());
  EXPECT_TRUE(recovered);
}

TEST(OnError, MayRecoverWithAFuture) {
  manual_executor ex;
  weft::promise<int> later(ex);
  auto f = failed<int>("x").on_error<std::runtime_error>([&](std::runtime_error&) { return later.get_future(); });
  EXPECT_FALSE(f.is_ready());
  later.set_value(99);
  EXPECT_EQ(f.get(), 99);
}

TEST(OnError, HandlerThatThrowsReplacesTheError) {
  auto f = failed<int>("original").on_error<std::runtime_error>([](std::runtime_error&) -> int {
    throw std::out_of_range("from handler");
  });
  EXPECT_THROW(f.get(), std::out_of_range);
}

TEST(OnError, HandlerMayRethrowTheSameError) {
  auto f = failed<int>("again").on_error<std::runtime_error>([](std::runtime_error&) -> int { throw; });
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "again");
  }
}

// ---- finally ---------------------------------------------------------------

TEST(Finally, RunsOnAValueAndPassesItOn) {
  int runs = 0;
  auto f = weft::make_ready_future(4, weft::inline_executor()).finally([&] { ++runs; });
  EXPECT_EQ(f.get(), 4);
  EXPECT_EQ(runs, 1);
}

TEST(Finally, RunsOnAnErrorAndPassesItOn) {
  int runs = 0;
  auto f = failed<int>("kept").finally([&] { ++runs; });
  EXPECT_THROW(f.get(), std::runtime_error);
  EXPECT_EQ(runs, 1);
}

TEST(Finally, ThrowingReplacesTheOutcome) {
  auto f = weft::make_ready_future(4, weft::inline_executor()).finally([] { throw std::length_error("finally"); });
  EXPECT_THROW(f.get(), std::length_error);
  auto g = failed<int>("old").finally([] { throw std::length_error("new"); });
  EXPECT_THROW(g.get(), std::length_error);
}

TEST(Finally, PassesAMoveOnlyValueOn) {
  auto f = weft::make_ready_future(std::make_unique<int>(8), weft::inline_executor()).finally([] {});
  EXPECT_EQ(*f.get(), 8);
}

TEST(Finally, OnVoid) {
  int runs = 0;
  auto f = weft::make_ready_future(weft::inline_executor()).finally([&] { ++runs; });
  EXPECT_NO_THROW(f.get());
  EXPECT_EQ(runs, 1);
}

// ---- via --------------------------------------------------------------------

TEST(Via, MovesLaterContinuationsToAnotherExecutor) {
  manual_executor a, b;
  weft::promise<int> p(a);
  std::vector<std::string> log;
  auto g = p.get_future()
               .then([&](int v) {
                 log.push_back("on a");
                 return v;
               })
               .via(b)
               .then([&](int v) {
                 log.push_back("on b");
                 return v;
               });
  p.set_value(1);
  EXPECT_EQ(a.run_all(), 1u);
  EXPECT_EQ(log, std::vector<std::string>{"on a"});
  EXPECT_EQ(b.run_all(), 1u);
  EXPECT_EQ(log, (std::vector<std::string>{"on a", "on b"}));
}

TEST(Via, FromAPoolToInlineRunsOnThePoolThreadThatCompletedIt) {
  weft::thread_pool pool(2);
  weft_test::gate attached;
  auto f = weft::async(pool, [&] { return attached.wait_within(); })
               .via(weft::inline_executor())
               .then([&pool](bool ok) { return ok && pool.running_in_this_thread(); });
  attached.open();  // the task completes after the continuation is attached
  EXPECT_TRUE(get_within(f));
}

// ---- unwrapping --------------------------------------------------------------

TEST(Unwrap, ContinuationReturningAFutureGivesItsValue) {
  manual_executor ex;
  weft::promise<int> inner(ex);
  weft::future<int> f = weft::make_ready_future(1, ex).then([&](int) { return inner.get_future(); });
  ex.run_all();
  EXPECT_FALSE(f.is_ready());
  inner.set_value(30);
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 30);
}

TEST(Unwrap, InnerFutureAlreadyReady) {
  weft::future<std::string> f = weft::make_ready_future(1, weft::inline_executor()).then([](int v) {
    return weft::make_ready_future(std::to_string(v), weft::inline_executor());
  });
  EXPECT_EQ(f.get(), "1");
}

TEST(Unwrap, InnerErrorReachesTheOuterFuture) {
  weft::future<int> f = weft::make_ready_future(1, weft::inline_executor()).then([](int) { return failed<int>("inner"); });
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(Unwrap, InnerVoidFuture) {
  weft::promise<void> inner(weft::inline_executor());
  weft::future<void> f = weft::make_ready_future(weft::inline_executor()).then([&] { return inner.get_future(); });
  EXPECT_FALSE(f.is_ready());
  inner.set_value();
  EXPECT_NO_THROW(f.get());
}

TEST(Unwrap, InvalidInnerFutureFailsWithNoState) {
  weft::future<int> f = weft::make_ready_future(1, weft::inline_executor()).then([](int) { return weft::future<int>(); });
  try {
    f.get();
    FAIL() << "get() did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
}

TEST(Unwrap, BrokenInnerPromiseFailsTheOuterFuture) {
  weft::future<int> f;
  {
    weft::promise<int> inner(weft::inline_executor());
    f = weft::make_ready_future(1, weft::inline_executor()).then([&](int) { return inner.get_future(); });
  }
  EXPECT_THROW(f.get(), weft::broken_promise);
}

TEST(Unwrap, ContinuationsAfterAnUnwrappedFutureStillRunOnTheirExecutor) {
  manual_executor ex;
  weft::promise<int> inner(weft::inline_executor());
  int seen = 0;
  auto g = weft::make_ready_future(1, ex).then([&](int) { return inner.get_future(); }).then([&](int v) { seen = v; });
  ex.run_all();
  inner.set_value(7);  // completes the unwrapped future; its continuation must wait for ex
  EXPECT_EQ(seen, 0) << "a continuation ran on the thread that set the inner value";
  ex.run_all();
  EXPECT_EQ(seen, 7);
}

// ---- long chains ---------------------------------------------------------------

constexpr int chain_length = 100000;

TEST(Chain, AttachThenFulfilOnInlineExecutorNeitherRecursesNorReorders) {
  std::vector<int> order;
  order.reserve(chain_length);
  int last = -1;
  on_small_stack([&] {
    weft::promise<int> p(weft::inline_executor());
    weft::future<int> f = p.get_future();
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([&order, i](int v) {
        order.push_back(i);
        return v + 1;
      });
    }
    p.set_value(0);
    last = f.get();
  });
  EXPECT_EQ(last, chain_length);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(chain_length));
  for (int i = 0; i < chain_length; ++i) ASSERT_EQ(order[i], i);
}

TEST(Chain, FulfilThenAttachOnInlineExecutorNeitherRecursesNorReorders) {
  std::vector<int> order;
  order.reserve(chain_length);
  int last = -1;
  on_small_stack([&] {
    weft::future<int> f = weft::make_ready_future(0, weft::inline_executor());
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([&order, i](int v) {
        order.push_back(i);
        return v + 1;
      });
    }
    last = f.get();
  });
  EXPECT_EQ(last, chain_length);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(chain_length));
  for (int i = 0; i < chain_length; ++i) ASSERT_EQ(order[i], i);
}

TEST(Chain, LongChainOfUnwrappedFuturesDoesNotRecurse) {
  int last = -1;
  on_small_stack([&] {
    weft::promise<int> p(weft::inline_executor());
    weft::future<int> f = p.get_future();
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([](int v) { return weft::make_ready_future(v + 1, weft::inline_executor()); });
    }
    p.set_value(0);
    last = f.get();
  });
  EXPECT_EQ(last, chain_length);
}

// Each level's continuation returns the previous level's pending future,
// so completing the innermost completes every level through forwarding
// alone (no continuation left to run): the forwards must not nest.
TEST(Chain, CascadeOfPendingUnwrappedFuturesDoesNotRecurse) {
  int last = -1;
  on_small_stack([&] {
    weft::promise<int> p(weft::inline_executor());
    weft::future<int> f = p.get_future();
    for (int i = 0; i < chain_length; ++i) {
      weft::promise<void> start(weft::inline_executor());
      weft::future<int> outer = start.get_future().then([&f] { return std::move(f); });
      start.set_value();  // the continuation runs; `outer` now forwards from `f`
      f = std::move(outer);
    }
    p.set_value(5);
    EXPECT_TRUE(f.is_ready());
    last = f.get();
  });
  EXPECT_EQ(last, 5);
}

// The inner future completed by a task of the inline executor: the forward
// runs at once, not queued behind that task on the trampoline, where a get()
// in the task would wait for it forever.
TEST(Unwrap, InnerCompletedInsideAnInlineTaskIsForwardedBeforeTheTaskWaits) {
  weft::promise<int> inner(weft::inline_executor());
  weft::future<int> inner_f = inner.get_future();
  weft::promise<void> start(weft::inline_executor());
  weft::future<int> outer = start.get_future().then([&inner_f] { return std::move(inner_f); });
  start.set_value();
  int seen = -1;
  weft::inline_executor().execute([&] {
    inner.set_value(7);
    EXPECT_TRUE(outer.is_ready());
    seen = get_within(outer);
  });
  EXPECT_EQ(seen, 7);
}

TEST(Chain, ErrorThroughALongChainSkipsEveryLink) {
  int runs = 0;
  on_small_stack([&] {
    weft::promise<int> p(weft::inline_executor());
    weft::future<int> f = p.get_future();
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([&runs](int v) {
        ++runs;
        return v;
      });
    }
    p.set_exception(std::make_exception_ptr(std::runtime_error("through")));
    EXPECT_THROW(f.get(), std::runtime_error);
  });
  EXPECT_EQ(runs, 0);
}

// Each link of a chain on a shut-down pool is refused, and refusing a link
// fails it, which completes the next link's input, which is refused in
// turn: the failures must run as a loop, not a recursion.
TEST(Chain, LongChainOnAShutDownPoolFailsEveryLinkWithoutRecursing) {
  weft::thread_pool pool(1);
  pool.shutdown();
  int runs = 0;
  on_small_stack([&] {
    weft::promise<int> p(pool);
    weft::future<int> f = p.get_future();
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([&runs](int v) {
        ++runs;
        return v + 1;
      });
    }
    p.set_value(0);
    EXPECT_TRUE(f.is_ready());
    EXPECT_THROW(f.get(), weft::executor_shutdown);
  });
  EXPECT_EQ(runs, 0);
}

class ChainOnPool : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ChainOnPool, AttachThenFulfilRunsEveryLinkInOrder) {
  weft::thread_pool pool(GetParam());
  std::vector<int> order;  // each link runs after the previous one: no lock needed
  order.reserve(chain_length);
  weft::promise<int> p(pool);
  weft::future<int> f = p.get_future();
  on_small_stack([&] {
    for (int i = 0; i < chain_length; ++i) {
      f = std::move(f).then([&order, i](int v) {
        order.push_back(i);
        return v + 1;
      });
    }
  });
  p.set_value(0);
  EXPECT_EQ(get_within(f, 60), chain_length);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(chain_length));
  for (int i = 0; i < chain_length; ++i) ASSERT_EQ(order[i], i);
}

TEST_P(ChainOnPool, FulfilThenAttachRunsEveryLinkInOrder) {
  weft::thread_pool pool(GetParam());
  std::vector<int> order;
  order.reserve(chain_length);
  weft::future<int> f = weft::make_ready_future(0, pool);
  for (int i = 0; i < chain_length; ++i) {
    f = std::move(f).then([&order, i](int v) {
      order.push_back(i);
      return v + 1;
    });
  }
  EXPECT_EQ(get_within(f, 60), chain_length);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(chain_length));
  for (int i = 0; i < chain_length; ++i) ASSERT_EQ(order[i], i);
}

// Cancelled while the chain runs (each link held by its worker as the one
// before ends, see thread_pool.hpp): the links not yet run are dropped,
// and the end of the chain is resolved when shutdown() returns. Runs show
// the cancel landing from the 100th link to the 40,000th.
TEST_P(ChainOnPool, CancelWhileTheChainRunsResolvesItsEnd) {
  weft::thread_pool pool(GetParam());
  weft_test::gate under_way;
  std::atomic<int> runs{0};
  weft::promise<int> p(pool);
  weft::future<int> f = p.get_future();
  for (int i = 0; i < chain_length; ++i) {
    f = std::move(f).then([&](int v) {
      if (v == 100) under_way.open();
      runs.fetch_add(1, std::memory_order_relaxed);
      return v + 1;
    });
  }
  p.set_value(0);
  ASSERT_TRUE(under_way.wait_within());
  pool.shutdown(weft::shutdown_mode::cancel);
  ASSERT_TRUE(f.is_ready());
  try {
    EXPECT_EQ(f.get(), chain_length);  // the chain won the race
  } catch (const weft::executor_shutdown&) {
    EXPECT_LT(runs.load(), chain_length);
  }
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, ChainOnPool, ::testing::Values(1, 2, 4, 8));

}  // namespace
