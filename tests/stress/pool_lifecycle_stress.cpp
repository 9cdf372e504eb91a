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

// Bursts of calls from several threads at once into pools whose threads
// time out and exit within milliseconds: wake-ups passed from thread to
// thread race with timeouts, exits and new threads, and every call must
// still run, once, with its own value.
TEST_F(PoolLifecycleStress, BlockingPoolBurstsFromSeveralThreadsRunEveryCall) {
  const std::size_t rounds = scaled(200, 20);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  for (std::size_t r = 0; r < rounds; ++r) {
    weft::blocking_pool pool(1 + rng() % 8, std::chrono::milliseconds(rng() % 3));
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
          for (unsigned i = 0; i < n; ++i) EXPECT_EQ(get_within(fs[i]), i);
          weft_test::spin_for(local() % 20000);  // let some threads go back to sleep or time out
        }
      });
    }
    submitters.clear();  // joins
    ASSERT_EQ(ran.load(), submitted.load()) << "round " << r << " seed=" << seed;
  }
}

}  // namespace
