// testing.hpp: the public test kit (manual_executor, mock_async,
// run_until_complete).
#include "weft/testing.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "sync.hpp"
#include "weft/async.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft::testing::manual_executor;
using weft::testing::mock_async;
using weft::testing::run_until_complete;

std::string message_of(const std::exception_ptr& e) { return weft::describe(e); }

template <class T>
std::exception_ptr error_of(weft::future<T>& f) {
  try {
    f.get();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// --- manual_executor -----------------------------------------------------

TEST(ManualExecutor, RunsNothingUntilAskedThenOldestFirst) {
  manual_executor ex;
  std::vector<int> ran;
  ex.execute([&] { ran.push_back(1); });
  ex.execute([&] { ran.push_back(2); });
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(ex.pending(), 2u);
  EXPECT_TRUE(ex.run_one());
  EXPECT_EQ(ran, (std::vector<int>{1}));
  EXPECT_TRUE(ex.run_one());
  EXPECT_FALSE(ex.run_one());
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(ex.pending(), 0u);
  EXPECT_EQ(ex.submitted(), 2u);
}

TEST(ManualExecutor, RunAllRunsWhatTasksQueueMeanwhile) {
  manual_executor ex;
  std::vector<int> ran;
  ex.execute([&] {
    ran.push_back(1);
    ex.execute([&] {
      ran.push_back(3);
      ex.execute([&] { ran.push_back(4); });
    });
  });
  ex.execute([&] { ran.push_back(2); });
  EXPECT_EQ(ex.run_all(), 4u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(ex.run_all(), 0u);
}

TEST(ManualExecutor, RunAtRunsTheChosenTaskAndKeepsTheOrderOfTheOthers) {
  manual_executor ex;
  std::vector<int> ran;
  for (int i = 0; i < 4; ++i) ex.execute([&ran, i] { ran.push_back(i); });
  ex.run_at(2);
  EXPECT_EQ(ran, (std::vector<int>{2}));
  ex.run_at(0);
  EXPECT_EQ(ex.pending(), 2u);
  ex.run_all();
  EXPECT_EQ(ran, (std::vector<int>{2, 0, 1, 3}));
}

TEST(ManualExecutor, RunAtPastTheQueueNamesTheIndex) {
  manual_executor ex;
  ex.execute([] {});
  try {
    ex.run_at(1);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "weft::testing::manual_executor::run_at: index 1")) << e.what();
  }
  EXPECT_EQ(ex.pending(), 1u);  // nothing was taken
}

TEST(ManualExecutor, RejectsAnEmptyTask) {
  manual_executor ex;
  EXPECT_THROW(ex.execute(weft::unique_task()), std::invalid_argument);
  EXPECT_EQ(ex.pending(), 0u);
}

TEST(ManualExecutor, ReportsATaskThatThrows) {
  weft_test::error_capture errors;
  manual_executor ex;
  ex.execute([] { throw std::runtime_error("task failed"); });
  ex.execute([] {});
  EXPECT_TRUE(ex.run_one());  // does not throw
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "task failed");
  EXPECT_EQ(ex.pending(), 1u);
}

TEST(ManualExecutor, DrivesContinuationsDeterministically) {
  manual_executor ex;
  weft::promise<int> p(ex);
  std::vector<std::string> steps;
  auto f = p.get_future().then([&](int v) {
    steps.push_back("then " + std::to_string(v));
    return v * 2;
  });
  p.set_value(21);
  EXPECT_TRUE(steps.empty());  // queued, not run on the setter's thread
  EXPECT_EQ(ex.pending(), 1u);
  ex.run_one();
  EXPECT_EQ(steps, (std::vector<std::string>{"then 21"}));
  EXPECT_EQ(f.get(), 42);
}

TEST(ManualExecutor, DestructionFailsWhatIsQueuedAndWhatReachesItLater) {
  auto ex = std::make_unique<manual_executor>();
  auto queued = weft::async(*ex, [] { return 1; });
  auto plain_destroyed = std::make_shared<int>(0);
  ex->execute([keep = plain_destroyed] {});  // a plain callable: destroyed, not run
  weft::promise<int> later(*ex);
  auto after = later.get_future().then([](int v) { return v; });
  EXPECT_EQ(plain_destroyed.use_count(), 2);
  ex.reset();
  EXPECT_EQ(plain_destroyed.use_count(), 1);
  EXPECT_THROW(queued.get(), weft::executor_shutdown);
  later.set_value(1);  // its continuation would run on the destroyed executor
  EXPECT_THROW(after.get(), weft::executor_shutdown);
}

TEST(ManualExecutor, ShutdownRefusesAndFailsWork) {
  manual_executor ex;
  auto queued = weft::async(ex, [] { return 1; });
  ex.shutdown();
  EXPECT_EQ(ex.pending(), 0u);
  EXPECT_THROW(queued.get(), weft::executor_shutdown);
  bool ran = false;
  EXPECT_THROW(ex.execute([&] { ran = true; }), weft::executor_shutdown);
  EXPECT_THROW(weft::async(ex, [] { return 2; }), weft::executor_shutdown);
  EXPECT_FALSE(ex.run_one());
  EXPECT_FALSE(ran);
  ex.shutdown();  // idempotent
}

TEST(ManualExecutor, AcceptsTasksFromManyThreadsAtOnce) {
  manual_executor ex;
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  weft_test::latch start(threads);
  std::atomic<int> ran{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      start.arrive_and_wait_within();
      for (int i = 0; i < per_thread; ++i) ex.execute([&] { ran.fetch_add(1, std::memory_order_relaxed); });
    });
  }
  // Run concurrently with the producers, then drain.
  std::size_t done = 0;
  while (done < static_cast<std::size_t>(threads) * per_thread / 2) done += ex.run_all();
  for (auto& t : ts) t.join();
  done += ex.run_all();
  EXPECT_EQ(done, static_cast<std::size_t>(threads * per_thread));
  EXPECT_EQ(ran.load(), threads * per_thread);
  EXPECT_EQ(ex.submitted(), static_cast<std::size_t>(threads * per_thread));
}

// --- mock_async ----------------------------------------------------------

TEST(MockAsync, ReturnsScriptedOutcomesInOrderThenTheDefault) {
  mock_async<int(std::string)> fetch("fetch");
  fetch.returns(5).fails(std::runtime_error("503")).returns(7).default_returns(0);
  EXPECT_EQ(fetch.scripted(), 3u);
  auto a = fetch("a");
  auto b = fetch("b");
  auto c = fetch("c");
  auto d = fetch("d");
  auto e = fetch("e");
  EXPECT_EQ(a.get(), 5);
  EXPECT_EQ(message_of(error_of(b)), "503");
  EXPECT_EQ(c.get(), 7);
  EXPECT_EQ(d.get(), 0);
  EXPECT_EQ(e.get(), 0);
  EXPECT_EQ(fetch.scripted(), 0u);
  EXPECT_EQ(fetch.call_count(), 5u);
  const auto calls = fetch.calls();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(std::get<0>(calls[0]), "a");
  EXPECT_EQ(std::get<0>(calls[4]), "e");
}

TEST(MockAsync, RecordsEveryArgumentAsACopy) {
  mock_async<void(const std::string&, int, std::vector<int>&)> m;
  m.default_returns();
  std::string s = "key";
  std::vector<int> v = {1, 2};
  m(s, 3, v).get();
  s = "changed";
  v.push_back(9);
  const auto calls = m.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(std::get<0>(calls[0]), "key");
  EXPECT_EQ(std::get<1>(calls[0]), 3);
  EXPECT_EQ(std::get<2>(calls[0]), (std::vector<int>{1, 2}));
  m.clear_calls();
  EXPECT_EQ(m.call_count(), 0u);
}

TEST(MockAsync, WithNothingScriptedTheFutureFailsNamingTheMockAndCall) {
  mock_async<int(int)> m("lookup");
  m.returns(1);
  EXPECT_EQ(m(1).get(), 1);
  weft::future<int> f;
  ASSERT_NO_THROW(f = m(2));  // never a synchronous throw
  const std::exception_ptr e = error_of(f);
  try {
    std::rethrow_exception(e);
  } catch (const std::logic_error& err) {
    EXPECT_TRUE(contains(err.what(), "weft::testing::mock_async 'lookup': call 2 has nothing scripted")) << err.what();
  } catch (...) {
    ADD_FAILURE() << "not a logic_error: " << message_of(e);
  }
  EXPECT_EQ(m.call_count(), 2u);  // recorded all the same
}

TEST(MockAsync, FailsWithAnExceptionPtrOrAnExceptionObject) {
  mock_async<int()> m;
  m.fails(std::make_exception_ptr(weft::timeout_error("slow"))).fails(weft::cancelled_error("off"));
  auto a = m();
  auto b = m();
  EXPECT_THROW(a.get(), weft::timeout_error);
  EXPECT_THROW(b.get(), weft::cancelled_error);
  m.default_fails(std::logic_error("always"));
  auto c = m();
  auto d = m();
  EXPECT_THROW(c.get(), std::logic_error);
  EXPECT_THROW(d.get(), std::logic_error);
}

TEST(MockAsync, RejectsANullErrorOrAnInvalidFuture) {
  mock_async<int()> m("m");
  EXPECT_THROW(m.fails(std::exception_ptr()), std::invalid_argument);
  EXPECT_THROW(m.default_fails(std::exception_ptr()), std::invalid_argument);
  try {
    m.returns_future(weft::future<int>());
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "weft::testing::mock_async::returns_future: f")) << e.what();
  }
  EXPECT_EQ(m.scripted(), 0u);
}

TEST(MockAsync, ReturnsAScriptedFutureAsItIs) {
  mock_async<int(int)> m;
  weft::promise<int> p;
  m.returns_future(p.get_future());
  auto f = m(1);
  EXPECT_FALSE(f.is_ready());  // the test decides when it completes
  p.set_value(11);
  EXPECT_EQ(f.get(), 11);
}

TEST(MockAsync, InvokesAFunctionWithTheArguments) {
  mock_async<int(int, int)> m;
  m.invokes([](int a, int b) { return a + b; })
      .invokes([](int a, int) { return weft::make_ready_future(a * 10); })
      .invokes([](int, int) -> int { throw std::out_of_range("no such key"); })
      .default_invokes([](int a, int b) { return a * b; });
  EXPECT_EQ(m(2, 3).get(), 5);
  EXPECT_EQ(m(2, 3).get(), 20);
  EXPECT_THROW(m(2, 3).get(), std::out_of_range);
  EXPECT_EQ(m(2, 3).get(), 6);
  EXPECT_EQ(m(4, 3).get(), 12);
}

TEST(MockAsync, VoidResults) {
  mock_async<void(int)> m;
  int seen = 0;
  m.returns().invokes([&](int v) { seen = v; }).fails(std::runtime_error("x"));
  EXPECT_NO_THROW(m(1).get());
  EXPECT_NO_THROW(m(2).get());
  EXPECT_EQ(seen, 2);
  EXPECT_THROW(m(3).get(), std::runtime_error);
}

TEST(MockAsync, MoveOnlyResults) {
  mock_async<std::unique_ptr<int>()> m;
  m.returns(std::make_unique<int>(4)).invokes([] { return std::make_unique<int>(5); });
  EXPECT_EQ(*m().get(), 4);
  EXPECT_EQ(*m().get(), 5);
}

TEST(MockAsync, CopiesShareTheScriptAndTheCalls) {
  mock_async<int(std::string)> m("fetch");
  std::function<weft::future<int>(std::string)> as_function = m;  // what code under test takes
  m.returns(1).returns(2);
  EXPECT_EQ(as_function("x").get(), 1);
  EXPECT_EQ(m("y").get(), 2);
  EXPECT_EQ(m.call_count(), 2u);
  EXPECT_EQ(std::get<0>(m.calls()[0]), "x");
  EXPECT_EQ(mock_async<int(std::string)>(m).name(), "fetch");
}

TEST(MockAsync, FuturesAreBoundToTheMocksExecutor) {
  manual_executor ex;
  mock_async<int(int)> m("m", ex);
  m.default_returns(3);
  bool ran = false;
  auto f = m(1).then([&](int v) {
    ran = true;
    return v + 1;
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(ex.pending(), 1u);
  ex.run_all();
  EXPECT_TRUE(ran);
  EXPECT_EQ(f.get(), 4);
}

TEST(MockAsync, ConcurrentCallsUseEachScriptedOutcomeOnce) {
  mock_async<int(int)> m;
  constexpr int scripted = 100;
  for (int i = 1; i <= scripted; ++i) m.returns(i);
  m.default_returns(0);
  constexpr int threads = 4;
  constexpr int per_thread = 60;
  weft_test::latch start(threads);
  std::vector<std::vector<int>> got(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      start.arrive_and_wait_within();
      for (int i = 0; i < per_thread; ++i) got[t].push_back(m(t).get());
    });
  }
  for (auto& t : ts) t.join();
  std::vector<int> all;
  for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
  const std::size_t defaults = threads * per_thread - scripted;
  for (std::size_t i = 0; i < defaults; ++i) EXPECT_EQ(all[i], 0);
  for (int i = 1; i <= scripted; ++i) EXPECT_EQ(all[defaults + i - 1], i);
  EXPECT_EQ(m.call_count(), static_cast<std::size_t>(threads * per_thread));
}

// --- run_until_complete --------------------------------------------------

TEST(RunUntilComplete, ReturnsTheValueOrRethrowsFromAPool) {
  weft::thread_pool pool(2);
  EXPECT_EQ(run_until_complete(weft::async(pool, [] { return 6 * 7; }), std::chrono::seconds(60)), 42);
  EXPECT_THROW(run_until_complete(weft::async(pool, []() -> int { throw std::out_of_range("boom"); }),
                                  std::chrono::seconds(60)),
               std::out_of_range);
  run_until_complete(weft::async(pool, [] {}), std::chrono::seconds(60));  // void
}

TEST(RunUntilComplete, WaitsForAnotherThread) {
  weft::promise<std::string> p;
  auto f = p.get_future();
  std::thread t([&] { p.set_value("late"); });
  EXPECT_EQ(run_until_complete(std::move(f), std::chrono::seconds(60)), "late");
  t.join();
}

TEST(RunUntilComplete, ThrowsTimeoutErrorSayingTheLimit) {
  struct limit_case {
    std::chrono::nanoseconds limit;
    const char* says;
  };
  const limit_case cases[] = {{std::chrono::milliseconds(20), "within 20 ms"},
                              {std::chrono::microseconds(1500), "within 1.5 ms"},
                              {std::chrono::nanoseconds(300), "within 300 ns"},
                              {std::chrono::nanoseconds(0), "within 0 s"}};
  for (const auto& c : cases) {
    weft::promise<int> never;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      run_until_complete(never.get_future(), c.limit);
      ADD_FAILURE() << "no timeout for " << c.says;
    } catch (const weft::timeout_error& e) {
      EXPECT_TRUE(contains(e.what(), std::string("weft::testing::run_until_complete: the future was not ready ") + c.says))
          << e.what();
    }
    EXPECT_GE(std::chrono::steady_clock::now() - t0, c.limit);  // it did wait that long
  }
}

TEST(RunUntilComplete, ReadyFutureAndZeroLimit) {
  EXPECT_EQ(run_until_complete(weft::make_ready_future(3), std::chrono::seconds(0)), 3);
}

TEST(RunUntilComplete, RejectsANegativeLimitAndAnInvalidFuture) {
  EXPECT_THROW(run_until_complete(weft::make_ready_future(3), std::chrono::seconds(-1)), std::invalid_argument);
  EXPECT_THROW(run_until_complete(weft::future<int>(), std::chrono::seconds(1)), weft::future_error);
  manual_executor ex;
  EXPECT_THROW(run_until_complete(weft::future<int>(), ex), weft::future_error);
}

TEST(RunUntilComplete, HugeLimitsDoNotOverflow) {
  EXPECT_EQ(run_until_complete(weft::make_ready_future(3), std::chrono::hours::max()), 3);
}

TEST(RunUntilComplete, RunsTheManualExecutorOnlyUntilTheFutureIsReady) {
  manual_executor ex;
  mock_async<int(int)> fetch("fetch", ex);
  fetch.returns(10).returns(20);
  auto total = weft::async(ex, [&] { return fetch(1); })
                   .then([&](int a) { return fetch(2).then([a](int b) { return a + b; }); });
  bool unrelated_ran = false;
  EXPECT_EQ(run_until_complete(std::move(total), ex), 30);
  ex.execute([&] { unrelated_ran = true; });  // queued after: not run
  EXPECT_FALSE(unrelated_ran);
  EXPECT_EQ(ex.pending(), 1u);
  EXPECT_EQ(fetch.call_count(), 2u);
}

TEST(RunUntilComplete, ManualExecutorRethrowsTheError) {
  manual_executor ex;
  auto f = weft::async(ex, []() -> int { throw std::out_of_range("bad key"); });
  EXPECT_THROW(run_until_complete(std::move(f), ex), std::out_of_range);
  run_until_complete(weft::async(ex, [] {}), ex);  // void
}

TEST(RunUntilComplete, ManualExecutorThatRunsDryIsADeadlock) {
  weft_test::error_capture errors;  // `never` breaks when the test ends; nobody sees it
  manual_executor ex;
  weft::promise<int> never(ex);
  int steps = 0;
  auto f = weft::async(ex, [&] { ++steps; }).then([&] {
    ++steps;
    return never.get_future();  // waits on something nobody will complete
  });
  try {
    run_until_complete(std::move(f), ex);
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(),
                 "weft::testing::run_until_complete: nothing left to run on the manual_executor, the future can "
                 "never complete");
  }
  EXPECT_EQ(steps, 2);  // it ran everything it could first
  EXPECT_EQ(ex.pending(), 0u);
}

// --- docs/testing.md, "Testing code that uses weft", as written there ------

using backend_fn = std::function<weft::future<int>(std::string)>;

weft::future<int> price_or_last_known(const backend_fn& backend, const std::string& sku, int last_known) {
  return backend(sku).on_error<std::runtime_error>([last_known](std::runtime_error&) { return last_known; });
}

TEST(Price, FallsBackWhenTheBackendFails) {
  weft::testing::manual_executor ex;
  weft::testing::mock_async<int(std::string)> backend("backend", ex);  // its futures continue on ex
  backend.returns(120).fails(std::runtime_error("503"));

  EXPECT_EQ(weft::testing::run_until_complete(price_or_last_known(backend, "a", 99), ex), 120);
  EXPECT_EQ(weft::testing::run_until_complete(price_or_last_known(backend, "b", 99), ex), 99);
  ASSERT_EQ(backend.call_count(), 2u);
  EXPECT_EQ(std::get<0>(backend.calls()[1]), "b");
}

TEST(Price, WaitsForASlowBackend) {
  weft::testing::manual_executor ex;
  weft::testing::mock_async<int(std::string)> backend("backend", ex);
  weft::promise<int> reply(ex);  // the test answers when it wants to
  backend.returns_future(reply.get_future());

  weft::future<int> price = price_or_last_known(backend, "c", 99);
  ex.run_all();
  EXPECT_FALSE(price.is_ready());  // still waiting on the backend
  reply.set_value(130);
  EXPECT_EQ(weft::testing::run_until_complete(std::move(price), ex), 130);
}

}  // namespace
