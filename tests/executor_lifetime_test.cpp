// Lifetimes are safe: a future or continuation may outlive the executor it
// is bound to. What reaches a destroyed executor fails with
// executor_shutdown saying it was destroyed; it never touches freed memory
// (run under ASan to see the difference).
#include "weft/executor.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/blocking_pool.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::manual_executor;

// The what() of the executor_shutdown that `f` fails with ("" if it does
// not fail that way).
template <class T>
std::string shutdown_message(weft::future<T>& f) {
  try {
    get_within(f);
  } catch (const weft::executor_shutdown& e) {
    return e.what();
  } catch (...) {
    return "another error";
  }
  return "a value";
}

bool says_destroyed(const std::string& what) { return what.find("destroyed") != std::string::npos; }

TEST(ExecutorLifetime, ThenOnAFutureWhosePoolWasDestroyedFailsSayingSo) {
  weft::future<int> f;
  {
    weft::thread_pool pool(2);
    f = weft::async(pool, [] { return 1; });
  }  // drained: f is ready, its pool is gone
  auto g = std::move(f).then([](int v) { return v + 1; });
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, AContinuationAttachedBeforeThePoolDiedFailsWhenItsInputArrives) {
  auto pool = std::make_unique<weft::thread_pool>(2);
  weft::promise<int> p(*pool);
  std::atomic<bool> ran{false};
  auto g = p.get_future().then([&ran](int v) {
    ran = true;
    return v;
  });
  pool.reset();
  p.set_value(1);  // a promise bound to a destroyed pool may still be set
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
  EXPECT_FALSE(ran.load());
}

TEST(ExecutorLifetime, APromiseBoundToADestroyedPoolCanStillBeSetAndRead) {
  auto pool = std::make_unique<weft::thread_pool>(1);
  weft::promise<int> p(*pool);
  auto f = p.get_future();
  pool.reset();
  p.set_value(3);
  EXPECT_EQ(f.get(), 3);
}

TEST(ExecutorLifetime, GetExecutorOfAFutureWhosePoolWasDestroyedThrows) {
  auto pool = std::make_unique<weft::thread_pool>(1);
  auto f = weft::make_ready_future(1, *pool);
  EXPECT_EQ(&f.get_executor(), pool.get());
  pool.reset();
  EXPECT_THROW(f.get_executor(), weft::executor_shutdown);
}

TEST(ExecutorLifetime, AChainRunningWhenItsPoolIsDestroyedRunsToTheEnd) {
  // The destructor drains: the links the pool's own workers submit still run.
  weft::future<int> end;
  {
    weft::thread_pool pool(2);
    weft::promise<int> start(pool);
    end = start.get_future();
    for (int i = 0; i < 10000; ++i) end = std::move(end).then([](int v) { return v + 1; });
    start.set_value(0);
  }
  EXPECT_EQ(get_within(end), 10000);
}

TEST(ExecutorLifetime, AChainFedFromOutsideFailsAtTheFirstLinkAfterThePoolDied) {
  auto pool = std::make_unique<weft::thread_pool>(2);
  weft::promise<int> first(*pool), second(*pool);
  auto a = first.get_future().then([](int v) { return v; });
  auto b = second.get_future().then([](int v) { return v; });
  first.set_value(1);
  EXPECT_EQ(get_within(a), 1);
  pool.reset();
  second.set_value(2);
  const std::string what = shutdown_message(b);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, ContinuationsRacingThePoolsDestructorRunOrFailButNeverTouchIt) {
  // An outside thread fulfils promises bound to a pool while the main
  // thread destroys it: each continuation either ran on the pool or failed
  // with executor_shutdown. ASan sees any touch of the freed pool.
  for (int round = 0; round < 100; ++round) {
    auto pool = std::make_unique<weft::thread_pool>(2);
    constexpr int n = 64;
    std::vector<weft::promise<int>> ps;
    std::vector<weft::future<int>> gs;
    for (int i = 0; i < n; ++i) {
      ps.emplace_back(*pool);
      gs.push_back(ps.back().get_future().then([](int v) { return v; }));
    }
    weft_test::latch go(1);
    weft_test::joining_thread setter([&] {
      go.count_down();
      for (int i = 0; i < n; ++i) ps[i].set_value(i);
    });
    EXPECT_TRUE(go.wait_within());
    pool.reset();
    setter.join();
    for (int i = 0; i < n; ++i) {
      try {
        ASSERT_EQ(get_within(gs[i]), i);
      } catch (const weft::executor_shutdown&) {
        // ran into the destructor: fine, as long as it resolved
      }
    }
  }
}

TEST(ExecutorLifetime, ABlockingPoolDestroyedFirstFailsLaterContinuations) {
  weft::future<int> f;
  {
    weft::blocking_pool pool(1);
    f = weft::make_ready_future(1, pool);
  }
  auto g = std::move(f).then([](int v) { return v; });
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, AUserExecutorDestroyedFirstFailsLaterContinuations) {
  weft::future<int> f;
  {
    manual_executor ex;
    f = weft::make_ready_future(1, ex);
  }
  auto g = std::move(f).then([](int v) { return v; });
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, SharedFutureContinuationsOfADestroyedPoolFail) {
  weft::shared_future<int> s;
  {
    weft::thread_pool pool(1);
    s = weft::make_ready_future(1, pool).share();
  }
  auto g = s.then([](int v) { return v; });
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
  EXPECT_EQ(s.get(), 1);
}

TEST(ExecutorLifetime, ANewExecutorInTheOldOnesPlaceDoesNotRunItsContinuations) {
  // Registrations are reused; an old future must not reach the newcomer.
  weft::future<int> f;
  {
    manual_executor old_ex;
    f = weft::make_ready_future(1, old_ex);
  }
  manual_executor newcomer;
  auto g = std::move(f).then([](int v) { return v; });
  EXPECT_EQ(newcomer.run_all(), 0u);
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, ViaADestroyedExecutorFailsTheNextContinuation) {
  auto pool = std::make_unique<weft::thread_pool>(1);
  auto f = weft::make_ready_future(1, weft::inline_executor()).via(*pool);
  pool.reset();
  auto g = std::move(f).then([](int v) { return v; });
  const std::string what = shutdown_message(g);
  EXPECT_TRUE(says_destroyed(what)) << what;
}

TEST(ExecutorLifetime, TheDefaultAndInlineExecutorsAreNeverDestroyed) {
  auto a = weft::make_ready_future(1).then([](int v) { return v; });
  auto b = weft::make_ready_future(2, weft::inline_executor()).then([](int v) { return v; });
  EXPECT_EQ(get_within(a), 1);
  EXPECT_EQ(b.get(), 2);
  EXPECT_EQ(&weft::make_ready_future(1).get_executor(), &weft::default_pool());
}

}  // namespace
