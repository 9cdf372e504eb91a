// blocking_pool and offload(): an elastic pool of boost::threads for
// blocking calls, cancellable through cancellation tokens.
#include "weft/blocking_pool.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/chrono.hpp>
#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>
#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "sync.hpp"
#include "thread_name.hpp"
#include "watchdog.hpp"
#include "weft/cancellation.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;
using weft_test::get_within;
using weft_test::ready_within;
using weft_test::wait_until_true;

TEST(BlockingPool, RejectsZeroMaxThreads) {
  EXPECT_THROW(weft::blocking_pool(0), std::invalid_argument);
}

TEST(BlockingPool, ReportsItsBound) {
  weft::blocking_pool pool(7);
  EXPECT_EQ(pool.max_threads(), 7u);
  EXPECT_EQ(weft::default_blocking_pool().max_threads(), 256u);
}

TEST(BlockingPool, StartsWithNoThreads) {
  weft::blocking_pool pool(4);
  EXPECT_EQ(pool.thread_count(), 0u);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST(BlockingPool, EmptyTaskIsRejectedWithInvalidArgument) {
  weft::blocking_pool pool(1);
  EXPECT_THROW(pool.execute(weft::unique_task()), std::invalid_argument);
}

TEST(Offload, RunsOnAThreadNamedWeftBlocking) {
  weft::blocking_pool pool(2);
  auto name = weft::offload(pool, [] { return weft_test::this_thread_name(); });
  const std::string n = get_within(name);
  EXPECT_EQ(n.rfind("weft-blocking-", 0), 0u) << "thread name '" << n << "'";
}

TEST(Offload, ContinuationsRunOnTheDefaultPoolNotOnTheBlockingThread) {
  weft::blocking_pool pool(2);
  weft_test::gate attached;
  std::thread::id blocking_thread;
  auto f = weft::offload(pool, [&] {
             blocking_thread = std::this_thread::get_id();
             return attached.wait_within();
           }).then([&](bool ok) {
    // blocking_thread was written before the offloaded call completed.
    return ok && weft::default_pool().running_in_this_thread() && std::this_thread::get_id() != blocking_thread;
  });
  attached.open();
  EXPECT_TRUE(get_within(f));
}

TEST(Offload, ExceptionLandsInTheFuture) {
  weft::blocking_pool pool(1);
  auto f = weft::offload(pool, []() -> int { throw std::ios_base::failure("disk on fire"); });
  EXPECT_THROW(get_within(f), std::ios_base::failure);
}

TEST(Offload, AfterShutdownThrowsExecutorShutdown) {
  weft::blocking_pool pool(1);
  pool.shutdown();
  bool ran = false;
  EXPECT_THROW(weft::offload(pool, [&] { ran = true; }), weft::executor_shutdown);
  EXPECT_THROW(pool.execute([&] { ran = true; }), weft::executor_shutdown);
  EXPECT_FALSE(ran);
}

TEST(BlockingPool, ThrowingPlainTaskIsReported) {
  error_capture errors;
  {
    weft::blocking_pool pool(1);
    pool.execute([] { throw std::runtime_error("blocking task threw"); });
  }  // the destructor drains and joins
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "blocking task threw");
}

TEST(BlockingPool, GrowsToOneThreadPerConcurrentCall) {
  weft::blocking_pool pool(4, std::chrono::seconds(30));
  weft_test::latch all_in(4);
  weft_test::gate release;
  std::vector<weft::future<bool>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(weft::offload(pool, [&] {
      all_in.count_down();
      return release.wait_within();
    }));
  }
  // Four calls in flight at once: only four threads get here.
  ASSERT_TRUE(all_in.wait_within());
  EXPECT_EQ(pool.thread_count(), 4u);
  release.open();
  for (auto& c : calls) EXPECT_TRUE(get_within(c));
}

TEST(BlockingPool, NeverExceedsMaxThreads) {
  weft::blocking_pool pool(2, std::chrono::seconds(30));
  std::atomic<int> current{0}, peak{0};
  weft_test::latch two_in(2);
  weft_test::gate release;
  std::vector<weft::future<void>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(weft::offload(pool, [&] {
      const int now = current.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      two_in.count_down();
      EXPECT_TRUE(release.wait_within());
      current.fetch_sub(1);
    }));
  }
  ASSERT_TRUE(two_in.wait_within());
  EXPECT_EQ(pool.thread_count(), 2u);
  release.open();
  for (auto& c : calls) get_within(c);
  EXPECT_EQ(peak.load(), 2);
  EXPECT_LE(pool.thread_count(), 2u);
}

TEST(BlockingPool, ReusesAnIdleThreadInsteadOfStartingOne) {
  weft::blocking_pool pool(8, std::chrono::seconds(30));
  get_within(weft::offload(pool, [] {}));
  ASSERT_TRUE(wait_until_true([&] { return pool.idle_count() == 1; }));
  for (int i = 0; i < 20; ++i) {
    get_within(weft::offload(pool, [] {}));
    ASSERT_TRUE(wait_until_true([&] { return pool.idle_count() == 1; }));
  }
  EXPECT_EQ(pool.thread_count(), 1u);
}

// Runs `n` calls at once (each waits until all have started) so the pool
// holds `n` threads, then waits until every one of them sleeps.
void warm_up(weft::blocking_pool& pool, int n) {
  weft_test::latch all_in(n);
  std::vector<weft::future<bool>> calls;
  for (int i = 0; i < n; ++i) {
    calls.push_back(weft::offload(pool, [&] {
      all_in.count_down();
      return all_in.wait_within();
    }));
  }
  for (auto& c : calls) ASSERT_TRUE(get_within(c));
  ASSERT_TRUE(wait_until_true([&] { return pool.idle_count() == static_cast<std::size_t>(n); }));
}

// A burst submitted while every thread sleeps: the submitter wakes one
// thread and each woken thread wakes the next, so all of them must end up
// running a call. The calls wait for each other: one thread left asleep
// with a call still queued hangs the test.
TEST(BlockingPool, ABurstOntoSleepingThreadsWakesEveryOneOfThem) {
  constexpr int n = 8;
  // Idle threads never time out here: a thread left asleep must not be
  // rescued by its timeout before the test's bounded waits give up.
  weft::blocking_pool pool(n, std::chrono::hours(1));
  for (int round = 0; round < 20; ++round) {
    ASSERT_NO_FATAL_FAILURE(warm_up(pool, n));
    ASSERT_EQ(pool.thread_count(), static_cast<std::size_t>(n));
  }
  EXPECT_EQ(pool.thread_count(), static_cast<std::size_t>(n));  // woken, not replaced
}

// More calls than sleeping threads: the sleepers are woken and the pool
// still grows for the rest (the calls wait for each other again).
TEST(BlockingPool, ABurstLargerThanTheSleepingThreadsStartsMoreThreads) {
  weft::blocking_pool pool(8, std::chrono::hours(1));
  ASSERT_NO_FATAL_FAILURE(warm_up(pool, 3));
  ASSERT_NO_FATAL_FAILURE(warm_up(pool, 8));
  EXPECT_EQ(pool.thread_count(), 8u);
}

TEST(BlockingPool, ShrinksAfterTheIdleTimeout) {
  weft::blocking_pool pool(4, std::chrono::milliseconds(20));
  weft_test::latch all_in(4);
  weft_test::gate release;
  std::vector<weft::future<bool>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(weft::offload(pool, [&] {
      all_in.count_down();
      return release.wait_within();
    }));
  }
  ASSERT_TRUE(all_in.wait_within());
  EXPECT_EQ(pool.thread_count(), 4u);
  release.open();
  for (auto& c : calls) EXPECT_TRUE(get_within(c));
  EXPECT_TRUE(wait_until_true([&] { return pool.thread_count() == 0; })) << pool.thread_count() << " threads left";
  // And it grows again on demand.
  EXPECT_EQ(get_within(weft::offload(pool, [] { return 5; })), 5);
}

TEST(BlockingPool, ZeroIdleTimeoutStillRunsEveryCall) {
  weft::blocking_pool pool(2, std::chrono::milliseconds(-5));  // negative: treated as zero
  std::vector<weft::future<int>> calls;
  for (int i = 0; i < 200; ++i) calls.push_back(weft::offload(pool, [i] { return i; }));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(get_within(calls[i]), i);
}

TEST(BlockingPool, ShutdownDrainRunsQueuedCalls) {
  weft::blocking_pool pool(1);
  weft_test::gate release;
  weft_test::latch started(1);
  auto first = weft::offload(pool, [&] {
    started.count_down();
    return release.wait_within();
  });
  ASSERT_TRUE(started.wait_within());
  std::vector<weft::future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(weft::offload(pool, [i] { return i; }));
  weft_test::joining_thread drainer([&] { pool.shutdown(weft::shutdown_mode::drain); });
  release.open();
  drainer.join();
  EXPECT_TRUE(get_within(first));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get_within(queued[i]), i);
  EXPECT_EQ(pool.thread_count(), 0u);
}

TEST(BlockingPool, ShutdownCancelFailsQueuedCallsAndInterruptsRunningOnes) {
  weft::blocking_pool pool(1);
  weft_test::latch started(1);
  auto running = weft::offload(pool, [&] {
    started.count_down();
    boost::this_thread::sleep_for(boost::chrono::seconds(60));  // interruptible
    return 1;
  });
  ASSERT_TRUE(started.wait_within());
  std::vector<weft::future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(weft::offload(pool, [i] { return i; }));
  pool.shutdown(weft::shutdown_mode::cancel);
  ASSERT_TRUE(running.is_ready());
  EXPECT_THROW(running.get(), weft::cancelled_error);
  for (auto& q : queued) {
    ASSERT_TRUE(q.is_ready());
    EXPECT_THROW(q.get(), weft::executor_shutdown);
  }
}

TEST(BlockingPool, CancelWhileCallsAreBeingPickedUpResolvesEveryCall) {
  // shutdown(cancel) races threads that have just taken a call off the
  // queue and are deciding whether to run it (TSan checks that decision).
  for (int round = 0; round < 50; ++round) {
    weft::blocking_pool pool(4, std::chrono::seconds(30));
    std::vector<weft::future<int>> calls;
    for (int i = 0; i < 64; ++i) calls.push_back(weft::offload(pool, [i] { return i; }));
    pool.shutdown(weft::shutdown_mode::cancel);
    for (int i = 0; i < 64; ++i) {
      ASSERT_TRUE(calls[i].is_ready()) << "round " << round;
      try {
        EXPECT_EQ(calls[i].get(), i);
      } catch (const weft::executor_shutdown&) {
      } catch (const weft::cancelled_error&) {
      }
    }
  }
}

TEST(BlockingPool, ShutdownFromOneOfItsOwnThreadsIsALogicError) {
  weft::blocking_pool pool(1);
  auto f = weft::offload(pool, [&pool] {
    try {
      pool.shutdown();
    } catch (const std::logic_error&) {
      return true;
    }
    return false;
  });
  EXPECT_TRUE(get_within(f));
}

// The call's thread cannot join itself: the pool finishes its drain on
// another thread instead of throwing from the destructor (std::terminate).
TEST(BlockingPool, DestroyedFromOneOfItsOwnThreadsDoesNotJoinItself) {
  auto* pool = new weft::blocking_pool(2);
  auto other = weft::offload(*pool, [] { return 1; });
  auto f = weft::offload(*pool, [pool] {
    delete pool;
    return 2;
  });
  EXPECT_EQ(get_within(f), 2);
  EXPECT_EQ(get_within(other), 1);
}

// ---- cancellation tokens --------------------------------------------------------

TEST(OffloadWithToken, CancelledBeforeStartTheCallNeverRunsAndFailsWithCancelled) {
  weft::blocking_pool pool(1);
  weft::cancellation_source src;
  src.cancel();
  std::atomic<bool> ran{false};
  auto f = weft::offload(pool, src.token(), [&] { ran = true; });
  EXPECT_THROW(get_within(f), weft::cancelled_error);
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(pool.thread_count(), 0u);  // refused at submission: no thread started for it
}

TEST(OffloadWithToken, CancelledWhileQueuedTheCallNeverRuns) {
  weft::blocking_pool pool(1);
  weft_test::gate release;
  weft_test::latch started(1);
  auto blocker = weft::offload(pool, [&] {
    started.count_down();
    return release.wait_within();
  });
  ASSERT_TRUE(started.wait_within());
  weft::cancellation_source src;
  std::atomic<bool> ran{false};
  auto f = weft::offload(pool, src.token(), [&] { ran = true; });
  src.cancel();
  release.open();
  EXPECT_THROW(get_within(f), weft::cancelled_error);
  EXPECT_FALSE(ran.load());
  EXPECT_TRUE(get_within(blocker));
}

TEST(OffloadWithToken, CancelledWhileRunningInterruptsASleepAndFailsWithCancelled) {
  weft::blocking_pool pool(1);
  weft::cancellation_source src;
  weft_test::latch started(1);
  std::atomic<bool> finished_sleep{false};
  auto f = weft::offload(pool, src.token(), [&] {
    started.count_down();
    boost::this_thread::sleep_for(boost::chrono::seconds(60));
    finished_sleep = true;
    return 1;
  });
  ASSERT_TRUE(started.wait_within());
  EXPECT_TRUE(src.cancel());
  EXPECT_THROW(get_within(f, 10), weft::cancelled_error);
  EXPECT_FALSE(finished_sleep.load());
}

TEST(OffloadWithToken, CancelledWhileRunningInterruptsABoostConditionWait) {
  weft::blocking_pool pool(1);
  weft::cancellation_source src;
  weft_test::latch waiting(1);
  boost::mutex m;
  boost::condition_variable cv;
  bool never = false;
  auto f = weft::offload(pool, src.token(), [&] {
    boost::unique_lock<boost::mutex> lock(m);
    waiting.count_down();
    while (!never) cv.wait(lock);  // an interruption point
  });
  ASSERT_TRUE(waiting.wait_within());
  src.cancel();
  EXPECT_THROW(get_within(f, 10), weft::cancelled_error);
}

TEST(OffloadWithToken, InterruptionDoesNotLeakIntoTheThreadsNextCall) {
  weft::blocking_pool pool(1, std::chrono::seconds(30));  // one thread serves both calls
  weft::cancellation_source src;
  weft_test::latch started(1);
  auto first = weft::offload(pool, src.token(), [&] {
    started.count_down();
    boost::this_thread::sleep_for(boost::chrono::seconds(60));
  });
  ASSERT_TRUE(started.wait_within());
  src.cancel();
  EXPECT_THROW(get_within(first), weft::cancelled_error);
  auto second = weft::offload(pool, [] {
    boost::this_thread::sleep_for(boost::chrono::milliseconds(1));
    boost::this_thread::interruption_point();
    return 2;
  });
  EXPECT_EQ(get_within(second), 2);
  EXPECT_EQ(pool.thread_count(), 1u);
}

TEST(OffloadWithToken, ACallThatEndedBeforeTheCancelIsNotInterruptedLater) {
  weft::blocking_pool pool(1, std::chrono::seconds(30));
  weft::cancellation_source src;
  // The registration ends when the pool's thread leaves the call, a moment
  // after the call's future is ready: the one thread running a second call
  // shows it has left the first.
  EXPECT_EQ(get_within(weft::offload(pool, src.token(), [] { return 1; })), 1);
  EXPECT_EQ(get_within(weft::offload(pool, [] { return 0; })), 0);
  EXPECT_EQ(src.token().registered_callbacks(), 0u);
  // A cancel right after a call's value is seen may still find the call's
  // registration and interrupt the thread: that interrupt must not reach
  // the thread's next call.
  weft::cancellation_source late;
  EXPECT_EQ(get_within(weft::offload(pool, late.token(), [] { return 1; })), 1);
  late.cancel();
  auto next = weft::offload(pool, [] {
    boost::this_thread::interruption_point();
    return 2;
  });
  EXPECT_EQ(get_within(next), 2);
}

TEST(OffloadWithToken, CancelsOnlyTheCallsBoundToItsSource) {
  weft::blocking_pool pool(2);
  weft::cancellation_source cancelled, other;
  weft_test::latch both_in(2);
  weft_test::gate release;
  auto a = weft::offload(pool, cancelled.token(), [&] {
    both_in.count_down();
    boost::this_thread::sleep_for(boost::chrono::seconds(60));
    return 1;
  });
  auto b = weft::offload(pool, other.token(), [&] {
    both_in.count_down();
    return release.wait_within();
  });
  ASSERT_TRUE(both_in.wait_within());
  cancelled.cancel();
  EXPECT_THROW(get_within(a), weft::cancelled_error);
  EXPECT_FALSE(b.is_ready());
  release.open();
  EXPECT_TRUE(get_within(b));
}

TEST(OffloadWithToken, OneCancelStopsSeveralRunningCalls) {
  weft::blocking_pool pool(3);
  weft::cancellation_source src;
  weft_test::latch all_in(3);
  std::vector<weft::future<void>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(weft::offload(pool, src.token(), [&] {
      all_in.count_down();
      boost::this_thread::sleep_for(boost::chrono::seconds(60));
    }));
  }
  ASSERT_TRUE(all_in.wait_within());
  EXPECT_EQ(src.token().registered_callbacks(), 3u);  // one interrupt per running call
  src.cancel();
  for (auto& c : calls) EXPECT_THROW(get_within(c), weft::cancelled_error);
}

TEST(OffloadWithToken, TheDefaultBlockingPoolTakesATokenToo) {
  weft::cancellation_source src;
  weft_test::latch started(1);
  auto f = weft::offload(src.token(), [&] {
    started.count_down();
    boost::this_thread::sleep_for(boost::chrono::seconds(60));
    return 1;
  });
  ASSERT_TRUE(started.wait_within());
  src.cancel();
  EXPECT_THROW(get_within(f), weft::cancelled_error);
  EXPECT_EQ(get_within(weft::offload(weft::cancellation_token(), [] { return 3; })), 3);
}

TEST(BlockingPoolWithToken, ExecuteCancelledBeforeStartAbandonsTheTaskWithCancelled) {
  weft::blocking_pool pool(1);
  weft::cancellation_source src;
  src.cancel();
  weft::promise<int> p;
  auto f = p.get_future();
  struct task : weft::detail::abandonable_task {
    explicit task(weft::promise<int> q) : p(std::move(q)) {}
    weft::promise<int> p;
    void operator()() { p.set_value(1); }
    void abandon(std::exception_ptr why) noexcept { p.set_exception(std::move(why)); }
  };
  pool.execute(weft::unique_task(task{std::move(p)}), src.token());
  EXPECT_THROW(get_within(f), weft::cancelled_error);
}

TEST(BlockingPoolWithToken, ExecuteInterruptsARunningPlainTaskQuietly) {
  error_capture errors;
  weft::cancellation_source src;
  std::atomic<bool> interrupted{false};
  weft_test::latch started(1);
  {
    weft::blocking_pool pool(1);
    pool.execute(
        [&] {
          started.count_down();
          try {
            boost::this_thread::sleep_for(boost::chrono::seconds(60));
          } catch (const boost::thread_interrupted&) {
            interrupted = true;
            throw;
          }
        },
        src.token());
    ASSERT_TRUE(started.wait_within());
    src.cancel();
  }  // the destructor drains and joins
  EXPECT_TRUE(interrupted.load());
  EXPECT_EQ(errors.count(), 0u);  // an interrupted plain task is not an error
}

// ---- blocking calls never hold up compute work ---------------------------------

class OffloadVsCompute : public ::testing::TestWithParam<std::size_t> {};

TEST_P(OffloadVsCompute, TwoNBlockingCallsInFlightDoNotDelayAComputeTask) {
  const std::size_t n = GetParam();
  weft::thread_pool compute(n);
  weft::blocking_pool blocking(4 * n, std::chrono::seconds(30));
  weft_test::latch all_in(static_cast<std::ptrdiff_t>(2 * n));
  weft_test::gate release;
  std::vector<weft::future<bool>> calls;
  for (std::size_t i = 0; i < 2 * n; ++i) {
    calls.push_back(weft::offload(blocking, [&] {
      all_in.count_down();
      return release.wait_within(30);
    }));
  }
  ASSERT_TRUE(all_in.wait_within());
  auto work = weft::async(compute, [] {
    long sum = 0;
    for (int i = 1; i <= 1000; ++i) sum += i;
    return sum;
  });
  EXPECT_EQ(get_within(work, 5), 500500);
  release.open();
  for (auto& c : calls) EXPECT_TRUE(get_within(c));
}

TEST_P(OffloadVsCompute, PoolTasksWaitingOnOffloadedCallsDoNotBlockTheirWorkers) {
  // 2N pool tasks each offload a blocking call and get() its future: the
  // waiting tasks are suspended, so a compute task still gets a worker.
  const std::size_t n = GetParam();
  weft::thread_pool compute(n);
  weft::blocking_pool blocking(4 * n, std::chrono::seconds(30));
  weft_test::latch all_in(static_cast<std::ptrdiff_t>(2 * n));
  weft_test::gate release;
  std::vector<weft::future<bool>> waiters;
  for (std::size_t i = 0; i < 2 * n; ++i) {
    waiters.push_back(weft::async(compute, [&] {
      return weft::offload(blocking, [&] {
               all_in.count_down();
               return release.wait_within(30);
             })
          .get();
    }));
  }
  ASSERT_TRUE(all_in.wait_within());
  auto work = weft::async(compute, [] { return 7; });
  EXPECT_EQ(get_within(work, 5), 7);
  release.open();
  for (auto& w : waiters) EXPECT_TRUE(get_within(w));
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, OffloadVsCompute, ::testing::Values(1, 2, 4, 8));

}  // namespace
