// Stress: pools created and destroyed over and over with work in flight;
// every accepted task runs or fails with executor_shutdown, nothing hangs.
#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
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
using weft_test::scaled;

class PoolLifecycleStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// Runs first: oneTBB 2021.8 makes every new arena slower the more arenas
// the process has made before (raw task_arena create/use/destroy goes from
// ~0.12 ms to ~5 ms per cycle over 10,000 cycles, no weft involved), and a
// drain finished on a detached thread pays that twice.
TEST_F(PoolLifecycleStress, PoolsDestroyedFromTheirOwnWorkers) {
  const std::size_t cycles = scaled(500, 20);
  for (std::size_t c = 0; c < cycles; ++c) {
    auto* pool = new weft::thread_pool(1 + c % 3);
    std::atomic<int> ran{0};
    std::vector<weft::future<int>> before;
    for (int i = 0; i < 4; ++i) {
      before.push_back(weft::async(*pool, [&ran, i] {
        ran.fetch_add(1);
        return i;
      }));
    }
    auto destroyer = weft::async(*pool, [pool] { delete pool; });
    ASSERT_TRUE(weft_test::ready_within(destroyer)) << "the destroying task hung; cycle " << c;
    destroyer.get();
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(weft_test::ready_within(before[i])) << "task " << i << " never ran; cycle " << c;
      ASSERT_EQ(before[i].get(), i);
    }
    ASSERT_EQ(ran.load(), 4);
  }
}

TEST_F(PoolLifecycleStress, TenThousandPoolsCreatedAndDestroyedWithTasksInFlight) {
  const std::size_t cycles = scaled(10000, 200);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::size_t ran_total = 0, cancelled_total = 0;
  for (std::size_t c = 0; c < cycles; ++c) {
    const std::size_t size = 1 + rng() % 4;
    const int mode = static_cast<int>(rng() % 3);  // 0: destructor, 1: shutdown(drain), 2: shutdown(cancel)
    const int tasks = static_cast<int>(rng() % 9);
    std::atomic<int> ran{0};
    int bodies = 0;  // task bodies that run unless cancelled
    std::vector<weft::future<int>> fs;
    {
      weft::thread_pool pool(size);
      for (int i = 0; i < tasks; ++i) {
        switch (rng() % 3) {
          case 0:
            pool.execute([&ran] { ran.fetch_add(1); });
            bodies += 1;
            break;
          case 1:
            bodies += 1;
            fs.push_back(weft::async(pool, [&ran, i] {
              ran.fetch_add(1);
              return i;
            }));
            break;
          default:  // a task that continues on the pool
            bodies += 2;
            fs.push_back(weft::async(pool, [&ran, i] {
                           ran.fetch_add(1);
                           return i;
                         }).then([&ran](int v) {
              ran.fetch_add(1);
              return v;
            }));
            break;
        }
      }
      if (mode == 1) pool.shutdown(weft::shutdown_mode::drain);
      if (mode == 2) pool.shutdown(weft::shutdown_mode::cancel);
    }
    // The pool is gone: every future is resolved, none may hang.
    for (auto& f : fs) {
      ASSERT_TRUE(f.is_ready()) << "cycle " << c << " seed=" << seed;
      try {
        f.get();
      } catch (const weft::executor_shutdown&) {
        ASSERT_EQ(mode, 2) << "only cancel may drop work; cycle " << c << " seed=" << seed;
        ++cancelled_total;
      }
    }
    if (mode != 2) {
      ASSERT_EQ(ran.load(), bodies) << "a drained pool skipped work; cycle " << c << " seed=" << seed;
    } else {
      ASSERT_LE(ran.load(), bodies);
    }
    ran_total += static_cast<std::size_t>(ran.load());
  }
  std::printf("[ info     ] %zu cycles, %zu task bodies ran, %zu futures cancelled\n", cycles, ran_total, cancelled_total);
}

// Chains of pool continuations whose links each worker holds as the link
// before ends (see thread_pool.hpp), some longer than a run of held tasks
// (256), ending in a shared future with several continuations; the pool
// is destroyed, drained or cancelled at a random moment. Every future must
// be resolved once the pool is gone, with its value unless cancelled.
TEST_F(PoolLifecycleStress, HeldContinuationChainsUnderShutdownResolveEveryFuture) {
  const std::size_t cycles = scaled(2000, 100);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::size_t cancelled_total = 0;
  for (std::size_t c = 0; c < cycles; ++c) {
    const int mode = static_cast<int>(rng() % 3);  // 0: destructor, 1: shutdown(drain), 2: shutdown(cancel)
    const int chains = 1 + static_cast<int>(rng() % 3);
    std::vector<weft::future<int>> ends;
    std::vector<int> lengths;
    {
      weft::thread_pool pool(1 + rng() % 4);
      for (int k = 0; k < chains; ++k) {
        const int length = 1 + static_cast<int>(rng() % 400);
        const int fan = 1 + static_cast<int>(rng() % 4);
        weft::promise<int> p(pool);
        weft::future<int> f = p.get_future();
        for (int i = 0; i < length; ++i) f = std::move(f).then([](int v) { return v + 1; });
        weft::shared_future<int> shared = std::move(f).share();
        for (int j = 0; j < fan; ++j) {
          ends.push_back(shared.then([j](int v) { return v + j; }));
          lengths.push_back(length + j);
        }
        // Completed by a pool task, so the first link goes to a worker's
        // deque and the links after it are held.
        pool.execute([q = std::make_shared<weft::promise<int>>(std::move(p))] { q->set_value(0); });
      }
      const int spin = static_cast<int>(rng() % 20000);
      for (volatile int i = 0; i < spin; ++i) {
      }
      if (mode == 1) pool.shutdown(weft::shutdown_mode::drain);
      if (mode == 2) pool.shutdown(weft::shutdown_mode::cancel);
    }
    for (std::size_t i = 0; i < ends.size(); ++i) {
      ASSERT_TRUE(ends[i].is_ready()) << "cycle " << c << " seed=" << seed;
      try {
        ASSERT_EQ(ends[i].get(), lengths[i]) << "cycle " << c << " seed=" << seed;
      } catch (const weft::executor_shutdown&) {
        ASSERT_EQ(mode, 2) << "only cancel may drop work; cycle " << c << " seed=" << seed;
        ++cancelled_total;
      } catch (const weft::broken_promise&) {  // the task that completes the chain was dropped
        ASSERT_EQ(mode, 2) << "only cancel may drop work; cycle " << c << " seed=" << seed;
        ++cancelled_total;
      }
    }
  }
  std::printf("[ info     ] %zu cycles, %zu chain ends cancelled\n", cycles, cancelled_total);
}

// DISABLED: fails as of this commit (17-21 s after 12,000 lifecycles, on
// a 2-vCPU VM). After many pools have come and gone, oneTBB 2021.8 takes
// seconds to bring a worker to a new arena: the same loop written with raw
// tbb::task_arena + task_group (no weft) then waited 73 s for the first
// enqueued task. A service that creates pools as it goes would stall like
// this. Kept as the case a fix (reusing arenas across pools, say) must pass.
TEST_F(PoolLifecycleStress, DISABLED_ANewPoolRunsItsFirstTaskPromptlyAfterManyLifecycles) {
  const std::size_t cycles = scaled(12000, 1000);
  for (std::size_t c = 0; c < cycles; ++c) {
    weft::thread_pool pool(1 + c % 4);
    for (int i = 0; i < 4; ++i) pool.execute([] {});
  }
  weft::thread_pool fresh(2);
  auto first = weft::async(fresh, [] { return 1; });
  ASSERT_TRUE(weft_test::ready_within(first, 2)) << "the first task of a new pool waited more than 2 s";
  EXPECT_EQ(first.get(), 1);
}

TEST_F(PoolLifecycleStress, DrainedPoolsRunEveryAcceptedTask) {
  const std::size_t cycles = scaled(2000, 50);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  for (std::size_t c = 0; c < cycles; ++c) {
    std::atomic<int> ran{0};
    const int tasks = 1 + static_cast<int>(rng() % 16);
    {
      weft::thread_pool pool(1 + rng() % 4);
      for (int i = 0; i < tasks; ++i) {
        pool.execute([&pool, &ran] {
          ran.fetch_add(1);
          pool.execute([&ran] { ran.fetch_add(1); });  // submitted during the drain
        });
      }
    }
    ASSERT_EQ(ran.load(), 2 * tasks) << "cycle " << c << " seed=" << seed;
  }
}

TEST_F(PoolLifecycleStress, BlockingPoolsCreatedAndDestroyedWithCallsInFlight) {
  const std::size_t cycles = scaled(2000, 50);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  for (std::size_t c = 0; c < cycles; ++c) {
    std::vector<weft::future<int>> fs;
    const bool cancel = rng() % 2 == 0;
    {
      weft::blocking_pool pool(1 + rng() % 4, std::chrono::milliseconds(rng() % 3));
      for (int i = 0; i < static_cast<int>(rng() % 6); ++i) fs.push_back(weft::offload(pool, [i] { return i; }));
      if (cancel) pool.shutdown(weft::shutdown_mode::cancel);
    }
    for (std::size_t i = 0; i < fs.size(); ++i) {
      ASSERT_TRUE(fs[i].is_ready()) << "cycle " << c << " seed=" << seed;
      try {
        ASSERT_EQ(fs[i].get(), static_cast<int>(i));
      } catch (const weft::executor_shutdown&) {
        ASSERT_TRUE(cancel);
      } catch (const weft::cancelled_error&) {
        ASSERT_TRUE(cancel);
      }
    }
  }
}

// Bursts of calls from several threads at once. In half the rounds the
// pool's threads time out and exit within milliseconds, so wake-ups passed
// from thread to thread race timeouts, exits and new threads; in the other
// half they never time out, so a wake-up lost with a call still queued is
// not rescued by a timeout and the submitter's bounded wait fails. Every
// call must run, once, with its own value.
TEST_F(PoolLifecycleStress, BlockingPoolBurstsFromSeveralThreadsRunEveryCall) {
  const std::size_t rounds = scaled(200, 20);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  for (std::size_t r = 0; r < rounds; ++r) {
    const auto idle_timeout =
        r % 2 == 0 ? std::chrono::milliseconds(rng() % 3) : std::chrono::milliseconds(std::chrono::hours(1));
    weft::blocking_pool pool(1 + rng() % 8, idle_timeout);
    std::atomic<unsigned> ran{0}, submitted{0};
    std::vector<weft_test::joining_thread> submitters;
    for (int t = 0; t < 4; ++t) {
      const std::uint32_t sub_seed = rng();
      submitters.emplace_back([&pool, &ran, &submitted, sub_seed] {
        std::mt19937 local(sub_seed);
        for (int burst = 0; burst < 4; ++burst) {
          std::vector<weft::future<unsigned>> fs;
          const unsigned n = 1 + local() % 32;
          submitted.fetch_add(n, std::memory_order_relaxed);
          for (unsigned i = 0; i < n; ++i) {
            const unsigned spin = local() % 2000;
            fs.push_back(weft::offload(pool, [&ran, i, spin] {
              weft_test::spin_for(spin);
              ran.fetch_add(1, std::memory_order_relaxed);
              return i;
            }));
          }
          for (unsigned i = 0; i < n; ++i) {
            // Not get_within(): its exception would end this thread in
            // std::terminate instead of a failure naming the seed.
            if (!weft_test::ready_within(fs[i])) {
              ADD_FAILURE() << "a call never ran";
              return;
            }
            EXPECT_EQ(fs[i].get(), i);
          }
          weft_test::spin_for(local() % 20000);  // let some threads go back to sleep or time out
        }
      });
    }
    submitters.clear();  // joins
    ASSERT_EQ(ran.load(), submitted.load()) << "round " << r << " seed=" << seed;
    ASSERT_FALSE(HasFailure()) << "round " << r << " seed=" << seed;
  }
}

// Bursts of calls that each wait until the whole burst runs at once, into
// pools that still hold some threads from the last burst, some asleep,
// some timing out: every call needs a thread of its own, so a sleeping
// thread left unwoken (the wake-up passed from thread to thread got lost)
// fails the burst's bounded wait instead of only costing parallelism.
// Idle threads never time out in half the rounds, so no timeout rescues a
// lost wake-up there.
TEST_F(PoolLifecycleStress, BlockingPoolBurstsOfCallsThatWaitForEachOtherEachGetAThread) {
  const std::size_t rounds = scaled(100, 10);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  for (std::size_t r = 0; r < rounds; ++r) {
    const std::size_t max_threads = 1 + rng() % 8;
    const auto idle_timeout =
        r % 2 == 0 ? std::chrono::milliseconds(rng() % 3) : std::chrono::milliseconds(std::chrono::hours(1));
    weft::blocking_pool pool(max_threads, idle_timeout);
    for (int burst = 0; burst < 8; ++burst) {
      const std::size_t n = 1 + rng() % max_threads;
      weft_test::latch all_running(static_cast<std::ptrdiff_t>(n));
      std::vector<weft::future<bool>> fs;
      for (std::size_t i = 0; i < n; ++i) {
        fs.push_back(weft::offload(pool, [&all_running] { return all_running.arrive_and_wait_within(10.0); }));
      }
      for (auto& f : fs) ASSERT_TRUE(get_within(f)) << "round " << r << " burst " << burst << " seed=" << seed;
      weft_test::spin_for(rng() % 20000);  // let some threads go back to sleep or time out
    }
  }
}

}  // namespace
