// thread_pool: the work-stealing compute pool over a tbb::task_arena.
#include "weft/thread_pool.hpp"

#include <atomic>
#include <memory>
#include <regex>
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
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/when_all.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::ready_within;

TEST(ThreadPool, SizeIsTheRequestedNumberOfThreads) {
  weft::thread_pool a(1), b(3);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 3u);
}

TEST(ThreadPool, DefaultConstructedHasOneWorkerPerHardwareThread) {
  weft::thread_pool pool;
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(ThreadPool, RejectsZeroThreadsWithInvalidArgument) {
  EXPECT_THROW(weft::thread_pool(0), std::invalid_argument);
}

TEST(ThreadPool, RejectsMoreThan4096Threads) {
  EXPECT_THROW(weft::thread_pool(4097), std::invalid_argument);
  EXPECT_THROW(weft::thread_pool(static_cast<std::size_t>(-1)), std::invalid_argument);
}

TEST(ThreadPool, EmptyTaskIsRejectedWithInvalidArgument) {
  weft::thread_pool pool(1);
  EXPECT_THROW(pool.execute(weft::unique_task()), std::invalid_argument);
}

TEST(ThreadPool, DefaultPoolIsOneInstanceSizedToTheHardware) {
  EXPECT_EQ(&weft::default_pool(), &weft::default_pool());
  EXPECT_EQ(weft::default_pool().size(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_FALSE(weft::default_pool().is_shutdown());
}

TEST(ThreadPool, RunningInThisThreadIsFalseOutsideItsTasks) {
  weft::thread_pool pool(1);
  EXPECT_FALSE(pool.running_in_this_thread());
}

TEST(ThreadPool, RunningInThisThreadTellsPoolsApart) {
  weft::thread_pool a(1), b(1);
  auto f = weft::async(a, [&] { return a.running_in_this_thread() && !b.running_in_this_thread(); });
  EXPECT_TRUE(get_within(f));
}

TEST(ThreadPool, ThrowingTaskIsReportedAndThePoolKeepsWorking) {
  error_capture errors;
  weft::thread_pool pool(1);
  pool.execute([] { throw std::runtime_error("task threw"); });
  auto after = weft::async(pool, [] { return 1; });
  EXPECT_EQ(get_within(after), 1);
  pool.shutdown();
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "task threw");
}

TEST(ThreadPool, ExecuteAfterShutdownThrowsAndDropsTheTask) {
  weft::thread_pool pool(1);
  pool.shutdown();
  EXPECT_TRUE(pool.is_shutdown());
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  bool ran = false;
  EXPECT_THROW(pool.execute([token, &ran] { ran = true; }), weft::executor_shutdown);
  token.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(ran);
}

TEST(ThreadPool, ShutdownIsIdempotent) {
  weft::thread_pool pool(2);
  auto f = weft::async(pool, [] { return 1; });
  pool.shutdown();
  pool.shutdown();
  pool.shutdown(weft::shutdown_mode::cancel);
  EXPECT_EQ(f.get(), 1);
}

TEST(ThreadPool, DestructorDrainsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    weft::thread_pool pool(1);
    for (int i = 0; i < 1000; ++i) pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPool, CancelFailsQueuedTasksWithExecutorShutdownAndFinishesTheRunningOne) {
  weft::thread_pool pool(1);
  weft_test::gate release;
  weft_test::latch started(1);
  auto running = weft::async(pool, [&] {
    started.count_down();
    return release.wait_within();
  });
  ASSERT_TRUE(started.wait_within());
  std::atomic<int> ran{0};
  std::vector<weft::future<int>> queued;
  for (int i = 0; i < 10; ++i) {
    queued.push_back(weft::async(pool, [&ran, i] {
      ran.fetch_add(1);
      return i;
    }));
  }
  weft_test::joining_thread canceller([&] { pool.shutdown(weft::shutdown_mode::cancel); });
  // shutdown(cancel) waits for the running task; let it finish once the
  // pool has stopped accepting work.
  ASSERT_TRUE(weft_test::wait_until_true([&] { return pool.is_shutdown(); }));
  release.open();
  canceller.join();
  EXPECT_TRUE(get_within(running));
  for (auto& f : queued) {
    ASSERT_TRUE(f.is_ready()) << "shutdown returned with a pending future";
    EXPECT_THROW(f.get(), weft::executor_shutdown);
  }
  EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadPool, CancelResolvesContinuationsOfCancelledTasks) {
  weft::thread_pool pool(1);
  weft_test::occupied_worker busy(pool);
  ASSERT_TRUE(busy.started());
  auto chain = weft::async(pool, [] { return 1; }).then([](int v) { return v + 1; }).then([](int v) { return v + 1; });
  weft_test::joining_thread canceller([&] { pool.shutdown(weft::shutdown_mode::cancel); });
  ASSERT_TRUE(weft_test::wait_until_true([&] { return pool.is_shutdown(); }));
  busy.release();
  canceller.join();
  ASSERT_TRUE(chain.is_ready());
  EXPECT_THROW(chain.get(), weft::executor_shutdown);
}

TEST(ThreadPool, StatsCountQueuedAndBusyTasks) {
  weft::thread_pool pool(1);
  weft_test::occupied_worker busy(pool);
  ASSERT_TRUE(busy.started());
  for (int i = 0; i < 3; ++i) pool.execute([] {});
  const weft::pool_stats during = pool.stats();
  EXPECT_EQ(during.submitted, 4u);
  EXPECT_EQ(during.busy, 1u);
  EXPECT_EQ(during.queued, 3u);
  EXPECT_EQ(during.completed, 0u);
  busy.release();
  pool.shutdown();
  const weft::pool_stats after = pool.stats();
  EXPECT_EQ(after.submitted, 4u);
  EXPECT_EQ(after.completed, 4u);
  EXPECT_EQ(after.queued, 0u);
  EXPECT_EQ(after.busy, 0u);
}

TEST(ThreadPool, StatsCountTasksDroppedByCancelAsCompleted) {
  weft::thread_pool pool(1);
  weft_test::occupied_worker busy(pool);
  ASSERT_TRUE(busy.started());
  for (int i = 0; i < 5; ++i) pool.execute([] {});
  weft_test::joining_thread canceller([&] { pool.shutdown(weft::shutdown_mode::cancel); });
  ASSERT_TRUE(weft_test::wait_until_true([&] { return pool.is_shutdown(); }));
  busy.release();
  canceller.join();
  const weft::pool_stats s = pool.stats();
  EXPECT_EQ(s.submitted, 6u);
  EXPECT_EQ(s.completed, 6u);
  EXPECT_EQ(s.queued + s.busy, 0u);
}

TEST(ThreadPool, DestroyedFromOneOfItsOwnWorkersDoesNotDeadlock) {
  auto* pool = new weft::thread_pool(2);
  weft_test::gate release;
  // A task queued before the destroyer: the drain must still run it.
  auto queued = weft::async(*pool, [&] { return release.wait_within(); });
  auto destroyer = weft::async(*pool, [pool] {
    delete pool;
    return true;
  });
  EXPECT_TRUE(get_within(destroyer));
  release.open();
  EXPECT_TRUE(get_within(queued));
}

TEST(ThreadPool, SubmissionsFromAWorkerDuringADrainAreRun) {
  std::atomic<int> ran{0};
  {
    weft::thread_pool pool(2);
    for (int i = 0; i < 100; ++i) {
      pool.execute([&pool, &ran] {
        pool.execute([&pool, &ran] {
          pool.execute([&ran] { ran.fetch_add(1); });
          ran.fetch_add(1);
        });
        ran.fetch_add(1);
      });
    }
    pool.shutdown();
    EXPECT_EQ(ran.load(), 300);
  }
}

TEST(ThreadPool, OutsideSubmissionsDuringADrainAreRefused) {
  weft::thread_pool pool(1);
  weft_test::occupied_worker busy(pool);
  ASSERT_TRUE(busy.started());
  weft_test::joining_thread drainer([&] { pool.shutdown(); });
  ASSERT_TRUE(weft_test::wait_until_true([&] { return pool.is_shutdown(); }));
  EXPECT_THROW(pool.execute([] {}), weft::executor_shutdown);
  busy.release();
}

class ThreadPoolSized : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ThreadPoolSized, RunsEveryTaskSubmittedBeforeShutdown) {
  weft::thread_pool pool(GetParam());
  constexpr int n = 20000;
  std::atomic<int> ran{0};
  for (int i = 0; i < n; ++i) pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  pool.shutdown();
  EXPECT_EQ(ran.load(), n);
  const weft::pool_stats s = pool.stats();
  EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(n));
  EXPECT_EQ(s.completed, static_cast<std::uint64_t>(n));
}

TEST_P(ThreadPoolSized, WorkersAreNamedWeftN) {
  weft::thread_pool pool(GetParam());
  std::vector<weft::future<std::string>> names;
  for (std::size_t i = 0; i < 4 * GetParam(); ++i) names.push_back(weft::async(pool, [] { return weft_test::this_thread_name(); }));
  const std::regex pattern("weft-[0-9]+");
  for (auto& f : names) {
    const std::string name = get_within(f);
    EXPECT_TRUE(std::regex_match(name, pattern)) << "thread name '" << name << "'";
  }
}

TEST_P(ThreadPoolSized, RunsSizeTasksAtOnce) {
  // Each task waits until all have started: only a pool that really has
  // size() workers gets through.
  const std::size_t n = GetParam();
  weft::thread_pool pool(n);
  weft_test::latch all_started(static_cast<std::ptrdiff_t>(n));
  std::vector<weft::future<bool>> fs;
  for (std::size_t i = 0; i < n; ++i) fs.push_back(weft::async(pool, [&] { return all_started.arrive_and_wait_within(); }));
  for (auto& f : fs) EXPECT_TRUE(get_within(f));
}

TEST_P(ThreadPoolSized, UsesNoMoreThanSizeThreadsAtOnce) {
  const std::size_t n = GetParam();
  weft::thread_pool pool(n);
  std::atomic<int> current{0}, peak{0};
  std::vector<weft::future<void>> fs;
  for (int i = 0; i < 2000; ++i) {
    fs.push_back(weft::async(pool, [&] {
      const int now = current.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      weft_test::spin_for(200);
      current.fetch_sub(1);
    }));
  }
  for (auto& f : fs) get_within(f);
  EXPECT_LE(peak.load(), static_cast<int>(n));
  EXPECT_GE(peak.load(), 1);
}

TEST_P(ThreadPoolSized, TaskSubmittedFromAWorkerRunsOnThePool) {
  weft::thread_pool pool(GetParam());
  auto f = weft::async(pool, [&pool] {
    weft::promise<bool> p;
    auto inner = p.get_future();
    pool.execute([&pool, p = std::move(p)]() mutable { p.set_value(pool.running_in_this_thread()); });
    return inner;
  });
  EXPECT_TRUE(get_within(f));
}

TEST_P(ThreadPoolSized, TaskSubmittedFromOutsideRunsOnThePool) {
  weft::thread_pool pool(GetParam());
  weft::promise<bool> p;
  auto f = p.get_future();
  pool.execute([&pool, p = std::move(p)]() mutable { p.set_value(pool.running_in_this_thread()); });
  EXPECT_TRUE(get_within(f));
}

TEST(ThreadPool, AnOutsideTaskThatBlocksItsWorkerDoesNotHoldBackTheNextOne) {
  // The first task blocks its worker until the second has run: the second,
  // submitted while the first runs, must reach the pool's other worker.
  weft::thread_pool pool(2);
  weft_test::latch first_started(1);
  weft_test::gate second_ran;
  auto first = weft::async(pool, [&] {
    first_started.count_down();
    return second_ran.wait_within();
  });
  ASSERT_TRUE(first_started.wait_within());
  pool.execute([&second_ran] { second_ran.open(); });
  EXPECT_TRUE(get_within(first));
}

TEST(ThreadPool, TasksSpawnedByOutsideTasksRunWhileOutsideTasksKeepComing) {
  // One worker, a long queue of outside tasks, and one of the first spawns a
  // task onto the worker's own deque: that task must not wait for the whole
  // queue to drain (outside tasks are run in turns of a few dozen).
  constexpr int queued = 10000;
  weft::thread_pool pool(1);
  weft_test::occupied_worker busy(pool);
  ASSERT_TRUE(busy.started());
  std::atomic<int> outside_ran{0};
  std::atomic<int> ran_before_spawned{-1};
  pool.execute([&pool, &outside_ran, &ran_before_spawned] {
    pool.execute([&outside_ran, &ran_before_spawned] { ran_before_spawned.store(outside_ran.load()); });
  });
  std::vector<weft::future<void>> rest;
  rest.reserve(queued);
  for (int i = 0; i < queued; ++i) rest.push_back(weft::async(pool, [&outside_ran] { outside_ran.fetch_add(1); }));
  busy.release();
  for (auto& f : rest) get_within(f);
  pool.shutdown();
  ASSERT_GE(ran_before_spawned.load(), 0);
  EXPECT_LT(ran_before_spawned.load(), 1000);
}

TEST_P(ThreadPoolSized, ManyOutsideThreadsSubmitConcurrently) {
  weft::thread_pool pool(GetParam());
  std::atomic<int> ran{0};
  constexpr int threads = 4, per_thread = 5000;
  {
    std::vector<weft_test::joining_thread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      });
    }
  }
  pool.shutdown();
  EXPECT_EQ(ran.load(), threads * per_thread);
  EXPECT_EQ(pool.stats().completed, static_cast<std::uint64_t>(threads * per_thread));
}

TEST_P(ThreadPoolSized, ShutdownRacingWithSubmittersLosesNothing) {
  // Every execute() either throws executor_shutdown or its task runs.
  weft::thread_pool pool(GetParam());
  std::atomic<int> accepted{0}, ran{0};
  weft_test::spin_barrier start(3);
  {
    std::vector<weft_test::joining_thread> submitters;
    for (int t = 0; t < 2; ++t) {
      submitters.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < 20000; ++i) {
          try {
            pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
            accepted.fetch_add(1, std::memory_order_relaxed);
          } catch (const weft::executor_shutdown&) {
            break;
          }
        }
      });
    }
    start.arrive_and_wait();
    pool.shutdown();
  }
  EXPECT_EQ(ran.load(), accepted.load());
}

TEST_P(ThreadPoolSized, CancelRacingWithSubmittersResolvesEveryAcceptedFuture) {
  // Outside submissions go through the pool's inbox; shutdown(cancel) races
  // them. Every async() either throws executor_shutdown, or gives a future
  // that is resolved when shutdown() returns: with its value if the task
  // ran, with executor_shutdown if it was dropped.
  weft::thread_pool pool(GetParam());
  weft_test::spin_barrier start(3);
  std::vector<std::vector<weft::future<int>>> accepted(2);
  weft_test::latch under_way(2);  // each submitter has 500 accepted
  {
    std::vector<weft_test::joining_thread> submitters;
    for (int t = 0; t < 2; ++t) {
      submitters.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < 20000; ++i) {
          try {
            accepted[t].push_back(weft::async(pool, [i] { return i; }));
            if (i == 500) under_way.count_down();
          } catch (const weft::executor_shutdown&) {
            break;
          }
        }
      });
    }
    start.arrive_and_wait();
    ASSERT_TRUE(under_way.wait_within());
    pool.shutdown(weft::shutdown_mode::cancel);
  }  // joins the submitters
  int ran = 0, dropped = 0;
  for (auto& list : accepted) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      // Submitted before the pool closed, so resolved before shutdown()
      // returned (a submitter's later calls were refused).
      ASSERT_TRUE(list[i].is_ready()) << "future " << i;
      try {
        EXPECT_EQ(list[i].get(), static_cast<int>(i));
        ++ran;
      } catch (const weft::executor_shutdown&) {
        ++dropped;
      }
    }
  }
  EXPECT_EQ(static_cast<std::size_t>(ran + dropped), accepted[0].size() + accepted[1].size());
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, ThreadPoolSized, ::testing::Values(1, 2, 4, 8));

// A continuation submitted while weft completes a task's outcome may be
// held: the task's worker runs it next, without a trip through its deque
// (see thread_pool.hpp). The tests below start the task under test from a
// worker, so oneTBB's dispatch loop runs it, the one case that may hold.

// An inline continuation run inside that completion is user code: what it
// submits must reach the deque, where the idle worker steals it, and not
// wait in the held place until the continuation returns.
TEST(HeldContinuation, WhatAnInlineContinuationAtATasksEndSubmitsCanBeStolen) {
  weft::thread_pool pool(2);
  weft_test::gate attached;
  std::atomic<bool> stolen{false};
  weft::future<bool> seen = weft::async(pool, [&] {
    weft::future<int> task = weft::async(pool, [&] {
      EXPECT_TRUE(attached.wait_within());
      return 1;
    });
    weft::future<bool> r = std::move(task).then(weft::inline_executor(), [&](int) {
      weft::async(pool, [&] { stolen = true; });
      return weft_test::wait_until_true([&] { return stolen.load(); });
    });
    attached.open();
    return r;
  });
  EXPECT_TRUE(get_within(seen));
}

// The outcome's first continuation goes to the pool and is held; the
// second, inline, blocks on the first. The only worker may run the first
// only if the wait hands it to the deque.
TEST(HeldContinuation, AWaitAtATasksEndDoesNotStrandTheHeldTask) {
  weft::thread_pool pool(1);
  weft_test::gate attached;
  weft::future<int> seen = weft::async(pool, [&] {
    weft::shared_future<int> task = weft::async(pool, [&] {
      EXPECT_TRUE(attached.wait_within());
      return 1;
    }).share();
    auto on_pool = std::make_shared<weft::future<int>>(task.then([](int v) { return v + 1; }));
    weft::future<int> r = task.then(weft::inline_executor(), [on_pool](int) { return on_pool->get(); });
    attached.open();
    return r;
  });
  EXPECT_EQ(get_within(seen), 2);
}

// A continuation that the inline executor runs inside a pool task's own
// code (in set_value) ends there, but the pool task goes on: the pool
// continuation its end fires must reach the deque, not be held.
TEST(HeldContinuation, AnInlineTaskEndingInsideAPoolTasksCodeHoldsNothing) {
  weft::thread_pool pool(2);
  std::atomic<bool> ran{false};
  weft::future<bool> seen = weft::async(pool, [&] {
    return weft::async(pool, [&] {
      weft::promise<int> p(weft::inline_executor());
      weft::future<void> after = p.get_future()
                                     .then([](int v) { return v + 1; })  // inline, inside set_value
                                     .then(pool, [&](int) { ran = true; });
      p.set_value(1);
      return weft_test::wait_until_true([&] { return ran.load(); });
    });
  });
  EXPECT_TRUE(get_within(seen));
}

// thread_pool::defer() is public, but only weft's own completion at the end
// of a dispatch-loop task holds what it defers: a user's defer() in the
// middle of a task is execute(), so the idle worker takes it while the
// task goes on (a held task would wait until the task returned).
TEST(HeldContinuation, AUsersDeferInTheMiddleOfATaskCanBeStolen) {
  weft::thread_pool pool(2);
  std::atomic<bool> ran{false};
  weft::future<bool> seen = weft::async(pool, [&] {
    return weft::async(pool, [&] {
      pool.defer([&] { ran = true; });
      return weft_test::wait_until_true([&] { return ran.load(); });
    });
  });
  EXPECT_TRUE(get_within(seen));
}

// A task dropped unrun fails its future from inside whatever code dropped
// it (here a user's executor that drops everything, called by set_value in
// a pool task), and that code goes on: what the failure fires is not the
// end of a task and must reach the deque, where the idle worker steals it.
TEST(HeldContinuation, WhatADroppedTaskFailsIsNotHeld) {
  struct dropping_executor final : weft::executor {
    void execute(weft::unique_task) override {}  // the task dies unrun
  } drop;
  weft::thread_pool pool(2);
  std::atomic<bool> failure_seen{false};
  weft::future<bool> seen = weft::async(pool, [&] {
    return weft::async(pool, [&] {
      weft::promise<int> p(drop);
      weft::future<void> after = p.get_future()
                                     .then([](int v) { return v; })  // runs on `drop`: dropped
                                     .then_result(pool, [&](weft::result<int> r) { failure_seen = !r.has_value(); });
      p.set_value(1);
      return weft_test::wait_until_true([&] { return failure_seen.load(); });
    });
  });
  EXPECT_TRUE(get_within(seen));
}

// Five pool continuations of one outcome: one is held, the others go to the
// deque, and each runs once.
TEST(HeldContinuation, EveryPoolContinuationOfAnOutcomeRuns) {
  weft::thread_pool pool(1);
  weft_test::gate attached;
  weft::future<std::vector<int>> all = weft::async(pool, [&] {
    weft::shared_future<int> task = weft::async(pool, [&] {
      EXPECT_TRUE(attached.wait_within());
      return 1;
    }).share();
    std::vector<weft::future<int>> next;
    for (int i = 0; i < 5; ++i) next.push_back(task.then([i](int v) { return v + i; }));
    attached.open();
    return weft::when_all(next);
  });
  EXPECT_EQ(get_within(all), (std::vector<int>{1, 2, 3, 4, 5}));
}

}  // namespace
