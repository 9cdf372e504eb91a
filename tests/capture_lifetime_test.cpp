// Captures die on time: a continuation's callable, with everything it
// captured, is destroyed once it has run or been dropped unrun, before the
// future it produces resolves. So an RAII object in a capture (a permit, a
// lock, a connection) is released before anyone waiting sees the outcome.
#include "weft/future.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "sync.hpp"
#include "witness.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"
#include "weft/when_all.hpp"

namespace {

using weft_test::get_within;
using weft_test::manual_executor;

using weft_test::witness;

struct CaptureLifetime : ::testing::Test {
  std::shared_ptr<std::atomic<int>> live = std::make_shared<std::atomic<int>>(0);
  witness w() const { return witness(live); }
  int alive() const { return live->load(); }
};

// Waits for `g` (which is kept, so its state lives on) and returns how many
// captures were still alive the moment the wait saw the outcome.
template <class T>
int alive_when_ready(CaptureLifetime& t, weft::future<T>& g) {
  EXPECT_EQ(g.wait_for(weft_test::bound(20.0)), std::future_status::ready);
  return t.alive();
}

TEST_F(CaptureLifetime, ThenDestroysItsCallableBeforeItsFutureResolves) {
  weft::thread_pool pool(2);
  weft::promise<int> p(pool);
  auto g = p.get_future().then([c = w()](int v) { return v + 1; });
  EXPECT_EQ(alive(), 1);
  p.set_value(1);
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_EQ(g.get(), 2);
}

TEST_F(CaptureLifetime, ThenSkippedByAnErrorDestroysItsCallable) {
  weft::thread_pool pool(2);
  weft::promise<int> p(pool);
  auto g = p.get_future().then([c = w()](int v) { return v; });
  p.set_exception(std::make_exception_ptr(std::runtime_error("skip")));
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_THROW(g.get(), std::runtime_error);
}

TEST_F(CaptureLifetime, ThenThatThrowsDestroysItsCallableBeforeTheErrorIsSeen) {
  weft::thread_pool pool(2);
  auto g = weft::make_ready_future(1, pool).then([c = w()](int) -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_THROW(g.get(), std::runtime_error);
}

TEST_F(CaptureLifetime, ThenOnAnotherExecutorDestroysItsCallable) {
  weft::thread_pool pool(2), other(1);
  auto g = weft::make_ready_future(1, pool).then(other, [c = w()](int v) { return v; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
}

TEST_F(CaptureLifetime, ThenResultDestroysItsCallableAndItsInput) {
  // The input is a witness too: a continuation that takes it by const
  // reference must not keep it past the outcome either.
  weft::thread_pool pool(2);
  weft::promise<witness> p(pool);
  auto g = p.get_future().then_result([c = w()](const weft::result<witness>& r) { return r.has_value(); });
  p.set_value(w());
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_TRUE(g.get());
}

TEST_F(CaptureLifetime, ThenTakingTheValueByReferenceDoesNotKeepIt) {
  weft::thread_pool pool(2);
  auto g = weft::make_ready_future(w(), pool).then([](const witness&) { return 1; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
}

TEST_F(CaptureLifetime, OnErrorDestroysItsCallableWhenItRecovers) {
  weft::thread_pool pool(2);
  auto g = weft::make_exceptional_future<int>(std::runtime_error("x"), pool)
               .on_error<std::runtime_error>([c = w()](std::runtime_error&) { return 7; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_EQ(g.get(), 7);
}

TEST_F(CaptureLifetime, OnErrorDestroysItsCallableWhenAValuePassesThrough) {
  weft::thread_pool pool(2);
  auto g = weft::make_ready_future(3, pool).on_error<std::runtime_error>([c = w()](std::runtime_error&) { return 7; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_EQ(g.get(), 3);
}

TEST_F(CaptureLifetime, OnErrorDestroysItsCallableWhenAnotherErrorPassesThrough) {
  weft::thread_pool pool(2);
  auto g = weft::make_exceptional_future<int>(std::logic_error("x"), pool)
               .on_error<std::runtime_error>([c = w()](std::runtime_error&) { return 7; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_THROW(g.get(), std::logic_error);
}

TEST_F(CaptureLifetime, FinallyDestroysItsCallableOnEveryOutcome) {
  weft::thread_pool pool(2);
  auto a = weft::make_ready_future(1, pool).finally([c = w()] {});
  auto b = weft::make_exceptional_future<int>(std::runtime_error("x"), pool).finally([c = w()] {});
  auto d = weft::make_ready_future(1, pool).finally([c = w()] { throw std::logic_error("in finally"); });
  EXPECT_EQ(a.wait_for(weft_test::bound(20.0)), std::future_status::ready);
  EXPECT_EQ(b.wait_for(weft_test::bound(20.0)), std::future_status::ready);
  EXPECT_EQ(alive_when_ready(*this, d), 0);
  EXPECT_EQ(a.get(), 1);
  EXPECT_THROW(b.get(), std::runtime_error);
  EXPECT_THROW(d.get(), std::logic_error);
}

TEST_F(CaptureLifetime, AContinuationRefusedByItsExecutorDestroysItsCallable) {
  weft::thread_pool pool(1);
  pool.shutdown();
  auto g = weft::make_ready_future(1, pool).then([c = w()](int v) { return v; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_THROW(g.get(), weft::executor_shutdown);
}

TEST_F(CaptureLifetime, AContinuationDroppedByItsExecutorDestroysItsCallable) {
  weft::future<int> g;
  {
    manual_executor ex;
    g = weft::make_ready_future(1, ex).then([c = w()](int v) { return v; });
    EXPECT_EQ(alive(), 1);  // queued, not run
  }  // the executor abandons the queued task
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_THROW(g.get(), weft::executor_shutdown);
}

TEST_F(CaptureLifetime, AnUnwrappingContinuationDestroysItsCallableBeforeTheInnerFutureResolves) {
  weft::promise<int> inner(weft::inline_executor());
  auto inner_future = inner.get_future();
  auto g = weft::make_ready_future(1, weft::inline_executor()).then([c = w(), &inner_future](int) {
    return std::move(inner_future);
  });
  EXPECT_EQ(alive(), 0);  // ran inline: the callable is gone, the outcome is still pending
  EXPECT_FALSE(g.is_ready());
  inner.set_value(5);
  EXPECT_EQ(alive_when_ready(*this, g), 0);
  EXPECT_EQ(g.get(), 5);
}

TEST_F(CaptureLifetime, AsyncDestroysItsCallableBeforeItsFutureResolves) {
  weft::thread_pool pool(2);
  auto g = weft::async(pool, [c = w()] { return 1; });
  EXPECT_EQ(alive_when_ready(*this, g), 0);
}

TEST_F(CaptureLifetime, SharedFutureContinuationsDestroyTheirCallables) {
  weft::thread_pool pool(2);
  weft::promise<int> p(pool);
  weft::shared_future<int> s = p.get_future().share();
  auto a = s.then([c = w()](int v) { return v; });
  auto b = s.then_result([c = w()](weft::result<int> r) { return r.value(); });
  p.set_value(4);
  EXPECT_EQ(a.wait_for(weft_test::bound(20.0)), std::future_status::ready);
  EXPECT_EQ(alive_when_ready(*this, b), 0);
}

TEST_F(CaptureLifetime, WhenAllResolvesAfterEveryInputsCallableIsGone) {
  weft::thread_pool pool(2);
  std::vector<weft::future<int>> fs;
  for (int i = 0; i < 8; ++i) fs.push_back(weft::make_ready_future(i, pool).then([c = w()](int v) { return v; }));
  auto all = weft::when_all(fs);
  EXPECT_EQ(alive_when_ready(*this, all), 0);
  EXPECT_EQ(all.get().size(), 8u);
}

TEST_F(CaptureLifetime, WhenAnyResolvesAfterTheWinnersCallableIsGone) {
  weft::thread_pool pool(2);
  weft::promise<int> never(pool);
  std::vector<weft::future<int>> fs;
  fs.push_back(never.get_future().then([c = w()](int v) { return v; }));  // waits: keeps its capture
  fs.push_back(weft::make_ready_future(2, pool).then([c = w()](int v) { return v; }));
  auto any = weft::when_any(fs);
  EXPECT_EQ(alive_when_ready(*this, any), 1);  // only the one that has not run
  EXPECT_EQ(any.get().first, 1u);
  never.set_value(1);
}

TEST_F(CaptureLifetime, EveryLinkOfAChainIsGoneBeforeTheEndResolves) {
  weft::thread_pool pool(2);
  weft::promise<int> p(pool);
  weft::future<int> f = p.get_future();
  for (int i = 0; i < 100; ++i) f = std::move(f).then([c = w()](int v) { return v + 1; });
  EXPECT_EQ(alive(), 100);
  p.set_value(0);
  EXPECT_EQ(alive_when_ready(*this, f), 0);
  EXPECT_EQ(f.get(), 100);
}

}  // namespace
