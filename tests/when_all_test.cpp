// when_all (range and variadic), when_all_settled, when_any.
#include "weft/when_all.hpp"

#include <dirent.h>

#include <atomic>
#include <list>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
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

std::size_t threads_in_process() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

template <class T>
std::vector<weft::promise<T>> make_promises(std::size_t n, weft::executor& ex = weft::inline_executor()) {
  std::vector<weft::promise<T>> ps;
  for (std::size_t i = 0; i < n; ++i) ps.emplace_back(ex);
  return ps;
}
template <class T>
std::vector<weft::future<T>> futures_of(std::vector<weft::promise<T>>& ps) {
  std::vector<weft::future<T>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  return fs;
}

std::exception_ptr error(const char* what) { return std::make_exception_ptr(std::runtime_error(what)); }

// ---- when_all over a range ------------------------------------------------------

TEST(WhenAll, GivesTheValuesInInputOrderWhateverTheCompletionOrder) {
  auto ps = make_promises<int>(5);
  auto all = weft::when_all(futures_of(ps));
  const int order[] = {3, 0, 4, 1, 2};
  for (int i : order) {
    EXPECT_FALSE(all.is_ready());
    ps[i].set_value(i * 10);
  }
  ASSERT_TRUE(all.is_ready());
  EXPECT_EQ(all.get(), (std::vector<int>{0, 10, 20, 30, 40}));
}

TEST(WhenAll, ConsumesItsInputs) {
  auto ps = make_promises<int>(2);
  auto fs = futures_of(ps);
  auto all = weft::when_all(fs.begin(), fs.end());
  for (auto& f : fs) EXPECT_FALSE(f.valid());
  for (auto& p : ps) p.set_value(1);
  EXPECT_EQ(all.get().size(), 2u);
}

TEST(WhenAll, EmptyRangeIsReadyAtOnce) {
  std::vector<weft::future<int>> none;
  auto all = weft::when_all(none);
  ASSERT_TRUE(all.is_ready());
  EXPECT_TRUE(all.get().empty());
  std::vector<weft::future<void>> none_void;
  auto all_void = weft::when_all(none_void);
  ASSERT_TRUE(all_void.is_ready());
  EXPECT_NO_THROW(all_void.get());
}

TEST(WhenAll, FailsWithTheFirstErrorToOccur) {
  auto ps = make_promises<int>(3);
  auto all = weft::when_all(futures_of(ps));
  ps[2].set_exception(error("first"));
  EXPECT_TRUE(all.is_ready()) << "the first error decides at once";
  ps[0].set_exception(error("second"));
  ps[1].set_value(1);
  try {
    all.get();
    FAIL() << "get() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
}

TEST(WhenAll, OtherInputsStillRunAfterAnError) {
  manual_executor ex;
  std::atomic<int> ran{0};
  std::vector<weft::future<int>> fs;
  fs.push_back(weft::async(ex, []() -> int { throw std::runtime_error("early"); }));
  for (int i = 0; i < 3; ++i) {
    fs.push_back(weft::async(ex, [&ran, i] {
      ran.fetch_add(1);
      return i;
    }));
  }
  auto all = weft::when_all(fs);
  ex.run_all();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_THROW(all.get(), std::runtime_error);
}

TEST(WhenAll, OfVoidFuturesGivesAFutureOfVoid) {
  auto ps = make_promises<void>(3);
  weft::future<void> all = weft::when_all(futures_of(ps));
  for (auto& p : ps) {
    EXPECT_FALSE(all.is_ready());
    p.set_value();
  }
  EXPECT_NO_THROW(all.get());
}

TEST(WhenAll, OfVoidFuturesFailsWithTheFirstError) {
  auto ps = make_promises<void>(2);
  weft::future<void> all = weft::when_all(futures_of(ps));
  ps[1].set_exception(error("void failed"));
  ps[0].set_value();
  EXPECT_THROW(all.get(), std::runtime_error);
}

TEST(WhenAll, AcceptsAnyIteratorRange) {
  weft::promise<std::string> a(weft::inline_executor()), b(weft::inline_executor());
  std::list<weft::future<std::string>> fs;
  fs.push_back(a.get_future());
  fs.push_back(b.get_future());
  auto all = weft::when_all(fs.begin(), fs.end());
  b.set_value("b");
  a.set_value("a");
  EXPECT_EQ(all.get(), (std::vector<std::string>{"a", "b"}));
}

TEST(WhenAll, MovesMoveOnlyValues) {
  weft::promise<std::unique_ptr<int>> a(weft::inline_executor());
  std::vector<weft::future<std::unique_ptr<int>>> fs;
  fs.push_back(a.get_future());
  fs.push_back(weft::make_ready_future(std::make_unique<int>(2), weft::inline_executor()));
  auto all = weft::when_all(fs);
  a.set_value(std::make_unique<int>(1));
  auto v = all.get();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(*v[0], 1);
  EXPECT_EQ(*v[1], 2);
}

TEST(WhenAll, InvalidInputThrowsNoStateAndConsumesNothing) {
  std::vector<weft::future<int>> fs;
  fs.push_back(weft::make_ready_future(1, weft::inline_executor()));
  fs.emplace_back();
  try {
    (void)weft::when_all(fs);
    FAIL() << "when_all did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
  EXPECT_TRUE(fs[0].valid());
}

TEST(WhenAll, ContinuationsRunOnTheFirstInputsExecutor) {
  manual_executor ex;
  weft::promise<int> a(ex), b(weft::inline_executor());
  std::vector<weft::future<int>> fs;
  fs.push_back(a.get_future());
  fs.push_back(b.get_future());
  bool ran = false;
  auto done = weft::when_all(fs).then([&](std::vector<int> v) {
    ran = true;
    return v.size();
  });
  a.set_value(1);
  b.set_value(2);
  EXPECT_FALSE(ran) << "ran on the thread that completed the last input";
  ex.run_all();
  EXPECT_TRUE(ran);
  EXPECT_EQ(done.get(), 2u);
}

TEST(WhenAll, DroppedFailedResultIsReportedOnce) {
  error_capture errors;
  {
    auto ps = make_promises<int>(2);
    auto all = weft::when_all(futures_of(ps));
    ps[0].set_exception(error("gathered error"));
    ps[1].set_value(0);
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "gathered error");
}


// when_all of a when_all's future, 20,000 deep, completed on a 256 KiB
// stack: each arrival completes the next fan-in, so without the trampoline
// the completion recurses once per level (~100 bytes each) and overflows.
weft::future<void> nest_deep(weft::future<void> f, int levels) {
  for (int i = 0; i < levels; ++i) {
    std::vector<weft::future<void>> v;
    v.push_back(std::move(f));
    f = weft::when_all(v);
  }
  return f;
}

TEST(WhenAll, NestedTwentyThousandDeepCompletesOnASmallStack) {
  bool done = false;
  weft_test::on_small_stack([&done] {
    weft::promise<void> p(weft::inline_executor());
    weft::future<void> f = nest_deep(p.get_future(), 20000);
    p.set_value();
    EXPECT_TRUE(f.is_ready());  // the trampoline drained before set_value returned
    f.get();
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(WhenAll, NestedTwentyThousandDeepFailsWithTheErrorOnASmallStack) {
  bool done = false;
  weft_test::on_small_stack([&done] {
    weft::promise<void> p(weft::inline_executor());
    weft::future<void> f = nest_deep(p.get_future(), 20000);
    p.set_exception(std::make_exception_ptr(std::runtime_error("innermost")));
    EXPECT_TRUE(f.is_ready());
    try {
      f.get();
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "innermost");
    }
    done = true;
  });
  EXPECT_TRUE(done);
}

// Arrivals put off past the nesting bound run before set_value() returns,
// also inside an inline task (where the trampoline would run them only
// after the task, and a get() in the task would wait forever).
TEST(WhenAll, NestedCompletionInsideAnInlineTaskIsReadyBeforeSetValueReturns) {
  bool done = false;
  weft::inline_executor().execute([&done] {
    weft::promise<void> p(weft::inline_executor());
    weft::future<void> f = nest_deep(p.get_future(), 100);
    p.set_value();
    EXPECT_TRUE(f.is_ready());
    get_within(f);
    done = true;
  });
  EXPECT_TRUE(done);
}

// A continuation that runs from a deeply nested arrival and blocks on a
// when_all of its own: that when_all's arrival is put off below the wait,
// which must run it rather than wait for it. Both waits: get() (a hang is
// caught by the watchdog) and a timed one.
template <class Wait>
int continuation_waiting_in_a_nested_arrival(Wait wait) {
  weft::promise<void> p(weft::inline_executor());
  // 32 levels: the continuation runs from the 32nd nested arrival, so the
  // when_all's arrival inside it is the first to be put off.
  weft::future<int> f = nest_deep(p.get_future(), 32).then(weft::inline_executor(), [wait] {
    std::vector<weft::future<int>> v;
    v.push_back(weft::make_ready_future(7));
    return wait(weft::when_all(v))[0];
  });
  p.set_value();
  return get_within(f);
}

TEST(WhenAll, GetInsideADeeplyNestedArrivalRunsTheArrivalsPutOffBelowIt) {
  EXPECT_EQ(continuation_waiting_in_a_nested_arrival([](weft::future<std::vector<int>> g) { return g.get(); }), 7);
  EXPECT_EQ(continuation_waiting_in_a_nested_arrival(
                [](weft::future<std::vector<int>> g) { return get_within(g); }),
            7);
}

TEST(WhenAll, ManyPromisesSetFromAnotherThreadStartNoThread) {
  const std::size_t before = threads_in_process();
  auto ps = make_promises<int>(10000);
  auto all = weft::when_all(futures_of(ps));
  EXPECT_EQ(threads_in_process(), before) << "when_all started a thread";
  {
    weft_test::joining_thread setter([&] {
      for (std::size_t i = 0; i < ps.size(); ++i) ps[i].set_value(static_cast<int>(i));
    });
  }
  const auto v = get_within(all);
  ASSERT_EQ(v.size(), 10000u);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int>(i));
}

class WhenAllOnPool : public ::testing::TestWithParam<std::size_t> {};

TEST_P(WhenAllOnPool, GathersTasksRunningConcurrently) {
  weft::thread_pool pool(GetParam());
  std::vector<weft::future<int>> fs;
  for (int i = 0; i < 2000; ++i) fs.push_back(weft::async(pool, [i] { return i; }));
  auto v = get_within(weft::when_all(fs));
  ASSERT_EQ(v.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(v[i], i);
}

TEST_P(WhenAllOnPool, InputsCompletingWhileWhenAllAttachesAreAllCounted) {
  weft::thread_pool pool(GetParam());
  for (int round = 0; round < 100; ++round) {
    std::vector<weft::future<int>> fs;
    for (int i = 0; i < 16; ++i) fs.push_back(weft::async(pool, [i] { return i; }));
    auto v = get_within(weft::when_all(fs));  // some are ready, some not, some finishing now
    ASSERT_EQ(v.size(), 16u);
    for (int i = 0; i < 16; ++i) ASSERT_EQ(v[i], i);
  }
}

TEST_P(WhenAllOnPool, ErrorsRacingFromManyThreadsGiveOneOutcome) {
  weft::thread_pool pool(GetParam());
  for (int round = 0; round < 100; ++round) {
    std::vector<weft::future<int>> fs;
    for (int i = 0; i < 8; ++i) {
      fs.push_back(weft::async(pool, [i]() -> int { throw std::runtime_error("e" + std::to_string(i)); }));
    }
    auto all = weft::when_all(fs);
    ASSERT_TRUE(weft_test::ready_within(all));
    EXPECT_THROW(all.get(), std::runtime_error);
  }
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, WhenAllOnPool, ::testing::Values(1, 2, 4, 8));

// ---- variadic when_all ------------------------------------------------------------

TEST(WhenAllVariadic, GivesATupleOfTheValues) {
  weft::promise<int> a(weft::inline_executor());
  weft::promise<std::string> b(weft::inline_executor());
  auto all = weft::when_all(a.get_future(), b.get_future(), weft::make_ready_future(2.5, weft::inline_executor()));
  b.set_value("b");
  EXPECT_FALSE(all.is_ready());
  a.set_value(1);
  auto t = all.get();
  EXPECT_EQ(std::get<0>(t), 1);
  EXPECT_EQ(std::get<1>(t), "b");
  EXPECT_EQ(std::get<2>(t), 2.5);
}

TEST(WhenAllVariadic, AFutureOfVoidTakesAPlaceInTheTuple) {
  weft::promise<void> v(weft::inline_executor());
  auto all = weft::when_all(v.get_future(), weft::make_ready_future(3, weft::inline_executor()));
  EXPECT_FALSE(all.is_ready());
  v.set_value();
  EXPECT_EQ(std::get<1>(all.get()), 3);
  static_assert(std::tuple_size<decltype(all.get())>::value == 2, "one slot per input");
}

TEST(WhenAllVariadic, SingleInput) {
  auto all = weft::when_all(weft::make_ready_future(std::string("x"), weft::inline_executor()));
  EXPECT_EQ(std::get<0>(all.get()), "x");
}

TEST(WhenAllVariadic, FailsWithTheFirstError) {
  weft::promise<int> a(weft::inline_executor());
  weft::promise<std::string> b(weft::inline_executor());
  auto all = weft::when_all(a.get_future(), b.get_future());
  b.set_exception(std::make_exception_ptr(std::out_of_range("b failed")));
  a.set_exception(error("a failed later"));
  EXPECT_THROW(all.get(), std::out_of_range);
}

TEST(WhenAllVariadic, InvalidInputThrowsNoState) {
  weft::future<int> invalid;
  EXPECT_THROW(weft::when_all(weft::make_ready_future(1, weft::inline_executor()), std::move(invalid)), weft::future_error);
}

// ---- when_all_settled --------------------------------------------------------------

TEST(WhenAllSettled, GivesEveryOutcomeInOrderAndNeverFails) {
  auto ps = make_promises<int>(3);
  auto all = weft::when_all_settled(futures_of(ps));
  ps[1].set_exception(error("middle"));
  ps[2].set_value(2);
  EXPECT_FALSE(all.is_ready()) << "an error must not settle it early";
  ps[0].set_value(0);
  auto rs = all.get();
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].value(), 0);
  ASSERT_FALSE(rs[1].has_value());
  EXPECT_EQ(weft::describe(rs[1].error()), "middle");
  EXPECT_EQ(rs[2].value(), 2);
}

TEST(WhenAllSettled, OfVoid) {
  auto ps = make_promises<void>(2);
  auto all = weft::when_all_settled(futures_of(ps));
  ps[0].set_exception(error("v"));
  ps[1].set_value();
  auto rs = all.get();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_FALSE(rs[0].has_value());
  EXPECT_TRUE(rs[1].has_value());
}

TEST(WhenAllSettled, EmptyRangeIsReadyAtOnce) {
  std::vector<weft::future<int>> none;
  auto all = weft::when_all_settled(none);
  ASSERT_TRUE(all.is_ready());
  EXPECT_TRUE(all.get().empty());
}

TEST(WhenAllSettled, ErrorsItCollectsAreNotReportedAsUnhandled) {
  error_capture errors;
  {
    auto ps = make_promises<int>(2);
    auto all = weft::when_all_settled(futures_of(ps));
    ps[0].set_exception(error("collected"));
    ps[1].set_exception(error("collected too"));
    EXPECT_EQ(all.get().size(), 2u);
  }
  EXPECT_EQ(errors.count(), 0u);
}

// ---- when_any ----------------------------------------------------------------------

TEST(WhenAny, GivesTheIndexAndOutcomeOfTheFirstToComplete) {
  auto ps = make_promises<std::string>(3);
  auto any = weft::when_any(futures_of(ps));
  EXPECT_FALSE(any.is_ready());
  ps[2].set_value("third");
  ASSERT_TRUE(any.is_ready());
  ps[0].set_value("first");
  auto r = any.get();
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(r.second.value(), "third");
}

TEST(WhenAny, AnErrorCanBeTheFirstOutcome) {
  auto ps = make_promises<int>(2);
  auto any = weft::when_any(futures_of(ps));
  ps[1].set_exception(error("fast failure"));
  ps[0].set_value(1);
  auto r = any.get();
  EXPECT_EQ(r.first, 1u);
  ASSERT_FALSE(r.second.has_value());
  EXPECT_EQ(weft::describe(r.second.error()), "fast failure");
}

TEST(WhenAny, AlreadyReadyInputWinsAtOnce) {
  std::vector<weft::future<int>> fs;
  weft::promise<int> pending(weft::inline_executor());
  fs.push_back(pending.get_future());
  fs.push_back(weft::make_ready_future(7, weft::inline_executor()));
  auto any = weft::when_any(fs);
  ASSERT_TRUE(any.is_ready());
  auto r = any.get();
  EXPECT_EQ(r.first, 1u);
  EXPECT_EQ(r.second.value(), 7);
  pending.set_value(1);  // a late input is dropped quietly
}

TEST(WhenAny, EmptyRangeFailsWithInvalidArgument) {
  std::vector<weft::future<int>> none;
  auto any = weft::when_any(none);
  ASSERT_TRUE(any.is_ready());
  EXPECT_THROW(any.get(), std::invalid_argument);
}

TEST(WhenAny, OfVoid) {
  auto ps = make_promises<void>(2);
  auto any = weft::when_any(futures_of(ps));
  ps[0].set_value();
  auto r = any.get();
  EXPECT_EQ(r.first, 0u);
  EXPECT_TRUE(r.second.has_value());
  ps[1].set_value();
}

TEST(WhenAny, InputsRacingFromManyThreadsGiveExactlyOneWinner) {
  weft::thread_pool pool(4);
  for (int round = 0; round < 200; ++round) {
    auto ps = make_promises<int>(4, pool);
    auto any = weft::when_any(futures_of(ps));
    weft_test::spin_barrier start(4);
    {
      std::vector<weft_test::joining_thread> setters;
      for (int i = 0; i < 4; ++i) {
        setters.emplace_back([&, i] {
          start.arrive_and_wait();
          ps[i].set_value(i);
        });
      }
    }
    auto r = get_within(any);
    ASSERT_LT(r.first, 4u);
    EXPECT_EQ(r.second.value(), static_cast<int>(r.first));
  }
}

// ---- shared_future inputs -----------------------------------------------------------
// A shared_future input is read, not consumed: it contributes a copy of its
// value (or its error) and it, and every other copy, stays readable.

template <class T>
std::vector<weft::shared_future<T>> shared_futures_of(std::vector<weft::promise<T>>& ps) {
  std::vector<weft::shared_future<T>> ss;
  for (auto& p : ps) ss.push_back(p.get_future().share());
  return ss;
}

/// Counts its copies; copying throws while `fail_copies` is set.
struct copy_probe {
  static std::atomic<int> copies;
  static std::atomic<bool> fail_copies;
  int v = 0;
  explicit copy_probe(int x) : v(x) {}
  copy_probe(const copy_probe& o) : v(o.v) {
    if (fail_copies.load()) throw std::length_error("copy refused");
    copies.fetch_add(1);
  }
  copy_probe(copy_probe&&) noexcept = default;
  copy_probe& operator=(const copy_probe&) = default;
};
std::atomic<int> copy_probe::copies{0};
std::atomic<bool> copy_probe::fail_copies{false};

TEST(WhenAllShared, OverAContainerGivesCopiesAndConsumesNothing) {
  auto ps = make_promises<std::string>(3);
  auto ss = shared_futures_of(ps);
  const weft::shared_future<std::string> other = ss[1];
  auto all = weft::when_all(ss);
  ps[2].set_value("c");
  ps[0].set_value("a");
  EXPECT_FALSE(all.is_ready());
  ps[1].set_value("b");
  EXPECT_EQ(all.get(), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& s : ss) EXPECT_TRUE(s.valid());
  EXPECT_EQ(ss[0].get(), "a");
  EXPECT_EQ(ss[2].get(), "c");
  EXPECT_EQ(other.get(), "b");
  EXPECT_EQ(weft::when_all(ss).get(), (std::vector<std::string>{"a", "b", "c"}));  // again, from ready inputs
}

TEST(WhenAllShared, CopiesTheValueOncePerInputAndLeavesTheSharedOneIntact) {
  weft::promise<copy_probe> p(weft::inline_executor());
  weft::shared_future<copy_probe> s = p.get_future().share();
  std::vector<weft::shared_future<copy_probe>> ss{s, s};  // the same outcome twice
  auto all = weft::when_all(ss.begin(), ss.end());
  const int before = copy_probe::copies.load();
  p.set_value(copy_probe(4));
  auto v = all.get();
  EXPECT_EQ(copy_probe::copies.load() - before, 2);  // one copy per input, moved from then on
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].v, 4);
  EXPECT_EQ(v[1].v, 4);
  EXPECT_EQ(s.get().v, 4);
  EXPECT_NE(&v[0], &s.get());
}

TEST(WhenAllShared, AcceptsAConstContainerAndAnIteratorRange) {
  auto ps = make_promises<int>(2);
  const std::vector<weft::shared_future<int>> ss = shared_futures_of(ps);
  std::list<weft::shared_future<int>> ls(ss.begin(), ss.end());
  auto from_const = weft::when_all(ss);
  auto from_list = weft::when_all(ls.begin(), ls.end());
  ps[0].set_value(1);
  ps[1].set_value(2);
  EXPECT_EQ(from_const.get(), (std::vector<int>{1, 2}));
  EXPECT_EQ(from_list.get(), (std::vector<int>{1, 2}));
}

TEST(WhenAllShared, FailsWithTheFirstErrorWhichEveryCopyStillSees) {
  auto ps = make_promises<int>(2);
  auto ss = shared_futures_of(ps);
  auto all = weft::when_all(ss);
  ps[1].set_exception(std::make_exception_ptr(std::out_of_range("shared failed")));
  EXPECT_THROW(all.get(), std::out_of_range);
  EXPECT_THROW(ss[1].get(), std::out_of_range);
  ps[0].set_value(0);
  EXPECT_EQ(ss[0].get(), 0);
}

TEST(WhenAllShared, AValueWhoseCopyThrowsFailsTheResultNotTheSharedFuture) {
  weft::promise<copy_probe> p(weft::inline_executor());
  weft::shared_future<copy_probe> s = p.get_future().share();
  std::vector<weft::shared_future<copy_probe>> ss{s};
  auto all = weft::when_all(ss);
  copy_probe::fail_copies = true;
  p.set_value(copy_probe(1));
  copy_probe::fail_copies = false;
  EXPECT_THROW(all.get(), std::length_error);
  EXPECT_EQ(s.get().v, 1);
}

TEST(WhenAllShared, OfVoidGivesAFutureOfVoid) {
  auto ps = make_promises<void>(2);
  auto ss = shared_futures_of(ps);
  weft::future<void> all = weft::when_all(ss);
  ps[0].set_value();
  EXPECT_FALSE(all.is_ready());
  ps[1].set_value();
  EXPECT_NO_THROW(all.get());
  EXPECT_NO_THROW(ss[0].get());
}

TEST(WhenAllShared, EmptyRangesAreReadyAtOnce) {
  const std::vector<weft::shared_future<int>> none;
  EXPECT_TRUE(weft::when_all(none).get().empty());
  EXPECT_TRUE(weft::when_all_settled(none).get().empty());
  EXPECT_THROW(weft::when_any(none).get(), std::invalid_argument);
}

TEST(WhenAllShared, InvalidInputThrowsNoState) {
  std::vector<weft::shared_future<int>> ss;
  ss.push_back(weft::make_ready_future(1, weft::inline_executor()));
  ss.emplace_back();
  try {
    (void)weft::when_all(ss);
    FAIL() << "when_all did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
  EXPECT_EQ(ss[0].get(), 1);
}

TEST(WhenAllShared, ContinuationsRunOnTheExecutorOfTheFirstInputsFuture) {
  manual_executor ex;
  weft::promise<int> a(ex), b(weft::inline_executor());
  std::vector<weft::shared_future<int>> ss{a.get_future().share(), b.get_future().share()};
  bool ran = false;
  auto done = weft::when_all(ss).then([&](std::vector<int> v) {
    ran = true;
    return v.size();
  });
  a.set_value(1);
  b.set_value(2);
  EXPECT_FALSE(ran) << "ran on the thread that completed the last input";
  ex.run_all();
  EXPECT_TRUE(ran);
  EXPECT_EQ(done.get(), 2u);
}

TEST(WhenAllShared, ADroppedFailedResultIsReportedOnceAndTheSharedErrorNotAgain) {
  error_capture errors;
  {
    auto ps = make_promises<int>(1);
    auto ss = shared_futures_of(ps);
    auto all = weft::when_all(ss);
    ps[0].set_exception(error("gathered shared error"));
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "gathered shared error");
}

TEST(WhenAllShared, VariadicMixesFuturesAndSharedFutures) {
  weft::promise<int> a(weft::inline_executor());
  weft::promise<std::string> b(weft::inline_executor());
  weft::promise<void> c(weft::inline_executor());
  weft::shared_future<std::string> sb = b.get_future().share();
  const weft::shared_future<void> sc = c.get_future().share();
  weft::shared_future<std::string> moved = sb;
  auto all = weft::when_all(a.get_future(), sb, sc, std::move(moved));
  using values = decltype(all.get());
  static_assert(std::tuple_size<values>::value == 4, "one slot per argument, a placeholder for void");
  static_assert(std::is_same<std::tuple_element<3, values>::type, std::string>::value, "a copy of the value");
  b.set_value("b");
  c.set_value();
  EXPECT_FALSE(all.is_ready());
  a.set_value(1);
  auto t = all.get();
  EXPECT_EQ(std::get<0>(t), 1);
  EXPECT_EQ(std::get<1>(t), "b");
  EXPECT_EQ(std::get<3>(t), "b");
  EXPECT_EQ(sb.get(), "b");  // neither passed as it is...
  EXPECT_TRUE(moved.valid());  // ...nor passed as an rvalue is consumed
  EXPECT_NO_THROW(sc.get());
}

TEST(WhenAllShared, VariadicOfSharedFuturesOnlyAndItsErrors) {
  weft::promise<int> a(weft::inline_executor());
  weft::shared_future<int> s = a.get_future().share();
  auto one = weft::when_all(s);
  auto two = weft::when_all(s, s);
  a.set_exception(error("shared failure"));
  EXPECT_THROW(one.get(), std::runtime_error);
  EXPECT_THROW(two.get(), std::runtime_error);
  EXPECT_THROW(s.get(), std::runtime_error);
}

TEST(WhenAllShared, VariadicInvalidSharedInputThrowsNoStateAndConsumesNothing) {
  weft::future<int> f = weft::make_ready_future(1, weft::inline_executor());
  weft::shared_future<int> invalid;
  EXPECT_THROW(weft::when_all(std::move(f), invalid), weft::future_error);
  EXPECT_TRUE(f.valid());
}

TEST(WhenAllShared, SettledGivesEveryOutcomeAndReportsNothing) {
  error_capture errors;
  {
    auto ps = make_promises<int>(3);
    auto ss = shared_futures_of(ps);
    auto all = weft::when_all_settled(ss);
    ps[1].set_exception(error("middle"));
    ps[2].set_value(2);
    EXPECT_FALSE(all.is_ready());
    ps[0].set_value(0);
    auto rs = all.get();
    ASSERT_EQ(rs.size(), 3u);
    EXPECT_EQ(rs[0].value(), 0);
    ASSERT_FALSE(rs[1].has_value());
    EXPECT_EQ(weft::describe(rs[1].error()), "middle");
    EXPECT_EQ(rs[2].value(), 2);
    EXPECT_EQ(ss[2].get(), 2);
    auto again = weft::when_all_settled(ss.begin(), ss.end());
    EXPECT_EQ(again.get().size(), 3u);
  }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(WhenAllShared, AnyGivesTheFirstToCompleteAndConsumesNothing) {
  auto ps = make_promises<std::string>(2);
  auto ss = shared_futures_of(ps);
  auto any = weft::when_any(ss);
  ps[1].set_value("second");
  ASSERT_TRUE(any.is_ready());
  auto r = any.get();
  EXPECT_EQ(r.first, 1u);
  EXPECT_EQ(r.second.value(), "second");
  EXPECT_EQ(ss[1].get(), "second");
  auto ready_wins = weft::when_any(ss.begin(), ss.end());
  ASSERT_TRUE(ready_wins.is_ready());
  EXPECT_EQ(ready_wins.get().first, 1u);
  ps[0].set_value("first");  // a late input is dropped quietly
  EXPECT_EQ(ss[0].get(), "first");
}

TEST_P(WhenAllOnPool, ManyGatheringsOfTheSameSharedFuturesWhileTheyComplete) {
  weft::thread_pool pool(GetParam());
  for (int round = 0; round < 50; ++round) {
    std::vector<weft::shared_future<int>> ss;
    for (int i = 0; i < 8; ++i) ss.push_back(weft::async(pool, [i] { return i; }).share());
    std::vector<weft::future<std::vector<int>>> alls;
    {
      std::vector<weft_test::joining_thread> gatherers;
      std::vector<weft::future<std::vector<int>>> per_thread[4];
      const std::vector<std::vector<weft::shared_future<int>>> copies(4, ss);  // each thread reads its own
      for (int t = 0; t < 4; ++t) {
        gatherers.emplace_back([&copies, &per_thread, t] {
          for (int k = 0; k < 4; ++k) per_thread[t].push_back(weft::when_all(copies[t]));
        });
      }
      for (auto& g : gatherers) g.join();
      for (auto& v : per_thread) {
        for (auto& f : v) alls.push_back(std::move(f));
      }
    }
    for (auto& all : alls) {
      const auto v = get_within(all);
      ASSERT_EQ(v.size(), 8u);
      for (int i = 0; i < 8; ++i) ASSERT_EQ(v[i], i);
    }
  }
}

}  // namespace
