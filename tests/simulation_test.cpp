// weft::testing::simulation: a seeded choice of the next task on a manual
// executor and clock. Its own behaviour (the same seed gives the same
// steps, deadlocks and blocking waits are reported with the seed, timers
// move the clock), then weft's race-prone behaviour explored under 4,000
// seeds each: a timeout racing its completion, a cancellation racing
// callback registrations, a task group's failure racing a spawn.
#include <array>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/exception_group.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/task_group.hpp"
#include "weft/testing.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timeout.hpp"

namespace {

using namespace std::chrono_literals;
using weft::testing::simulation;
using weft::testing::simulation_step;
using tp = weft::clock::time_point;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// An invariant of a scenario: a throw, so for_each_seed names the seed.
void check(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error("invariant broken: " + what);
}

std::vector<std::string> texts(const std::vector<simulation_step>& trace) {
  std::vector<std::string> out;
  for (const auto& s : trace) out.push_back(s.to_string());
  return out;
}

// Three chains of two tasks and two sleeps: many orders are possible. The
// order the tasks ran in.
std::vector<int> racy(simulation& sim) {
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    sim.executor().execute([&sim, &order, i] {
      order.push_back(i);
      sim.executor().execute([&order, i] { order.push_back(10 + i); });
    });
  }
  sim.timers().sleep_for(1ms).then([&order] { order.push_back(100); });
  sim.timers().sleep_for(1ms).then([&order] { order.push_back(101); });
  sim.run();
  return order;
}

// --- the simulation itself ------------------------------------------------

TEST(Simulation, TheSameSeedTakesTheSameSteps) {
  simulation a(42), b(42);
  const std::vector<int> order_a = racy(a);
  const std::vector<int> order_b = racy(b);
  EXPECT_EQ(order_a, order_b);
  // 6 tasks, the clock, then per sleep the timer's task and the continuation
  ASSERT_EQ(a.trace().size(), 11u);
  EXPECT_EQ(a.trace(), b.trace());
  EXPECT_EQ(a.trace_string(), b.trace_string());
  EXPECT_EQ(a.steps(), 11u);
  EXPECT_EQ(a.seed(), 42u);
}

TEST(Simulation, DifferentSeedsTakeDifferentOrders) {
  std::set<std::vector<int>> orders;
  std::set<std::vector<std::string>> traces;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    simulation sim(seed);
    orders.insert(racy(sim));
    traces.insert(texts(sim.trace()));
  }
  // 3 chains of 2 tasks interleave in 90 ways, times 2 for the sleeps.
  EXPECT_GT(orders.size(), 50u);
  EXPECT_GE(traces.size(), orders.size()) << "the trace determines the order";
}

// A seed means the same steps on every build and platform: a seed from a
// bug report keeps replaying. This pins the generator (splitmix64, draws
// by rejection, no draw for a step with one task queued).
TEST(Simulation, ASeedsStepsArePinned) {
  simulation sim(1);
  const std::vector<int> order = racy(sim);
  EXPECT_EQ(order, (std::vector<int>{2, 1, 0, 10, 11, 12, 100, 101}));
  EXPECT_EQ(texts(sim.trace()),
            (std::vector<std::string>{"task 2 of 3 at 0 ms", "task 1 of 3 at 0 ms", "task 0 of 3 at 0 ms",
                                      "task 2 of 3 at 0 ms", "task 1 of 2 at 0 ms", "task 0 of 1 at 0 ms",
                                      "clock -> 1 ms", "task 0 of 2 at 1 ms", "task 1 of 2 at 1 ms",
                                      "task 0 of 1 at 1 ms", "task 0 of 1 at 1 ms"}));
  EXPECT_EQ(sim.random(1000000), 60533u);
}

TEST(Simulation, PicksAmongThePendingTasksUniformly) {
  std::array<int, 3> first{};
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    simulation sim(seed);
    int ran = -1;
    for (int i = 0; i < 3; ++i) sim.executor().execute([&ran, i] { ran = i; });
    ASSERT_TRUE(sim.step());
    ++first[static_cast<std::size_t>(ran)];
    EXPECT_EQ(sim.trace()[0].index, static_cast<std::size_t>(ran));
    EXPECT_EQ(sim.trace()[0].pending, 3u);
  }
  for (int n : first) {
    EXPECT_GT(n, 850);  // 1000 expected; 850..1150 is more than 5 standard deviations
    EXPECT_LT(n, 1150);
  }
}

TEST(Simulation, RandomIsBelowTheBoundAndFollowsTheSeed) {
  simulation a(9), b(9);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t v = a.random(7);
    EXPECT_LT(v, 7u);
    EXPECT_EQ(v, b.random(7));
  }
  EXPECT_EQ(a.random(1), 0u);
  EXPECT_THROW(a.random(0), std::invalid_argument);
}

TEST(Simulation, TheClockMovesOnlyWhenNoTaskIsQueued) {
  simulation sim(3);
  std::vector<std::string> seen;
  auto late = sim.timers().sleep_for(5ms).then([&] { return sim.clock().now(); });
  auto early = sim.timers().sleep_for(2ms).then([&] { return sim.clock().now(); });
  sim.executor().execute([&] {
    seen.push_back("task at " + std::to_string(sim.clock().now().time_since_epoch().count()));
  });
  EXPECT_EQ(sim.run_until_complete(std::move(late)), tp(5ms));
  EXPECT_TRUE(early.is_ready());
  EXPECT_EQ(early.get(), tp(2ms));
  EXPECT_EQ(seen, (std::vector<std::string>{"task at 0"}));
  const std::vector<std::string> t = texts(sim.trace());
  // Each sleep: its timer's task completes it, then its continuation runs.
  EXPECT_EQ(t, (std::vector<std::string>{"task 0 of 1 at 0 ms", "clock -> 2 ms", "task 0 of 1 at 2 ms",
                                         "task 0 of 1 at 2 ms", "clock -> 5 ms", "task 0 of 1 at 5 ms",
                                         "task 0 of 1 at 5 ms"}));
  EXPECT_FALSE(sim.step()) << "nothing queued and no timer armed";
  EXPECT_EQ(sim.steps(), 7u);
}

TEST(Simulation, TimeMayPassBetweenTasksWhenAsked) {
  int clock_first = 0, task_first = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    for (bool on : {false, true}) {
      simulation sim(seed);
      sim.set_time_may_pass_between_tasks(on);
      sim.executor().execute([] {});
      sim.timers().arm_after(1ms, [] {});
      EXPECT_EQ(sim.run(), 3u);
      const simulation_step& first = sim.trace()[0];
      if (!on) {
        EXPECT_EQ(first.what, simulation_step::kind::task) << "off, time passes only when nothing is ready";
      } else if (first.what == simulation_step::kind::clock) {
        ++clock_first;
        EXPECT_EQ(first.to_string(), "clock -> 1 ms, 1 task queued");
        EXPECT_EQ(sim.trace()[1].pending, 2u) << "the task passed over, and the timer's";
      } else {
        ++task_first;
      }
    }
  }
  EXPECT_GT(clock_first, 100);  // 1 in 2 expected
  EXPECT_GT(task_first, 100);
}

TEST(Simulation, StartsTheClockWhereToldAndPrintsExactUnits) {
  simulation sim(0, tp(1s));
  auto f = sim.timers().sleep_for(1500us);
  sim.run_until_complete(std::move(f));
  EXPECT_EQ(sim.clock().now(), tp(1s + 1500us));
  EXPECT_EQ(sim.trace()[0].to_string(), "clock -> 1001500 us");
  simulation_step s;
  s.what = simulation_step::kind::clock;
  s.time = tp(std::chrono::nanoseconds(7));
  EXPECT_EQ(s.to_string(), "clock -> 7 ns");
  s.time = tp(3s);
  EXPECT_EQ(s.to_string(), "clock -> 3 s");
}

TEST(Simulation, RunUntilCompleteRethrowsTheFuturesError) {
  simulation sim(5);
  auto f = weft::async(sim.executor(), []() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(sim.run_until_complete(std::move(f)), std::runtime_error);
  EXPECT_THROW(sim.run_until_complete(weft::future<int>()), weft::future_error);
}

TEST(Simulation, ADeadlockIsReportedWithTheSeedNotAHang) {
  weft_test::error_capture errors;  // the never-completed chain fails unobserved at the end
  simulation sim(7);
  weft::promise<int> never(sim.executor());
  auto f = never.get_future().then([](int v) { return v; });
  sim.executor().execute([] {});
  try {
    sim.run_until_complete(std::move(f));
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_TRUE(contains(e.what(), "deadlock: nothing left to run")) << e.what();
    EXPECT_TRUE(contains(e.what(), "seed 7")) << e.what();
    EXPECT_TRUE(contains(e.what(), "replay with simulation(7)")) << e.what();
    EXPECT_TRUE(contains(e.what(), "#0 task 0 of 1 at 0 ms")) << e.what();
  }
}

TEST(Simulation, CodeThatNeverSettlesIsReportedPastTheStepLimit) {
  simulation sim(11);
  std::function<void()> again = [&] { sim.executor().execute(again); };
  sim.executor().execute(again);
  try {
    sim.run(100);
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_TRUE(contains(e.what(), "weft::testing::simulation::run: did not settle within 100 steps (seed 11"))
        << e.what();
  }
  EXPECT_EQ(sim.steps(), 100u);
  weft::promise<void> never(sim.executor());
  EXPECT_THROW(sim.run_until_complete(never.get_future(), 10), std::logic_error);
  EXPECT_EQ(sim.steps(), 110u);
  sim.executor().shutdown();  // drops the task that re-queues itself
}

TEST(Simulation, RunStopsWhenNothingCanHappenAndCountsItsSteps) {
  simulation sim(2);
  EXPECT_EQ(sim.run(), 0u);
  EXPECT_EQ(sim.run(0), 0u) << "a limit of 0 is fine when nothing is left";
  sim.executor().execute([] {});
  sim.timers().arm_after(1s, [] {});
  EXPECT_EQ(sim.run(), 3u);  // the task, the clock, the timer's task
  EXPECT_EQ(sim.clock().now(), tp(1s));
  EXPECT_EQ(sim.timers().pending(), 0u);
}

TEST(Simulation, ATimerForNeverIsNothingLeftToRun) {
  simulation sim(2);
  auto f = sim.timers().sleep_until(tp::max());
  EXPECT_THROW(sim.run_until_complete(std::move(f)), std::logic_error);
  EXPECT_EQ(sim.steps(), 0u);
}

TEST(Simulation, DestructionFailsWhatIsLeft) {
  weft::future<void> sleeping, queued;
  {
    simulation sim(4);
    sleeping = sim.timers().sleep_for(1s);
    queued = weft::async(sim.executor(), [] {});
  }
  EXPECT_THROW(sleeping.get(), weft::executor_shutdown);
  EXPECT_THROW(queued.get(), weft::executor_shutdown);
}

// Without the refusal, the task's get() parks the thread forever: the
// watchdog then fails the test instead of the test hanging.
TEST(Simulation, ABlockingGetInsideATaskFailsLoudlyInsteadOfHanging) {
  weft_test::watchdog guard(10 * weft_test::time_scale(), "a blocking get() inside the simulation hung");
  weft_test::error_capture errors;
  simulation sim(3);
  weft::promise<int> reply(sim.executor());
  weft::future<int> pending = reply.get_future();
  auto f = weft::async(sim.executor(), [&pending] { return pending.get(); });
  const std::string expected =
      "weft::testing::simulation: a blocking wait inside the simulation (seed 3) would wait forever: its tasks run "
      "one at a time on this thread, so nothing can complete the future while this task waits; chain with then() "
      "instead";
  try {
    sim.step();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  EXPECT_EQ(sim.steps(), 1u);
  ASSERT_TRUE(f.is_ready()) << "the task ended: its future holds the same error";
  try {
    f.get();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  EXPECT_EQ(errors.count(), 0u);
}

TEST(Simulation, ABlockingWaitIsReportedEvenWhenTheTaskCatchesIt) {
  weft_test::watchdog guard(10 * weft_test::time_scale(), "a blocking wait inside the simulation hung");
  simulation sim(8);
  weft::promise<void> reply(sim.executor());
  weft::shared_future<void> shared = reply.get_future().share();
  std::string caught;
  sim.executor().execute([&] {
    try {
      shared.wait();
    } catch (const std::logic_error& e) {
      caught = e.what();
    }
  });
  EXPECT_THROW(sim.step(), std::logic_error);
  EXPECT_TRUE(contains(caught, "(seed 8) would wait forever")) << caught;
  // Outside the step, waits block as usual: on a pool's future here.
  weft::thread_pool pool(1);
  EXPECT_EQ(weft::async(pool, [] { return 5; }).get(), 5);
  // A ready future inside a task is no wait, and neither is a bounded one.
  reply.set_value();
  bool ran = false;
  weft::promise<int> later(sim.executor());
  weft::future<int> not_yet = later.get_future();
  sim.executor().execute([&] {
    shared.get();
    ran = not_yet.wait_for(0ms) == std::future_status::timeout;
  });
  EXPECT_EQ(sim.run(), 1u);
  EXPECT_TRUE(ran);
}

TEST(Simulation, ForEachSeedNamesTheFirstFailingSeed) {
  auto scenario = [](simulation& sim) {
    if (sim.random(10) == 3) throw std::runtime_error("unlucky draw");
  };
  const std::vector<std::uint64_t> failed = weft::testing::failing_seeds(100, 200, scenario);
  ASSERT_FALSE(failed.empty());
  EXPECT_GT(failed.size(), 5u);
  EXPECT_LT(failed.size(), 40u);
  try {
    weft::testing::for_each_seed(100, 200, scenario);
    FAIL() << "no exception";
  } catch (const weft::testing::simulation_failure& e) {
    EXPECT_EQ(e.seed(), failed[0]);
    const std::string seed = std::to_string(failed[0]);
    EXPECT_TRUE(contains(e.what(), "weft::testing::simulation: failed with seed " + seed + "; replay with simulation(" +
                                       seed + "): unlucky draw"))
        << e.what();
    EXPECT_THROW(std::rethrow_exception(e.cause()), std::runtime_error);
  }
  // Replayed, the failing seed fails again, and a passing one passes.
  simulation replay(failed[0]);
  EXPECT_EQ(replay.random(10), 3u);
  EXPECT_NO_THROW(weft::testing::for_each_seed(failed[0] + 1, 1, [](simulation& sim) { sim.run(); }));
}

TEST(Simulation, AScenarioReturningFalseFails) {
  try {
    weft::testing::for_each_seed(0, 10, [](simulation& sim) { return sim.seed() != 4; });
    FAIL() << "no exception";
  } catch (const weft::testing::simulation_failure& e) {
    EXPECT_EQ(e.seed(), 4u);
    EXPECT_TRUE(contains(e.what(), "the scenario returned false")) << e.what();
    EXPECT_TRUE(contains(e.what(), "5 seeds tried")) << e.what();
  }
  EXPECT_EQ(weft::testing::failing_seeds(0, 10, [](simulation& sim) { return sim.seed() % 3 != 0; }),
            (std::vector<std::uint64_t>{0, 3, 6, 9}));
}

// A failure found under one seed replays step for step.
TEST(Simulation, AFailingSeedReplaysItsTrace) {
  // Two tasks read-modify-write a counter across a then(): a lost update
  // in some orders.
  auto lost_update = [](simulation& sim) {
    int counter = 0;
    for (int i = 0; i < 2; ++i) {
      sim.executor().execute([&sim, &counter] {
        const int read = counter;
        sim.executor().execute([&counter, read] { counter = read + 1; });
      });
    }
    sim.run();
    return counter == 2;
  };
  const std::vector<std::uint64_t> failed = weft::testing::failing_seeds(0, 100, lost_update);
  ASSERT_FALSE(failed.empty());
  ASSERT_LT(failed.size(), 100u);
  simulation first(failed[0]), second(failed[0]);
  EXPECT_FALSE(lost_update(first));
  EXPECT_FALSE(lost_update(second));
  EXPECT_EQ(first.trace(), second.trace());
}

// --- races, explored ------------------------------------------------------

// A seed costs about a microsecond per step here: many are cheap.
constexpr std::uint64_t seeds = 4000;

// A completion at 9, 10 or 11 ms races a 10 ms deadline; at 10 ms both
// timers fire together and the simulation picks which task runs first.
TEST(SimulationRaces, WithTimeoutRacingACompletionHasOneOutcomeAndLeavesNoTimer) {
  weft_test::error_capture errors;
  int in_time = 0, late = 0, tied_in_time = 0, tied_late = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    const auto completion_at = 9ms + std::chrono::milliseconds(sim.random(3));
    const bool completion_armed_first = sim.random(2) == 0;
    weft::promise<int> reply(sim.executor());
    auto complete = [&] { sim.timers().arm_after(completion_at, [&reply] { reply.set_value(7); }); };
    if (completion_armed_first) complete();
    auto answer = weft::with_timeout(sim.timers(), reply.get_future(), 10ms);
    if (!completion_armed_first) complete();
    const boost::optional<int> r = sim.run_until_complete(std::move(answer));
    check(sim.clock().now() == tp(std::min<std::chrono::milliseconds>(completion_at, 10ms)),
          "decided at the first of the deadline and the completion");
    if (completion_at < 10ms) check(r && *r == 7, "a completion before the deadline wins");
    if (completion_at > 10ms) check(!r, "a deadline before the completion wins");
    if (r) check(*r == 7, "the value is the completion's");
    (r ? in_time : late) += 1;
    if (completion_at == 10ms) (r ? tied_in_time : tied_late) += 1;
    sim.run();
    check(sim.timers().pending() == 0, "no timer left");
    check(sim.clock().now() <= tp(11ms), "nothing armed past the completion");
  });
  EXPECT_EQ(in_time + late, static_cast<int>(seeds));
  EXPECT_GT(tied_in_time, 50) << "the tie went to the completion in some seeds";
  EXPECT_GT(tied_late, 50) << "and to the deadline in others";
  EXPECT_EQ(errors.count(), 0u) << "no second outcome was set (it would throw)";
}

TEST(SimulationRaces, TimeoutRacingACompletionCancelsTheWorkOnlyWhenLate) {
  weft_test::error_capture errors;
  int in_time = 0, late = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    weft::cancellation_source work;
    weft::promise<int> reply(sim.executor());
    sim.timers().arm_after(10ms, [&reply] { reply.set_value(7); });
    auto answer = weft::timeout(sim.timers(), reply.get_future(), 10ms, work);
    bool timed_out = false;
    try {
      check(sim.run_until_complete(std::move(answer)) == 7, "the completion's value");
      ++in_time;
    } catch (const weft::timeout_error&) {
      timed_out = true;
      ++late;
    }
    check(work.is_cancelled() == timed_out, "the work is cancelled exactly when the deadline won");
    sim.run();
    check(sim.timers().pending() == 0, "no timer left");
  });
  EXPECT_GT(in_time, 100);
  EXPECT_GT(late, 100);
  EXPECT_EQ(errors.count(), 0u);
}

// The completion is ready at once, but time may pass before it runs: the
// deadline may come first.
TEST(SimulationRaces, ATimeoutMayPassBeforeAReadyCompletionRuns) {
  weft_test::error_capture errors;
  int in_time = 0, late = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    sim.set_time_may_pass_between_tasks(true);
    weft::promise<int> reply(sim.executor());
    auto answer = weft::with_timeout(sim.timers(), reply.get_future(), 10ms);
    sim.executor().execute([&reply] { reply.set_value(7); });
    const boost::optional<int> r = sim.run_until_complete(std::move(answer));
    // In time at once, or, once time passed, at the deadline in either
    // order; never past the deadline.
    check(sim.clock().now() == tp(10ms) || (r && sim.clock().now() == tp()), "decided at 0 or at 10 ms");
    if (r) check(*r == 7, "the value is the completion's");
    (r ? in_time : late) += 1;
    sim.run();
    check(sim.timers().pending() == 0, "no timer left");
  });
  EXPECT_GT(in_time, 100);
  EXPECT_GT(late, 100);
  EXPECT_EQ(errors.count(), 0u);
}

// Three tasks register callbacks while a fourth cancels the source, and
// the first registration is destroyed by a task it queues: every callback
// alive at the cancel runs exactly once, one destroyed before it never.
TEST(SimulationRaces, CancelRacingRegistrationsRunsEachCallbackExactlyOnce) {
  int cancel_first = 0, cancel_between = 0, cancel_last = 0, destroyed_before_cancel = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    constexpr int n = 3;
    weft::cancellation_source source;
    const weft::cancellation_token token = source.token();
    int seq = 0, cancelled_at = -1, destroyed_at = -1;
    std::array<int, n> runs{}, registered_at{};
    std::array<std::unique_ptr<weft::cancellation_callback>, n> callbacks;
    for (int i = 0; i < n; ++i) {
      sim.executor().execute([&, i] {
        callbacks[i].reset(new weft::cancellation_callback(token, [&runs, i] { ++runs[i]; }));
        registered_at[i] = seq++;
        if (i == 0) {
          sim.executor().execute([&] {
            callbacks[0].reset();
            destroyed_at = seq++;
          });
        }
      });
    }
    sim.executor().execute([&] {
      check(source.cancel(), "the one cancel wins");
      cancelled_at = seq++;
    });
    sim.run();
    for (int i = 1; i < n; ++i) check(runs[i] == 1, "callback " + std::to_string(i) + " ran once");
    check(runs[0] == (cancelled_at < destroyed_at ? 1 : 0), "callback 0 ran once iff the cancel came before it died");
    check(token.registered_callbacks() == 0, "nothing left registered");
    for (auto& c : callbacks) c.reset();
    for (int i = 0; i < n; ++i) check(runs[i] <= 1, "destroying a callback after it ran does not run it again");
    int before = 0;
    for (int at : registered_at) before += at < cancelled_at ? 1 : 0;
    (before == 0 ? cancel_first : before == n ? cancel_last : cancel_between) += 1;
    destroyed_before_cancel += destroyed_at < cancelled_at ? 1 : 0;
  });
  EXPECT_GT(cancel_first, 10) << "seeds where every registration came after the cancel";
  EXPECT_GT(cancel_between, 10);
  EXPECT_GT(cancel_last, 10) << "seeds where every registration came before the cancel";
  EXPECT_GT(destroyed_before_cancel, 10);
}

// A task group on the simulation: child 1 fails, child 2 checks its token,
// child 3 spawns a sibling (4), a plain task spawns child 5 (which fails
// too, a step after it starts), and the join is asked for first or last.
TEST(SimulationRaces, GroupFailureRacingASpawnKeepsExactlyTheRealFailures) {
  weft_test::error_capture errors;
  int spawned = 0, refused = 0, refused_after_join = 0, two_failures = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    struct child {
      int ran = -1;       // seq when its body started
      int reported = -1;  // seq when its future got its outcome
      bool cancelled = false;
    };
    std::array<child, 6> kids;
    int seq = 0, group_cancelled_at = -1;
    bool spawned4 = false;
    std::vector<std::string> failures_in_order;
    std::vector<weft::future<int>> watched;
    weft::future<void> joined;
    const bool join_first = sim.random(2) == 0;

    weft::task_group g(sim.executor());
    weft::cancellation_callback on_cancel(g.token(), [&] { group_cancelled_at = seq++; });
    auto watch = [&](int id, weft::future<int> f) {
      watched.push_back(std::move(f).then_result(weft::inline_executor(), [&, id](weft::result<int> r) {
        kids[id].reported = seq++;
        if (!r.has_value()) {
          try {
            std::rethrow_exception(r.error());
          } catch (const weft::cancelled_error&) {
            kids[id].cancelled = true;
          } catch (const std::exception& e) {
            // Right after the group recorded it (the group's own
            // continuation completes this future): the group's order.
            failures_in_order.push_back(e.what());
          }
        }
        return 0;
      }));
    };
    auto body = [&](int id, bool fails) {
      return [&, id, fails](weft::cancellation_token t) -> int {
        kids[id].ran = seq++;
        if (id == 2) t.throw_if_cancelled();
        if (fails) throw std::runtime_error("boom " + std::to_string(id));
        return id;
      };
    };
    watch(0, g.spawn(body(0, false)));
    watch(1, g.spawn(body(1, true)));
    watch(2, g.spawn(body(2, false)));
    watch(3, g.spawn([&](weft::cancellation_token) {
      kids[3].ran = seq++;
      try {
        watch(4, g.spawn(body(4, false)));
        spawned4 = true;
      } catch (const weft::cancelled_error&) {
      }
      return 3;
    }));
    if (join_first) joined = g.join();
    bool spawn_ok = false, spawn_cancelled = false, spawn_after_join = false;
    sim.executor().execute([&] {
      // The join completes with the last child's end once it was asked for.
      bool join_done = join_first;
      for (int id = 0; id < 5; ++id) join_done = join_done && (kids[id].reported >= 0 || (id == 4 && !spawned4));
      try {
        // Child 5 fails a step after it started, so it can fail after the
        // first failure cancelled the group: a second real failure.
        watch(5, g.spawn([&] {
          kids[5].ran = seq++;
          return weft::async(sim.executor(), []() -> int { throw std::runtime_error("boom 5"); });
        }));
        spawn_ok = true;
      } catch (const weft::cancelled_error&) {
        spawn_cancelled = true;
      } catch (const std::logic_error&) {
        spawn_after_join = join_done;  // only once the join has completed
      }
    });
    sim.run();
    if (!join_first) joined = g.join();
    check(spawn_ok || spawn_cancelled || spawn_after_join,
          "spawn succeeds, or throws cancelled_error, or logic_error once the join completed");
    std::vector<std::string> group_failures;
    try {
      sim.run_until_complete(std::move(joined));
      check(false, "the join fails");
    } catch (const weft::exception_group& e) {
      for (const auto& x : e.exceptions()) group_failures.push_back(weft::describe(x));
    }
    check(group_failures == failures_in_order, "the join holds exactly the real failures, in order");
    check(!failures_in_order.empty() && group_cancelled_at >= 0, "a failure cancelled the group");
    for (std::size_t id = 0; id < kids.size(); ++id) {
      const child& k = kids[id];
      const std::string who = "child " + std::to_string(id);
      if (k.ran >= 0) check(k.ran < group_cancelled_at, who + " started only before the group was cancelled");
      if (k.ran >= 0 && k.reported >= 0) check(k.ran < k.reported, who + " ran before its outcome was reported");
      if (k.cancelled && id != 2) check(k.ran < 0, who + " reported cancelled never ran");
    }
    check(kids[0].reported >= 0 && kids[1].reported >= 0 && kids[2].reported >= 0 && kids[3].reported >= 0 &&
              (!spawned4 || kids[4].reported >= 0),
          "every child spawned has an outcome");
    if (spawn_ok) {
      check(kids[5].reported >= 0 && (kids[5].ran >= 0 || kids[5].cancelled), "child 5 ran or was cancelled");
    }
    spawned += spawn_ok ? 1 : 0;
    refused += spawn_cancelled ? 1 : 0;
    refused_after_join += spawn_after_join ? 1 : 0;
    two_failures += failures_in_order.size() == 2 ? 1 : 0;
  });
  EXPECT_GT(spawned, 10);
  EXPECT_GT(refused, 10);
  EXPECT_GT(two_failures, 10) << "seeds where child 5 failed before the first failure cancelled the group";
  EXPECT_EQ(errors.count(), 0u);
  RecordProperty("spawn_refused_after_join", refused_after_join);
}

}  // namespace
