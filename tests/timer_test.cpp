// Clocks and the timer service: deadline order, ties, never early, "never"
// deadlines, cancel races, immediate deadlines, shutdown, where tasks run,
// sleep_for and delay. Time is a manual_clock everywhere but the few tests
// of the steady clock's thread, which only assert "not before the
// deadline" (no upper bound: the machine may be loaded).
#include "weft/timer.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "executors.hpp"
#include "sync.hpp"
#include "thread_name.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/errors.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using weft::clock;
using weft_test::get_within;
using weft_test::manual_executor;

using tp = clock::time_point;
using ns = clock::duration;

tp at_ms(long long ms) { return tp(std::chrono::milliseconds(ms)); }

// A service on its own manual clock and manual executor: nothing runs
// until the test advances the clock and runs the executor.
struct manual_timers {
  weft::manual_clock clk;
  manual_executor ex;
  weft::timer_service svc{clk, ex};  // last: destroyed first
};

// Records the order tasks ran in.
struct journal {
  std::mutex mutex;
  std::vector<std::string> events;
  void add(const std::string& e) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(e);
  }
  std::vector<std::string> get() {
    std::lock_guard<std::mutex> lock(mutex);
    return events;
  }
};

std::string what_of(weft::future<void> f) {
  try {
    f.get();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- durations and clocks ---------------------------------------------------

TEST(TimerDuration, ConvertsExactlyAndRoundsUp) {
  EXPECT_EQ(weft::timer_duration(5ms), ns(5000000));
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<double, std::milli>(1.5)), ns(1500000));
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<double, std::nano>(1.2)), ns(2));  // never early
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<long long, std::pico>(1001)), ns(2));
  EXPECT_EQ(weft::timer_duration(ns(7)), ns(7));
}

TEST(TimerDuration, NegativeIsZeroAndHugeSaturates) {
  EXPECT_EQ(weft::timer_duration(-5ms), ns::zero());
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<double>(-1.0)), ns::zero());
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
            ns::zero());
  EXPECT_EQ(weft::timer_duration(std::chrono::hours::max()), ns::max());
  EXPECT_EQ(weft::timer_duration(std::chrono::seconds::max()), ns::max());
  EXPECT_EQ(weft::timer_duration(ns::max()), ns::max());
  EXPECT_EQ(weft::timer_duration(std::chrono::duration<double>(1e300)), ns::max());
  EXPECT_EQ(weft::timer_duration(std::chrono::seconds(9223372036LL)), ns(9223372036000000000LL));
  EXPECT_EQ(weft::timer_duration(std::chrono::seconds(9223372037LL)), ns::max());
}

TEST(SaturatingDeadline, NeverOverflows) {
  EXPECT_EQ(weft::saturating_deadline(at_ms(10), 5ms), at_ms(15));
  EXPECT_EQ(weft::saturating_deadline(at_ms(10), -5ms), at_ms(10));
  EXPECT_EQ(weft::saturating_deadline(at_ms(10), ns::max()), tp::max());
  EXPECT_EQ(weft::saturating_deadline(tp::max() - ns(5), ns(10)), tp::max());
  EXPECT_EQ(weft::saturating_deadline(tp::max(), ns(1)), tp::max());
  EXPECT_EQ(weft::saturating_deadline(tp(ns(-100)), ns::max()), tp(ns::max() - ns(100)));
}

TEST(ManualClock, MovesOnlyWhenTold) {
  weft::manual_clock clk(at_ms(100));
  EXPECT_EQ(clk.now(), at_ms(100));
  clk.advance(5ms);
  EXPECT_EQ(clk.now(), at_ms(105));
  clk.advance_to(at_ms(200));
  EXPECT_EQ(clk.now(), at_ms(200));
  clk.advance(0ms);
  EXPECT_EQ(clk.now(), at_ms(200));
  EXPECT_EQ(clk.next_deadline(), tp::max());
  EXPECT_EQ(weft::manual_clock().now(), tp());
}

TEST(ManualClock, RefusesToGoBack) {
  weft::manual_clock clk(at_ms(100));
  EXPECT_THROW(clk.advance(-1ms), std::invalid_argument);
  try {
    clk.advance_to(at_ms(99));
    FAIL() << "advance_to a past time did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weft::manual_clock::advance_to"), std::string::npos) << e.what();
  }
  EXPECT_EQ(clk.now(), at_ms(100));
}

TEST(ManualClock, SaturatesAtMax) {
  weft::manual_clock clk(tp::max() - ns(10));
  clk.advance(ns(100));
  EXPECT_EQ(clk.now(), tp::max());
  clk.advance(std::chrono::hours::max());
  EXPECT_EQ(clk.now(), tp::max());
}

TEST(SteadyClock, IsStdSteadyClock) {
  const tp before = std::chrono::steady_clock::now();
  const tp mine = weft::steady_clock::instance().now();
  EXPECT_LE(before, mine);
  EXPECT_LE(mine, std::chrono::steady_clock::now());
  EXPECT_EQ(&weft::steady_clock::instance(), &weft::steady_clock::instance());
}

// ---- order and never early --------------------------------------------------

TEST(Timers, FireInDeadlineOrderTiesInArmingOrder) {
  manual_timers t;
  journal j;
  t.svc.arm_at(at_ms(30), [&] { j.add("30"); });
  t.svc.arm_at(at_ms(10), [&] { j.add("10a"); });
  t.svc.arm_at(at_ms(20), [&] { j.add("20"); });
  t.svc.arm_at(at_ms(10), [&] { j.add("10b"); });
  t.svc.arm_after(10ms, [&] { j.add("10c"); });  // the clock is at 0: also 10 ms
  EXPECT_EQ(t.svc.pending(), 5u);
  t.clk.advance(100ms);
  EXPECT_EQ(t.svc.pending(), 0u);
  EXPECT_TRUE(j.get().empty()) << "handed over, not run: the executor runs them";
  EXPECT_EQ(t.ex.run_all(), 5u);
  const std::vector<std::string> expected{"10a", "10b", "10c", "20", "30"};
  EXPECT_EQ(j.get(), expected);
}

TEST(Timers, ManyTiesKeepArmingOrder) {
  manual_timers t;
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i) t.svc.arm_at(at_ms(1 + i % 3), [&order, i] { order.push_back(i); });
  t.clk.advance(5ms);
  t.ex.run_all();
  ASSERT_EQ(order.size(), 1000u);
  std::vector<int> expected;
  for (int d = 0; d < 3; ++d) {
    for (int i = d; i < 1000; i += 3) expected.push_back(i);
  }
  EXPECT_EQ(order, expected);
}

TEST(Timers, NeverEarly) {
  manual_timers t;
  std::vector<tp> ran_at;
  t.svc.arm_at(at_ms(10), [&] { ran_at.push_back(t.clk.now()); });
  t.clk.advance(9ms);
  t.clk.advance(999999ns);
  EXPECT_EQ(t.ex.pending(), 0u) << "handed over before its deadline";
  t.clk.advance(1ns);
  EXPECT_EQ(t.ex.pending(), 1u);
  t.ex.run_all();
  ASSERT_EQ(ran_at.size(), 1u);
  EXPECT_GE(ran_at[0], at_ms(10));
}

TEST(Timers, EachFiresWithTheClockAtItsOwnDeadline) {
  weft::manual_clock clk;
  weft::timer_service svc(clk, weft::inline_executor());  // run inside advance()
  std::vector<tp> seen;
  for (int ms : {7, 3, 5}) svc.arm_at(at_ms(ms), [&] { seen.push_back(clk.now()); });
  clk.advance(10ms);
  const std::vector<tp> expected{at_ms(3), at_ms(5), at_ms(7)};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(clk.now(), at_ms(10));
}

TEST(Timers, DeadlineOrderHoldsAcrossServicesOnOneClock) {
  weft::manual_clock clk;
  weft::timer_service a(clk, weft::inline_executor());
  weft::timer_service b(clk, weft::inline_executor());
  std::vector<std::string> seen;
  a.arm_at(at_ms(2), [&] { seen.push_back("a2"); });
  b.arm_at(at_ms(1), [&] { seen.push_back("b1"); });
  a.arm_at(at_ms(3), [&] { seen.push_back("a3"); });
  EXPECT_EQ(clk.next_deadline(), at_ms(1));
  clk.advance(5ms);
  const std::vector<std::string> expected{"b1", "a2", "a3"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(clk.next_deadline(), tp::max());
}

TEST(Timers, ATaskFiredInlineMayArmTheNextTimer) {
  weft::manual_clock clk;
  weft::timer_service svc(clk, weft::inline_executor());
  std::vector<tp> ticks;
  std::function<void()> tick = [&] {
    ticks.push_back(clk.now());
    if (ticks.size() < 5) svc.arm_after(2ms, tick);
  };
  svc.arm_after(2ms, tick);
  clk.advance(100ms);  // one advance walks through every re-armed deadline
  const std::vector<tp> expected{at_ms(2), at_ms(4), at_ms(6), at_ms(8), at_ms(10)};
  EXPECT_EQ(ticks, expected);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Timers, NextDeadlineIsTheEarliest) {
  manual_timers t;
  EXPECT_EQ(t.svc.next_deadline(), tp::max());
  t.svc.arm_at(at_ms(7), [] {});
  weft::timer_handle h = t.svc.arm_at(at_ms(4), [] {});
  EXPECT_EQ(t.svc.next_deadline(), at_ms(4));
  EXPECT_EQ(t.clk.next_deadline(), at_ms(4));
  EXPECT_TRUE(t.svc.cancel(h));
  EXPECT_EQ(t.svc.next_deadline(), at_ms(7));
}

// ---- "never" -----------------------------------------------------------------

TEST(Timers, MaxDeadlinesNeverFireAndDoNotOverflow) {
  weft::manual_clock clk(tp::max() - ns(5));
  manual_executor ex;
  weft::timer_service svc(clk, ex);
  std::atomic<int> ran{0};
  weft::timer_handle a = svc.arm_at(tp::max(), [&] { ++ran; });
  weft::timer_handle b = svc.arm_after(ns::max(), [&] { ++ran; });
  weft::timer_handle c = svc.arm_after(std::chrono::hours::max(), [&] { ++ran; });
  weft::timer_handle d = svc.arm_after(ns(10), [&] { ++ran; });  // past max: saturates to never
  weft::future<void> s = svc.sleep_for(std::chrono::seconds::max());
  EXPECT_EQ(svc.pending(), 5u);
  EXPECT_EQ(svc.next_deadline(), tp::max());
  EXPECT_EQ(clk.next_deadline(), tp::max());
  clk.advance_to(tp::max());
  clk.advance(std::chrono::hours(1));
  EXPECT_EQ(ex.run_all(), 0u);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_FALSE(s.is_ready());
  EXPECT_EQ(svc.pending(), 5u);
  EXPECT_TRUE(svc.cancel(a));
  EXPECT_TRUE(svc.cancel(b));
  EXPECT_TRUE(svc.cancel(c));
  EXPECT_TRUE(svc.cancel(d));
  EXPECT_EQ(svc.pending(), 1u);  // the sleep; the service's end fails it
}

TEST(Timers, MaxDeadlineOnTheSteadyClockNeverFires) {
  weft::thread_pool pool(1);
  weft::timer_service svc(pool);
  std::atomic<int> ran{0};
  weft::timer_handle h = svc.arm_after(std::chrono::hours::max(), pool, [&] { ++ran; });
  // An earlier timer wakes the thread, which goes back to sleep for
  // "never" once it has fired.
  get_within(svc.sleep_for(1ms));
  EXPECT_EQ(svc.pending(), 1u);
  EXPECT_TRUE(svc.cancel(h));
  EXPECT_EQ(ran.load(), 0);
}

// ---- cancel -------------------------------------------------------------------

TEST(Timers, CancelBeforeTheDeadlineWinsAndTheTaskNeverRuns) {
  manual_timers t;
  std::atomic<int> ran{0};
  weft::timer_handle h = t.svc.arm_at(at_ms(10), [&] { ++ran; });
  ASSERT_TRUE(static_cast<bool>(h));
  EXPECT_EQ(t.svc.pending(), 1u);
  EXPECT_TRUE(t.svc.cancel(h));
  EXPECT_FALSE(static_cast<bool>(h));
  EXPECT_EQ(t.svc.pending(), 0u);
  t.clk.advance(20ms);
  EXPECT_EQ(t.ex.run_all(), 0u);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_FALSE(t.svc.cancel(h)) << "a second cancel of the same handle";
}

TEST(Timers, CancelAfterTheHandOverLoses) {
  manual_timers t;
  std::atomic<int> ran{0};
  weft::timer_handle h = t.svc.arm_at(at_ms(10), [&] { ++ran; });
  t.clk.advance(10ms);
  EXPECT_EQ(t.ex.pending(), 1u);
  EXPECT_FALSE(t.svc.cancel(h)) << "handed over already";
  EXPECT_EQ(t.ex.run_all(), 1u);
  EXPECT_EQ(ran.load(), 1);
}

TEST(Timers, ACancelledTasksCapturesDieAtCancelOnTheCancellingThread) {
  manual_timers t;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  weft::timer_handle h = t.svc.arm_at(at_ms(10), [token] { FAIL() << "a cancelled task ran"; });
  token.reset();
  EXPECT_FALSE(watch.expired()) << "the pending task holds its capture";
  EXPECT_TRUE(t.svc.cancel(h));
  EXPECT_TRUE(watch.expired()) << "cancel() returned and the capture is still alive";
}

TEST(Timers, DroppingAHandleDoesNotCancel) {
  manual_timers t;
  std::atomic<int> ran{0};
  { weft::timer_handle h = t.svc.arm_at(at_ms(1), [&] { ++ran; }); }
  t.clk.advance(1ms);
  t.ex.run_all();
  EXPECT_EQ(ran.load(), 1);
}

TEST(Timers, CancelOfAnEmptyHandleOrAnotherServicesHandle) {
  manual_timers t;
  manual_timers other;
  weft::timer_handle empty;
  EXPECT_FALSE(t.svc.cancel(empty));
  weft::timer_handle theirs = other.svc.arm_at(at_ms(5), [] {});
  try {
    t.svc.cancel(theirs);
    FAIL() << "cancel of another service's handle did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weft::timer_service::cancel"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(static_cast<bool>(theirs)) << "a refused cancel leaves the handle alone";
  EXPECT_TRUE(other.svc.cancel(theirs));
}

TEST(Timers, CancelInTheMiddleKeepsTheOthersInOrder) {
  manual_timers t;
  std::vector<int> order;
  std::vector<weft::timer_handle> hs;
  for (int i = 0; i < 200; ++i) hs.push_back(t.svc.arm_at(at_ms(1 + (i * 37) % 200), [&order, i] { order.push_back(i); }));
  for (int i = 0; i < 200; i += 3) EXPECT_TRUE(t.svc.cancel(hs[static_cast<std::size_t>(i)]));
  t.clk.advance(1s);
  t.ex.run_all();
  std::vector<int> expected;
  for (int ms = 1; ms <= 200; ++ms) {
    for (int i = 0; i < 200; ++i) {
      if (1 + (i * 37) % 200 == ms && i % 3 != 0) expected.push_back(i);
    }
  }
  EXPECT_EQ(order, expected);
}

TEST(Timers, CancellingMostOfManyKeepsTheRestInOrder) {
  // Cancelled timers leave tombstones that are compacted away once they
  // outnumber the live ones: cancel 3 in 4, in a scrambled order, with the
  // clock moving in between, and check order, pending() and next_deadline().
  manual_timers t;
  constexpr int n = 4000;
  std::vector<int> order;
  std::vector<weft::timer_handle> hs;
  auto deadline_of = [](int i) { return at_ms(1 + (i * 7919) % n); };
  for (int i = 0; i < n; ++i) hs.push_back(t.svc.arm_at(deadline_of(i), [&order, i] { order.push_back(i); }));
  std::vector<int> kept;
  int cancelled = 0;
  for (int k = 0; k < n; ++k) {
    const int i = (k * 2657) % n;  // a permutation of 0..n-1
    if (i % 4 == 0) {
      kept.push_back(i);
      continue;
    }
    ASSERT_TRUE(t.svc.cancel(hs[static_cast<std::size_t>(i)])) << i;
    ++cancelled;
    EXPECT_EQ(t.svc.pending(), static_cast<std::size_t>(n - cancelled));
    if (k == n / 2) {
      t.clk.advance(std::chrono::milliseconds(n / 8));  // some fire between cancels
      t.ex.run_all();
    }
  }
  tp earliest = tp::max();
  std::sort(kept.begin(), kept.end(), [&](int a, int b) { return deadline_of(a) < deadline_of(b); });
  for (int i : kept) {
    if (deadline_of(i) > t.clk.now()) {
      earliest = deadline_of(i);
      break;
    }
  }
  EXPECT_EQ(t.svc.next_deadline(), earliest);
  t.clk.advance(std::chrono::milliseconds(2 * n));
  t.ex.run_all();
  EXPECT_EQ(order, kept);
  EXPECT_EQ(t.svc.pending(), 0u);
}

// ---- deadlines already reached ---------------------------------------------------

TEST(Timers, AZeroOrPastDeadlineIsHandedOverAtOnce) {
  weft::manual_clock clk(at_ms(100));
  manual_executor ex;
  weft::timer_service svc(clk, ex);
  std::atomic<int> ran{0};
  weft::timer_handle a = svc.arm_after(0ms, [&] { ++ran; });
  weft::timer_handle b = svc.arm_after(-5ms, [&] { ++ran; });
  weft::timer_handle c = svc.arm_at(at_ms(50), [&] { ++ran; });
  weft::timer_handle d = svc.arm_at(at_ms(100), [&] { ++ran; });
  EXPECT_FALSE(a || b || c || d) << "nothing left to cancel";
  EXPECT_EQ(svc.pending(), 0u);
  EXPECT_EQ(ex.pending(), 4u) << "handed over by the arming call, with no advance";
  weft::future<void> s = svc.sleep_for(0ms);
  weft::future<void> u = svc.sleep_until(at_ms(1));
  EXPECT_EQ(ex.pending(), 6u);
  ex.run_all();
  EXPECT_EQ(ran.load(), 4);
  EXPECT_TRUE(s.is_ready());
  EXPECT_TRUE(u.is_ready());
  s.get();
  u.get();
}

TEST(Timers, AZeroSleepOnTheSteadyClockCompletesWithoutWaitingForTheThread) {
  weft::thread_pool pool(1);
  weft::timer_service svc(pool);
  const tp before = svc.now();
  weft::future<tp> f = svc.sleep_for(0ms).then([&svc] { return svc.now(); });
  EXPECT_GE(get_within(std::move(f)), before);
}

// ---- sleeps --------------------------------------------------------------------

TEST(Sleeps, CompleteInsideATaskOfTheExecutorAndContinueThere) {
  manual_timers t;
  manual_executor other;
  weft::future<void> on_service = t.svc.sleep_for(10ms);
  weft::future<void> on_other = t.svc.sleep_until(at_ms(10), other);
  std::atomic<int> continued{0};
  weft::future<void> c = std::move(on_service).then([&] { ++continued; });
  t.clk.advance(10ms);
  EXPECT_FALSE(c.is_ready());
  EXPECT_FALSE(on_other.is_ready()) << "completed by the clock's thread instead of a task";
  EXPECT_EQ(t.ex.pending(), 1u);
  EXPECT_EQ(other.pending(), 1u);
  t.ex.run_all();  // the completing task, then its continuation
  EXPECT_EQ(continued.load(), 1);
  EXPECT_TRUE(c.is_ready());
  other.run_all();
  EXPECT_TRUE(on_other.is_ready());
  EXPECT_EQ(&on_other.get_executor(), &other);
}

TEST(Sleeps, FreeFunctionsUseTheServiceGiven) {
  manual_timers t;
  weft::future<void> a = weft::sleep_for(t.svc, 5ms);
  weft::future<void> b = weft::sleep_until(t.svc, at_ms(6));
  EXPECT_EQ(t.svc.pending(), 2u);
  t.clk.advance(6ms);
  t.ex.run_all();
  EXPECT_TRUE(a.is_ready());
  EXPECT_TRUE(b.is_ready());
}

TEST(Sleeps, ADroppedSleepRunsOutUnseen) {
  weft_test::error_capture errors;
  {
    manual_timers t;
    { weft::future<void> dropped = t.svc.sleep_for(5ms); }
    { weft::future<void> dropped_too = t.svc.sleep_for(50ms); }
    t.clk.advance(10ms);
    t.ex.run_all();
    EXPECT_EQ(t.svc.pending(), 1u);
  }  // the service's end fails the second one: nobody sees it, nothing is reported
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Sleeps, SleepForOnARealPoolIsNotEarly) {
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  for (auto d : {1ms, 3ms, 0ms, 2ms}) {
    const tp deadline = svc.now() + d;
    weft::future<tp> woke = svc.sleep_for(d).then([&svc] { return svc.now(); });
    EXPECT_GE(get_within(std::move(woke)), deadline);
  }
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Sleeps, DefaultPoolSleepFor) {
  const tp deadline = weft::steady_clock::instance().now() + 2ms;
  weft::future<tp> woke = weft::sleep_for(2ms).then([] { return weft::steady_clock::instance().now(); });
  EXPECT_GE(get_within(std::move(woke)), deadline);
  weft::future<void> until = weft::sleep_until(weft::steady_clock::instance().now() + 1ms);
  get_within(std::move(until));
  EXPECT_EQ(&weft::default_timer_service(), &weft::timer_service::of(weft::default_pool()));
}

// ---- where tasks run -------------------------------------------------------------

TEST(Timers, TasksRunOnTheirExecutorNeverOnTheTimerThread) {
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  constexpr int n = 20;
  std::mutex mutex;
  std::vector<std::string> names;
  std::vector<bool> on_pool;
  std::vector<bool> early;
  weft_test::latch done(n);
  for (int i = 0; i < n; ++i) {
    const tp deadline = svc.now() + std::chrono::microseconds(100 * (i % 5));
    svc.arm_at(deadline, pool, [&, deadline] {
      const tp now = svc.now();
      std::lock_guard<std::mutex> lock(mutex);
      names.push_back(weft_test::this_thread_name());
      on_pool.push_back(pool.running_in_this_thread());
      early.push_back(now < deadline);
      done.count_down();
    });
  }
  ASSERT_TRUE(done.wait_within());
  std::lock_guard<std::mutex> lock(mutex);
  for (int i = 0; i < n; ++i) {
    EXPECT_NE(names[static_cast<std::size_t>(i)], "weft-timer");
    EXPECT_TRUE(on_pool[static_cast<std::size_t>(i)]);
    EXPECT_FALSE(early[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Timers, TheServicesThreadIsNamed) {
  weft::thread_pool pool(1);
  weft::timer_service svc(pool);
  // The timer thread's name, as seen by a task it would otherwise run,
  // is checked above; here: there is one such thread, and it is not a
  // worker. A task handed over to an executor that records where it runs:
  struct recording final : weft::executor {
    std::string name;
    weft_test::gate got;
    void execute(weft::unique_task t) override {
      name = weft_test::this_thread_name();
      t.reset();
      got.open();
    }
  } rec;
  svc.arm_after(1ms, rec, [] {});
  ASSERT_TRUE(rec.got.wait_within());
  EXPECT_EQ(rec.name, "weft-timer") << "the hand-over is the timer thread's only act";
}

TEST(Timers, InlineExecutorIsRefusedWhereTheServiceHasAThread) {
  weft::thread_pool pool(1);
  weft::timer_service svc(pool);
  EXPECT_THROW(svc.arm_after(1ms, weft::inline_executor(), [] {}), std::invalid_argument);
  EXPECT_THROW(svc.sleep_for(1ms, weft::inline_executor()), std::invalid_argument);
  EXPECT_THROW(weft::timer_service bad(weft::inline_executor()), std::invalid_argument);
  EXPECT_EQ(svc.pending(), 0u);
}

TEST(Timers, AnEmptyTaskIsRefused) {
  manual_timers t;
  try {
    t.svc.arm_after(1ms, weft::unique_task());
    FAIL() << "an empty task was armed";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weft::timer_service::arm_after: the task argument"), std::string::npos)
        << e.what();
  }
}

// ---- shutdown ----------------------------------------------------------------------

TEST(Shutdown, FailsPendingSleepsWithAClearErrorAndDropsPendingTasks) {
  manual_timers t;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  std::atomic<int> ran{0};
  weft::future<void> s = t.svc.sleep_for(10ms);
  weft::timer_handle h = t.svc.arm_after(10ms, [token, &ran] { ++ran; });
  token.reset();
  t.svc.shutdown();
  EXPECT_TRUE(t.svc.is_shut_down());
  EXPECT_EQ(t.svc.pending(), 0u);
  EXPECT_TRUE(watch.expired()) << "a pending task outlived the shutdown";
  EXPECT_FALSE(t.svc.cancel(h));
  ASSERT_TRUE(s.is_ready()) << "failed from the shutting-down thread";
  EXPECT_EQ(what_of(std::move(s)), "weft: the timer service was shut down");
  t.clk.advance(1s);
  EXPECT_EQ(t.ex.run_all(), 0u) << "something was handed over after shutdown";
  EXPECT_EQ(ran.load(), 0);
  t.svc.shutdown();  // idempotent
}

TEST(Shutdown, TheErrorIsExecutorShutdown) {
  manual_timers t;
  weft::future<void> s = t.svc.sleep_for(10ms);
  t.svc.shutdown();
  EXPECT_THROW(s.get(), weft::executor_shutdown);
}

TEST(Shutdown, ArmingAfterShutdownThrowsAndDropsTheTask) {
  manual_timers t;
  t.svc.shutdown();
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  try {
    t.svc.arm_after(5ms, [token] {});
    FAIL() << "arming after shutdown did not throw";
  } catch (const weft::executor_shutdown& e) {
    EXPECT_STREQ(e.what(), "weft: the timer service was shut down");
  }
  token.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_THROW(t.svc.arm_after(0ms, [] {}), weft::executor_shutdown) << "a due deadline too";
  EXPECT_THROW(t.svc.sleep_for(5ms), weft::executor_shutdown);
  EXPECT_THROW(t.svc.sleep_for(0ms), weft::executor_shutdown);
  EXPECT_EQ(t.ex.pending(), 0u);
}

TEST(Shutdown, DestroyingTheServiceFailsPendingSleeps) {
  weft::manual_clock clk;
  manual_executor ex;
  weft::future<void> s;
  {
    weft::timer_service svc(clk, ex);
    s = svc.sleep_for(1s);
  }
  ASSERT_TRUE(s.is_ready());
  EXPECT_EQ(what_of(std::move(s)), "weft: the timer service was shut down");
  clk.advance(2s);  // the clock no longer knows the service
  EXPECT_EQ(ex.run_all(), 0u);
}

TEST(Shutdown, ThePoolsShutdownFailsItsServicesSleepsAndTheirContinuationsRun) {
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  EXPECT_EQ(&svc, &weft::timer_service::of(pool));
  std::atomic<int> ran{0};
  svc.arm_after(1h, pool, [&] { ++ran; });
  weft::future<std::string> s = svc.sleep_for(1h).then_result([](weft::result<void> r) -> std::string {
    try {
      r.value();
    } catch (const weft::executor_shutdown& e) {
      return e.what();
    }
    return "(no error)";
  });
  EXPECT_EQ(svc.pending(), 2u);
  pool.shutdown();
  EXPECT_EQ(get_within(std::move(s)), "weft: the timer service was shut down");
  EXPECT_TRUE(svc.is_shut_down());
  EXPECT_EQ(svc.pending(), 0u);
  EXPECT_THROW(svc.sleep_for(1ms), weft::executor_shutdown);
  EXPECT_EQ(ran.load(), 0);
}

TEST(Shutdown, OfAPoolShutDownBeforeItsServiceWasMadeThrows) {
  weft::thread_pool pool(1);
  pool.shutdown();
  EXPECT_THROW(weft::timer_service::of(pool), weft::executor_shutdown);
}

TEST(Shutdown, ThePoolsDestructorAloneFailsPendingSleeps) {
  weft::future<void> s;
  {
    weft::thread_pool pool(1);
    s = weft::timer_service::of(pool).sleep_for(1h);
  }
  EXPECT_THROW(get_within(std::move(s)), weft::executor_shutdown);
}

TEST(Shutdown, FromATaskHandedOverInlineDoesNotWaitForItself) {
  weft::manual_clock clk;
  weft::timer_service svc(clk, weft::inline_executor());
  std::atomic<int> ran{0};
  svc.arm_at(at_ms(1), [&] { svc.shutdown(); });
  svc.arm_at(at_ms(1), [&] { ++ran; });  // same deadline, later: never handed over
  weft::future<void> s = svc.sleep_until(at_ms(2));
  clk.advance(5ms);
  EXPECT_TRUE(svc.is_shut_down());
  EXPECT_EQ(ran.load(), 0);
  EXPECT_THROW(s.get(), weft::executor_shutdown);
}

TEST(Shutdown, ServiceDestroyedByATaskItHandedOver) {
  weft::manual_clock clk;
  auto svc = std::make_unique<weft::timer_service>(clk, weft::inline_executor());
  weft::future<void> s = svc->sleep_until(at_ms(5));
  svc->arm_at(at_ms(1), [&] { svc.reset(); });
  clk.advance(10ms);
  EXPECT_EQ(svc, nullptr);
  EXPECT_THROW(s.get(), weft::executor_shutdown);
  EXPECT_EQ(clk.next_deadline(), tp::max());
}

TEST(Shutdown, OnTheTimerThreadItselfDoesNotJoinItself) {
  weft::thread_pool pool(1);
  auto svc = std::make_unique<weft::timer_service>(pool);
  // An executor that runs what it is given on the calling thread, as a
  // badly behaved user executor might: the task runs on the timer thread.
  struct runs_here final : weft::executor {
    void execute(weft::unique_task t) override { t(); }
  } here;
  weft_test::gate done;
  svc->arm_after(1ms, here, [&] {
    svc->shutdown();
    done.open();
  });
  ASSERT_TRUE(done.wait_within());
  svc.reset();
}

TEST(Shutdown, AnExecutorDestroyedBeforeItsTimerRefusesIt) {
  weft::manual_clock clk;
  manual_executor service_ex;
  weft::timer_service svc(clk, service_ex);
  std::atomic<int> ran{0};
  weft::future<void> s;
  {
    manual_executor gone;
    svc.arm_at(at_ms(1), gone, [&] { ++ran; });
    s = svc.sleep_until(at_ms(1), gone);
  }
  clk.advance(1ms);
  EXPECT_EQ(ran.load(), 0);
  ASSERT_TRUE(s.is_ready());
  EXPECT_THROW(s.get(), weft::executor_shutdown);
}

// ---- delay -----------------------------------------------------------------------

TEST(Delay, DeliversTheOutcomeNoEarlierThanTheDelay) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  weft::future<int> d = weft::delay(t.svc, p.get_future(), 10ms);
  p.set_value(7);
  t.ex.run_all();
  t.clk.advance(9ms);
  t.ex.run_all();
  EXPECT_FALSE(d.is_ready());
  t.clk.advance(1ms);
  t.ex.run_all();
  ASSERT_TRUE(d.is_ready());
  EXPECT_EQ(d.get(), 7);
}

TEST(Delay, WaitsForALateInputWithoutAddingTheDelayAgain) {
  manual_timers t;
  weft::promise<std::string> p(t.ex);
  weft::future<std::string> d = weft::delay(t.svc, p.get_future(), 10ms);
  t.clk.advance(20ms);
  t.ex.run_all();
  EXPECT_FALSE(d.is_ready());
  p.set_value("late");
  t.ex.run_all();
  ASSERT_TRUE(d.is_ready());
  EXPECT_EQ(d.get(), "late");
}

TEST(Delay, DelaysErrorsToo) {
  manual_timers t;
  weft::promise<void> p(t.ex);
  weft::future<void> d = weft::delay(t.svc, p.get_future(), 10ms);
  p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  t.ex.run_all();
  EXPECT_FALSE(d.is_ready());
  t.clk.advance(10ms);
  t.ex.run_all();
  ASSERT_TRUE(d.is_ready());
  EXPECT_EQ(what_of(std::move(d)), "boom");
}

TEST(Delay, ContinuesOnTheInputsExecutor) {
  manual_timers t;
  manual_executor input_ex;
  weft::promise<int> p(input_ex);
  weft::future<int> d = weft::delay(t.svc, p.get_future(), 1ms);
  EXPECT_EQ(&d.get_executor(), &input_ex);
  p.set_value(3);
  input_ex.run_all();
  t.clk.advance(1ms);
  t.ex.run_all();  // the pause completes, and hands the outcome on
  std::atomic<int> seen{0};
  weft::future<void> c = std::move(d).then([&](int v) { seen = v; });
  EXPECT_EQ(seen.load(), 0);
  EXPECT_EQ(input_ex.run_all(), 1u) << "the continuation runs on the input's executor";
  EXPECT_EQ(seen.load(), 3);
  EXPECT_TRUE(c.is_ready());
}

TEST(Delay, FailsWithTheShutdownWhenTheServiceGoes) {
  manual_timers t;
  weft::promise<int> p(t.ex);
  weft::future<int> d = weft::delay(t.svc, p.get_future(), 10ms);
  p.set_value(1);
  t.svc.shutdown();
  t.ex.run_all();
  ASSERT_TRUE(d.is_ready());
  EXPECT_THROW(d.get(), weft::executor_shutdown);
}

TEST(Delay, OnTheDefaultPool) {
  const tp deadline = weft::steady_clock::instance().now() + 2ms;
  weft::future<tp> d = weft::delay(weft::make_ready_future(5), 2ms).then([](int v) {
    EXPECT_EQ(v, 5);
    return weft::steady_clock::instance().now();
  });
  EXPECT_GE(get_within(std::move(d)), deadline);
}

TEST(Delay, AnInvalidFutureThrowsAndArmsNothing) {
  manual_timers t;
  EXPECT_THROW(weft::delay(t.svc, weft::future<int>(), 1ms), weft::future_error);
  EXPECT_EQ(t.svc.pending(), 0u);
}

}  // namespace

// ---- Sleeps a token can end -------------------------------------------------

namespace {

TEST(CancellableSleep, CompletesAtItsDeadlineAndLeavesNoRegistration) {
  manual_timers t;
  weft::cancellation_source src;
  weft::future<void> s = t.svc.sleep_for(10ms, src.token());
  EXPECT_EQ(t.svc.pending(), 1u);
  EXPECT_EQ(src.token().registered_callbacks(), 1u);
  t.clk.advance(9ms);
  t.ex.run_all();
  EXPECT_FALSE(s.is_ready());
  t.clk.advance(1ms);
  t.ex.run_all();
  ASSERT_TRUE(s.is_ready());
  EXPECT_NO_THROW(s.get());
  EXPECT_EQ(src.token().registered_callbacks(), 0u) << "the registration ends with the sleep";
}

TEST(CancellableSleep, ACancelEndsItAtOnceAndCancelsTheTimer) {
  manual_timers t;
  weft::cancellation_source src;
  weft::future<void> s = t.svc.sleep_for(1h, src.token());
  auto after = s.then_result([](weft::result<void> r) { return r.has_value(); });
  ASSERT_EQ(t.svc.pending(), 1u);
  src.cancel();
  EXPECT_EQ(t.svc.pending(), 0u) << "the timer is cancelled with the sleep";
  EXPECT_FALSE(after.is_ready()) << "the continuation runs on the sleep's executor, not in cancel()";
  t.ex.run_all();
  ASSERT_TRUE(after.is_ready());
  EXPECT_FALSE(after.get()) << "the sleep failed";
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
}

TEST(CancellableSleep, FailsWithCancelledError) {
  manual_timers t;
  weft::cancellation_source src;
  weft::future<void> s = t.svc.sleep_until(t.clk.now() + 5ms, src.token(), t.ex);
  src.cancel();
  EXPECT_THROW(s.get(), weft::cancelled_error);
  t.clk.advance(1h);
  EXPECT_EQ(t.ex.run_all(), 0u) << "nothing fires after the cancel";
}

TEST(CancellableSleep, ATokenCancelledAlreadyArmsNothing) {
  manual_timers t;
  weft::cancellation_source src;
  src.cancel();
  weft::future<void> s = t.svc.sleep_for(10ms, src.token());
  EXPECT_EQ(t.svc.pending(), 0u);
  EXPECT_THROW(s.get(), weft::cancelled_error);
}

TEST(CancellableSleep, ADefaultTokenIsAPlainSleep) {
  manual_timers t;
  weft::future<void> s = t.svc.sleep_for(10ms, weft::cancellation_token());
  t.clk.advance(10ms);
  t.ex.run_all();
  EXPECT_NO_THROW(s.get());
}

TEST(CancellableSleep, AZeroDelayCompletesWithoutATick) {
  manual_timers t;
  weft::cancellation_source src;
  weft::future<void> s = t.svc.sleep_for(0ms, src.token());
  EXPECT_EQ(t.svc.pending(), 0u);
  t.ex.run_all();
  EXPECT_NO_THROW(s.get());
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
}

TEST(CancellableSleep, ShutdownFailsItWithExecutorShutdownAndEndsTheRegistration) {
  manual_timers t;
  weft::cancellation_source src;
  weft::future<void> s = t.svc.sleep_for(1h, src.token());
  t.svc.shutdown();
  EXPECT_THROW(s.get(), weft::executor_shutdown);
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
  EXPECT_THROW(t.svc.sleep_for(1ms, src.token()), weft::executor_shutdown);
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
}

TEST(CancellableSleep, ACancelRacingTheDeadlineGivesOneOutcome) {
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  std::size_t slept = 0, cancelled = 0;
  for (int i = 0; i < 2000; ++i) {
    weft::cancellation_source src;
    weft::future<void> s = svc.sleep_for(std::chrono::microseconds(i % 50), src.token());
    weft::async(pool, [src]() mutable { src.cancel(); });
    try {
      get_within(s);
      ++slept;
    } catch (const weft::cancelled_error&) {
      ++cancelled;
    }
    // The timer's task drops the registration just after it completes
    // the sleep, on its worker.
    EXPECT_TRUE(weft_test::wait_until_true([&] { return src.token().registered_callbacks() == 0; })) << "sleep " << i;
  }
  EXPECT_EQ(slept + cancelled, 2000u);
  EXPECT_EQ(svc.pending(), 0u);
}

}  // namespace
