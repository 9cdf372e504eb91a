// for_each_bounded and batch: bounded fan-out with results in input order.
// Driven by manual executors and promises completed by hand, so every
// interleaving a test needs is one it spells out; the races between a
// failure and the completions around it run under the simulation's seeds.
#include "weft/for_each_bounded.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "outcome.hpp"
#include "small_stack.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/testing.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timeout.hpp"
#include "weft/timer.hpp"
#include "witness.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::error_of;
using weft_test::manual_executor;

std::vector<int> iota(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// Calls that wait for the test: each call leaves its promise (and the token
// it was given) here, and the test completes them in the order it likes.
struct held_calls {
  explicit held_calls(weft::executor& e) : ex(e) {}
  weft::executor& ex;
  std::vector<std::unique_ptr<weft::promise<int>>> promises;
  std::vector<int> items;
  std::vector<weft::cancellation_token> tokens;
  int outstanding = 0;
  int most_outstanding = 0;

  weft::future<int> call(int item, const weft::cancellation_token& t) {
    promises.emplace_back(new weft::promise<int>(ex));
    items.push_back(item);
    tokens.push_back(t);
    most_outstanding = std::max(most_outstanding, ++outstanding);
    return promises.back()->get_future();
  }
  void succeed(std::size_t call_no) {
    --outstanding;
    promises[call_no]->set_value(items[call_no] * 10);
  }
  void fail(std::size_t call_no, std::exception_ptr e) {
    --outstanding;
    promises[call_no]->set_exception(std::move(e));
  }
};

TEST(ForEachBounded, NeverMoreThanMaxInFlightAndResultsInInputOrder) {
  manual_executor ex;
  held_calls calls(ex);
  auto f = weft::for_each_bounded(
      iota(10), 3, [&](int i, const weft::cancellation_token& t) { return calls.call(i, t); }, {}, ex);
  ex.run_all();
  ASSERT_EQ(calls.promises.size(), 3u) << "three started, the rest wait for a free slot";
  // Completed newest first: every completion lets exactly one more start.
  std::size_t done = 0;
  std::vector<bool> completed;
  for (;;) {
    completed.resize(calls.promises.size(), false);
    std::size_t newest = calls.promises.size();
    for (std::size_t k = calls.promises.size(); k-- > 0;) {
      if (!completed[k]) {
        newest = k;
        break;
      }
    }
    if (newest == calls.promises.size()) break;
    completed[newest] = true;
    calls.succeed(newest);
    ex.run_all();
    ++done;
    EXPECT_EQ(calls.outstanding, std::min(3, 10 - static_cast<int>(done))) << "after " << done << " completions";
  }
  EXPECT_EQ(done, 10u);
  EXPECT_EQ(calls.most_outstanding, 3);
  ASSERT_TRUE(f.is_ready());
  const std::vector<int> expected{0, 10, 20, 30, 40, 50, 60, 70, 80, 90};
  EXPECT_EQ(f.get(), expected);
}

TEST(ForEachBounded, ValuesAndReadyFuturesKeepInputOrder) {
  weft::thread_pool pool(2);
  std::list<std::string> words{"a", "bb", "ccc", "dddd"};
  auto sizes = weft::for_each_bounded(words, 2, [](const std::string& w) { return w.size(); }, pool);
  EXPECT_EQ(weft_test::get_within(sizes), (std::vector<std::size_t>{1, 2, 3, 4}));
  auto twice = weft::for_each_bounded(iota(50), 7, [&pool](int i) { return weft::async(pool, [i] { return 2 * i; }); },
                                      pool);
  const std::vector<int> got = weft_test::get_within(twice);
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], 2 * i);
}

TEST(ForEachBounded, TheFirstFailureCancelsTheRunningAndStartsNothingMore) {
  manual_executor ex;
  held_calls calls(ex);
  auto f = weft::for_each_bounded(
      iota(6), 2, [&](int i, const weft::cancellation_token& t) { return calls.call(i, t); }, {}, ex);
  ex.run_all();
  ASSERT_EQ(calls.promises.size(), 2u);
  EXPECT_FALSE(calls.tokens[1].is_cancelled());
  calls.fail(0, std::make_exception_ptr(std::runtime_error("item 0 broke")));
  ex.run_all();
  EXPECT_TRUE(calls.tokens[1].is_cancelled()) << "the running call is told to stop";
  EXPECT_EQ(calls.promises.size(), 2u) << "nothing starts in the failed call's place";
  EXPECT_EQ(ex.submitted(), 2u) << "nor is handed to the executor: the cancel comes before the slot is freed";
  EXPECT_FALSE(f.is_ready()) << "call 1 is still running";
  // Call 1 stops as asked: its cancelled_error is not a failure to report.
  calls.fail(1, std::make_exception_ptr(weft::cancelled_error("stopped")));
  ex.run_all();
  EXPECT_EQ(calls.promises.size(), 2u);
  ASSERT_TRUE(f.is_ready());
  try {
    f.get();
    FAIL() << "no error";
  } catch (const weft::exception_group& g) {
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g.message(), "weft::for_each_bounded: 1 of 6 items failed");
    EXPECT_THROW(std::rethrow_exception(g.exceptions()[0]), std::runtime_error);
  }
}

TEST(ForEachBounded, EveryRealFailureIsInTheGroupInInputOrder) {
  manual_executor ex;
  held_calls calls(ex);
  auto f = weft::for_each_bounded(
      iota(5), 3, [&](int i, const weft::cancellation_token& t) { return calls.call(i, t); }, {}, ex);
  ex.run_all();
  ASSERT_EQ(calls.promises.size(), 3u);
  calls.fail(2, std::make_exception_ptr(std::runtime_error("two")));
  calls.succeed(1);
  calls.fail(0, std::make_exception_ptr(std::logic_error("zero")));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  try {
    f.get();
    FAIL() << "no error";
  } catch (const weft::exception_group& g) {
    ASSERT_EQ(g.size(), 2u);
    EXPECT_THROW(std::rethrow_exception(g.exceptions()[0]), std::logic_error);
    try {
      std::rethrow_exception(g.exceptions()[1]);
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "two");
    }
  }
  EXPECT_EQ(calls.promises.size(), 3u);
}

TEST(ForEachBounded, AThrowingFnIsAFailureToo) {
  manual_executor ex;
  std::atomic<int> ran{0};
  auto f = weft::for_each_bounded(iota(4), 1,
                                  [&](int i) {
                                    ++ran;
                                    if (i == 1) throw std::runtime_error("no");
                                    return i;
                                  },
                                  ex);
  ex.run_all();
  EXPECT_EQ(ran.load(), 2) << "items after the failure never run";
  EXPECT_EQ(error_of<weft::exception_group>(f), "weft::for_each_bounded: 1 of 4 items failed (1 exception)\n  [0] no")
      << "what() lists the members";
}

TEST(ForEachBounded, ACancelThroughTheCallersTokenStopsItWithCancelledError) {
  manual_executor ex;
  held_calls calls(ex);
  weft::cancellation_source outer;
  auto f = weft::for_each_bounded(
      iota(5), 2, [&](int i, const weft::cancellation_token& t) { return calls.call(i, t); }, outer.token(), ex);
  ex.run_all();
  ASSERT_EQ(calls.promises.size(), 2u);
  outer.cancel();
  EXPECT_TRUE(calls.tokens[0].is_cancelled());
  EXPECT_TRUE(calls.tokens[1].is_cancelled());
  calls.succeed(0);  // finished anyway
  ex.run_all();
  EXPECT_EQ(calls.promises.size(), 2u) << "nothing starts after the cancel";
  EXPECT_FALSE(f.is_ready()) << "call 1 has not finished";
  calls.fail(1, std::make_exception_ptr(weft::cancelled_error("stopped")));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::for_each_bounded: cancelled before every item finished");
}

TEST(ForEachBounded, ACancelAfterEverythingFinishedChangesNothing) {
  manual_executor ex;
  weft::cancellation_source outer;
  auto f = weft::for_each_bounded(iota(3), 2, [](int i) { return i; }, outer.token(), ex);
  ex.run_all();
  outer.cancel();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), (std::vector<int>{0, 1, 2}));
}

TEST(ForEachBounded, AlreadyCancelledStartsNothing) {
  manual_executor ex;
  weft::cancellation_source outer;
  outer.cancel();
  int ran = 0;
  auto f = weft::for_each_bounded(iota(3), 2, [&](int i) { return ran += i; }, outer.token(), ex);
  ex.run_all();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(ex.submitted(), 0u);
  EXPECT_EQ(error_of<weft::cancelled_error>(f), "weft::for_each_bounded: cancelled before every item finished");
}

struct manual_timers {
  weft::manual_clock clk;
  manual_executor ex;
  weft::timer_service svc{clk, ex};  // last: destroyed first
};

TEST(ForEachBounded, WithTimeoutOnTheResultStopsTheWork) {
  manual_timers t;
  held_calls calls(t.ex);
  weft::cancellation_source work;
  auto f = weft::with_timeout(t.svc,
                              weft::for_each_bounded(
                                  iota(4), 2,
                                  [&](int i, const weft::cancellation_token& tok) { return calls.call(i, tok); },
                                  work.token(), t.ex),
                              10ms, work);
  t.ex.run_all();
  calls.succeed(0);
  t.ex.run_all();
  ASSERT_EQ(calls.promises.size(), 3u);
  t.clk.advance(10ms);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_FALSE(f.get()) << "time ran out";
  EXPECT_TRUE(calls.tokens[1].is_cancelled());
  EXPECT_TRUE(calls.tokens[2].is_cancelled());
  calls.succeed(1);
  calls.succeed(2);
  t.ex.run_all();
  EXPECT_EQ(calls.promises.size(), 3u) << "nothing starts after the time-out";
}

TEST(ForEachBounded, WithTimeoutInTimeGivesTheValues) {
  manual_timers t;
  auto f = weft::with_timeout(t.svc, weft::for_each_bounded(iota(3), 1, [](int i) { return i + 1; }, t.ex), 10ms);
  t.ex.run_all();
  ASSERT_TRUE(f.is_ready());
  auto v = f.get();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (std::vector<int>{1, 2, 3}));
}

TEST(ForEachBounded, AVoidFnGivesAFutureOfVoid) {
  manual_executor ex;
  int sum = 0;
  weft::future<void> f = weft::for_each_bounded(iota(5), 2, [&](int i) { sum += i; }, ex);
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  f.get();
  EXPECT_EQ(sum, 10);

  weft::promise<void> gate(ex);
  weft::shared_future<void> opened = gate.get_future().share();
  int started = 0;
  weft::future<void> g = weft::for_each_bounded(iota(3), 2,
                                                [&](int) {
                                                  ++started;
                                                  return opened.then([] {});
                                                },
                                                ex);
  ex.run_all();
  EXPECT_EQ(started, 2);
  EXPECT_FALSE(g.is_ready());
  gate.set_value();
  ex.run_all();
  EXPECT_EQ(started, 3);
  ASSERT_TRUE(g.is_ready());
  g.get();
}

TEST(ForEachBounded, HundredThousandReadyItemsDoNotGrowTheStack) {
  // On a 256 KiB stack, starting each item from the completion of the one
  // before would overflow long before the end.
  const int n = 100000;
  weft_test::on_small_stack([n] {
    // Everything inline: each call completes inside its own start.
    auto f = weft::for_each_bounded(iota(n), 4, [](int i) { return weft::make_ready_future(i, weft::inline_executor()); },
                                    weft::inline_executor());
    ASSERT_TRUE(f.is_ready());
    const std::vector<int> v = f.get();
    ASSERT_EQ(v.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(v.back(), n - 1);
    long long count = 0;
    weft::future<void> g = weft::for_each_bounded(iota(n), 1, [&count](int) { ++count; }, weft::inline_executor());
    ASSERT_TRUE(g.is_ready());
    g.get();
    EXPECT_EQ(count, n);
  });
  weft_test::on_small_stack([n] {
    manual_executor ex;
    auto f = weft::for_each_bounded(iota(n), 3, [](int i) { return weft::make_ready_future(i); }, ex);
    ex.run_all();
    ASSERT_TRUE(f.is_ready());
    EXPECT_EQ(f.get().size(), static_cast<std::size_t>(n));
  });
}

TEST(ForEachBounded, EmptyInputIsAReadyEmptyVector) {
  manual_executor ex;
  int calls = 0;
  auto f = weft::for_each_bounded(std::vector<int>(), 3, [&](int i) { return calls += i; }, ex);
  ASSERT_TRUE(f.is_ready());
  EXPECT_TRUE(f.get().empty());
  weft::future<void> g = weft::for_each_bounded(std::vector<int>(), 3, [](int) {}, ex);
  ASSERT_TRUE(g.is_ready());
  EXPECT_EQ(ex.submitted(), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(ForEachBounded, BadArgumentsAreRejectedByName) {
  manual_executor ex;
  auto fn = [](int i) { return i; };
  try {
    weft::for_each_bounded(iota(3), 0, fn, ex);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::for_each_bounded: max_in_flight must be at least 1");
  }
  EXPECT_THROW(weft::for_each_bounded(std::vector<int>(), 0, fn, ex), std::invalid_argument);
  auto per_batch = [](std::vector<int> b) { return b.size(); };
  try {
    weft::batch(iota(3), 0, per_batch, {}, ex);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::batch: size must be at least 1");
  }
  try {
    weft::batch(iota(3), 2, 0, per_batch, {}, ex);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::batch: max_in_flight must be at least 1");
  }
  EXPECT_EQ(ex.submitted(), 0u);
}

TEST(ForEachBounded, ItemsAndFnAreGoneBeforeTheResultResolves) {
  manual_executor ex;
  auto live = std::make_shared<std::atomic<int>>(0);
  std::vector<weft_test::witness> items;
  for (int i = 0; i < 5; ++i) items.emplace_back(live);
  weft_test::witness in_fn(live);
  auto f = weft::for_each_bounded(items, 2, [in_fn](const weft_test::witness&) { return 1; }, ex);
  items.clear();  // the caller's copies: the operation has its own
  { weft_test::witness gone(std::move(in_fn)); }
  EXPECT_EQ(live->load(), 6) << "five items and fn, held by the operation";
  int live_at_resolution = -1;
  auto seen = f.then(weft::inline_executor(), [&](std::vector<int> v) {
    live_at_resolution = live->load();
    return v.size();
  });
  ex.run_all();
  ASSERT_TRUE(seen.is_ready());
  EXPECT_EQ(seen.get(), 5u);
  EXPECT_EQ(live_at_resolution, 0);
}

// A value that, when it dies holding something, records whether the
// output had resolved by then.
struct resolution_probe {
  const std::function<bool()>* resolved;
  int* died_before;
  int* died_after;
  bool live = true;
  resolution_probe(const std::function<bool()>* r, int* before, int* after)
      : resolved(r), died_before(before), died_after(after) {}
  resolution_probe(resolution_probe&& o) noexcept
      : resolved(o.resolved), died_before(o.died_before), died_after(o.died_after), live(o.live) {
    o.live = false;
  }
  ~resolution_probe() {
    if (live) ++*((*resolved)() ? died_after : died_before);
  }
};

// The values of a run that failed are never handed on: they die before
// the failure resolves the output (seen from their destructor: a thread
// blocked in get() may run as soon as it resolves).
TEST(ForEachBounded, ValuesOfAFailedRunAreGoneBeforeTheFailureResolves) {
  int before = 0, after = 0;
  std::function<bool()> resolved = [] { return false; };
  std::vector<weft::promise<resolution_probe>> replies(2);
  auto f = weft::for_each_bounded(iota(2), 2, [&](int i) { return replies[static_cast<std::size_t>(i)].get_future(); },
                                  weft::cancellation_token(), weft::inline_executor());
  replies[0].set_value(resolution_probe(&resolved, &before, &after));
  EXPECT_EQ(before + after, 0) << "the first value, held by the operation";
  resolved = [&f] { return f.is_ready(); };
  replies[1].set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  resolved = [] { return false; };
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::exception_group>(f), "weft::for_each_bounded: 1 of 2 items failed (1 exception)\n  [0] boom");
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 0);
}

// Abandons every task without throwing, as an executor shedding load.
class shedding_executor final : public weft::executor {
 public:
  void execute(weft::unique_task task) override { task.abandon(std::make_exception_ptr(std::runtime_error("shed"))); }
};

TEST(ForEachBounded, AnExecutorThatRefusesFailsTheItem) {
  shedding_executor shed;
  int ran = 0;
  auto f = weft::for_each_bounded(iota(4), 2, [&](int i) { return ran += i; }, shed);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(error_of<weft::exception_group>(f), "weft::for_each_bounded: 1 of 4 items failed (1 exception)\n  [0] shed");

  manual_executor closed;
  closed.shutdown();
  auto g = weft::for_each_bounded(iota(4), 2, [&](int i) { return ran += i; }, closed);
  ASSERT_TRUE(g.is_ready());
  EXPECT_THROW(g.get(), weft::exception_group);
}

TEST(Batch, SplitsIntoConsecutiveBatchesInOrder) {
  manual_executor ex;
  auto sizes = [](std::vector<int> b) {
    std::string s;
    for (int i : b) s += std::to_string(i);
    return s;
  };
  auto exact = weft::batch(iota(6), 3, sizes, {}, ex);
  auto rest = weft::batch(iota(7), 3, sizes, {}, ex);
  auto one = weft::batch(iota(4), 10, sizes, {}, ex);
  auto none = weft::batch(std::vector<int>(), 10, sizes, {}, ex);
  // Given the executor without a token, as for_each_bounded allows.
  auto no_token = weft::batch(iota(5), 2, sizes, ex);
  auto no_token_two_at_once = weft::batch(iota(5), 2, 2, sizes, ex);
  ex.run_all();
  EXPECT_EQ(no_token.get(), (std::vector<std::string>{"01", "23", "4"}));
  EXPECT_EQ(no_token_two_at_once.get(), (std::vector<std::string>{"01", "23", "4"}));
  EXPECT_EQ(exact.get(), (std::vector<std::string>{"012", "345"}));
  EXPECT_EQ(rest.get(), (std::vector<std::string>{"012", "345", "6"}));
  EXPECT_EQ(one.get(), (std::vector<std::string>{"0123"}));
  EXPECT_TRUE(none.get().empty());
}

TEST(Batch, OneBatchAtATimeByDefaultOrMaxInFlight) {
  manual_executor ex;
  std::vector<std::unique_ptr<weft::promise<void>>> inserts;
  auto insert = [&](std::vector<int>) {
    inserts.emplace_back(new weft::promise<void>(ex));
    return inserts.back()->get_future();
  };
  weft::future<void> f = weft::batch(iota(10), 4, insert, {}, ex);
  ex.run_all();
  EXPECT_EQ(inserts.size(), 1u);
  inserts[0]->set_value();
  ex.run_all();
  EXPECT_EQ(inserts.size(), 2u) << "the next batch starts when the one before is done";
  inserts[1]->set_value();
  ex.run_all();
  inserts[2]->set_value();
  ex.run_all();
  EXPECT_EQ(inserts.size(), 3u);
  ASSERT_TRUE(f.is_ready());
  f.get();

  inserts.clear();
  weft::future<void> g = weft::batch(iota(10), 2, 3, insert, {}, ex);
  ex.run_all();
  EXPECT_EQ(inserts.size(), 3u);
  for (std::size_t k = 0; k < 5; ++k) {
    inserts[k]->set_value();
    ex.run_all();
  }
  ASSERT_TRUE(g.is_ready());
  g.get();
}

TEST(Batch, AFailedBatchStopsTheRest) {
  manual_executor ex;
  std::vector<std::size_t> seen;
  auto f = weft::batch(iota(10), 3,
                       [&](std::vector<int> b, const weft::cancellation_token&) {
                         seen.push_back(b.size());
                         if (b.front() == 3) throw std::runtime_error("duplicate key");
                         return b.size();
                       },
                       {}, ex);
  ex.run_all();
  EXPECT_EQ(seen, (std::vector<std::size_t>{3, 3}));
  EXPECT_EQ(error_of<weft::exception_group>(f), "weft::batch: 1 of 4 batches failed (1 exception)\n  [0] duplicate key");
}

// The race between a failure and the completions around it, under many
// interleavings: each call finishes in a task of its own, one call fails,
// and the caller may cancel at any moment.
TEST(ForEachBounded, FailureRacingCompletionsUnderTheSimulation) {
  weft::testing::for_each_seed(0, 1000, [](weft::testing::simulation& sim) {
    const int n = 8;
    const std::size_t limit = 1 + static_cast<std::size_t>(sim.random(3));
    const int bad = static_cast<int>(sim.random(n + 2));  // n, n+1: nothing fails
    const bool cancel = sim.random(2) == 0;
    weft::cancellation_source outer;
    auto running = std::make_shared<std::size_t>(0);
    auto most = std::make_shared<std::size_t>(0);
    auto started = std::make_shared<int>(0);
    auto thrown = std::make_shared<int>(0);
    auto entered_cancelled = std::make_shared<int>(0);
    weft::executor& ex = sim.executor();
    auto f = weft::for_each_bounded(
        iota(n), limit,
        [=, &ex](int i, const weft::cancellation_token& t) {
          if (t.is_cancelled()) ++*entered_cancelled;
          ++*started;
          *most = std::max(*most, ++*running);
          return weft::async(ex, [=] {
            --*running;
            if (t.is_cancelled()) throw weft::cancelled_error("stopped");
            if (i == bad) {
              ++*thrown;
              throw std::runtime_error("bad");
            }
            return i;
          });
        },
        outer.token(), ex);
    if (cancel) weft::async(ex, [&outer] { outer.cancel(); });
    sim.run();
    if (!f.is_ready()) throw std::logic_error("not ready once everything ran");
    if (*entered_cancelled != 0) throw std::logic_error("a call started after the cancel");
    if (*most > limit) throw std::logic_error("more than max_in_flight at once");
    if (*running != 0) throw std::logic_error("a call still running after the result");
    try {
      std::vector<int> v = f.get();
      if (v != iota(n) || *thrown != 0 || *started != n) throw std::logic_error("wrong values");
    } catch (const weft::exception_group& g) {
      if (*thrown != 1 || g.size() != 1) throw std::logic_error("the group should hold the one failure");
    } catch (const weft::cancelled_error&) {
      if (*thrown != 0 || !cancel) throw std::logic_error("cancelled_error without a cancel, or with a failure");
    }
  });
}

}  // namespace
