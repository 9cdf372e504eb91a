// Stress: a million tasks through a pool, from outside and from workers.
#include <atomic>
#include <cstdio>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "sanitizers.hpp"
#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"
#include "weft/when_all.hpp"

namespace {

using weft_test::get_within;
using weft_test::scaled;

class TasksStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

TEST_P(TasksStress, AMillionFireAndForgetTasksFromOutsideAllRun) {
  const std::size_t n = scaled(1000000, 10000);
  weft::thread_pool pool(GetParam());
  std::atomic<std::size_t> ran{0};
  for (std::size_t i = 0; i < n; ++i) pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  pool.shutdown();
  EXPECT_EQ(ran.load(), n);
  const weft::pool_stats s = pool.stats();
  EXPECT_EQ(s.submitted, n);
  EXPECT_EQ(s.completed, n);
}

TEST_P(TasksStress, AMillionTasksSpawnedFromWorkersAllRun) {
  // A binary fan-out: every task submits two more until n leaves ran.
  const std::size_t n = scaled(1000000, 10000);
  weft::thread_pool pool(GetParam());
  std::atomic<std::size_t> leaves{0};
  struct spawner {
    weft::thread_pool* pool;
    std::atomic<std::size_t>* leaves;
    std::size_t count;
    void operator()() const {
      if (count == 1) {
        leaves->fetch_add(1, std::memory_order_relaxed);
        return;
      }
      pool->execute(spawner{pool, leaves, count / 2});
      pool->execute(spawner{pool, leaves, count - count / 2});
    }
  };
  pool.execute(spawner{&pool, &leaves, n});
  pool.shutdown();
  EXPECT_EQ(leaves.load(), n);
}

TEST_P(TasksStress, AMillionAsyncFuturesAllResolveWithTheirValues) {
  const std::size_t n = scaled(1000000, 10000);
  weft::thread_pool pool(GetParam());
  const std::size_t batch = 50000;
  std::size_t checked = 0;
  for (std::size_t start = 0; start < n; start += batch) {
    const std::size_t end = std::min(n, start + batch);
    std::vector<weft::future<std::size_t>> fs;
    fs.reserve(end - start);
    for (std::size_t i = start; i < end; ++i) fs.push_back(weft::async(pool, [i] { return i * 3; }));
    auto all = get_within(weft::when_all(fs), 120);
    for (std::size_t i = start; i < end; ++i) ASSERT_EQ(all[i - start], i * 3);
    checked += all.size();
  }
  EXPECT_EQ(checked, n);
}

// Parents on every worker spawn a child and get() it after a random delay,
// so the child is sometimes stolen and run by another worker, sometimes
// claimed by its waiting parent, and sometimes both try at once: each child
// must run exactly once and deliver its own value.
TEST_P(TasksStress, ChildrenClaimedByWaitersOrStolenRunOnce) {
  const std::size_t parents = scaled(100000, 2000);
  weft::thread_pool pool(GetParam());
  std::mt19937 seed_source(weft_test::test_seed());
  std::atomic<std::size_t> runs{0};
  std::vector<weft::future<bool>> checks;
  checks.reserve(parents);
  for (std::size_t i = 0; i < parents; ++i) {
    const unsigned delay = seed_source() % 200;
    checks.push_back(weft::async(pool, [&pool, &runs, i, delay] {
      auto child = weft::async(pool, [&runs, i] {
        runs.fetch_add(1, std::memory_order_relaxed);
        return i * 7;
      });
      weft_test::spin_for(delay);
      return child.get() == i * 7;
    }));
  }
  for (auto& c : checks) ASSERT_TRUE(get_within(c, 120));
  pool.shutdown();
  EXPECT_EQ(runs.load(), parents);
  const weft::pool_stats s = pool.stats();
  EXPECT_EQ(s.submitted, 2 * parents);
  EXPECT_EQ(s.completed, 2 * parents);
}

TEST_P(TasksStress, ManyOutsideThreadsAndWorkersSubmitAtOnce) {
  const std::size_t per_thread = scaled(250000, 2500);
  weft::thread_pool pool(GetParam());
  std::atomic<std::size_t> ran{0};
  {
    std::vector<weft_test::joining_thread> submitters;
    for (int t = 0; t < 4; ++t) {
      submitters.emplace_back([&] {
        for (std::size_t i = 0; i < per_thread; ++i) {
          if (i % 2 == 0) {
            pool.execute([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
          } else {
            // One outside task that submits one more from its worker.
            pool.execute([&pool, &ran] { pool.execute([&ran] { ran.fetch_add(2, std::memory_order_relaxed); }); });
          }
        }
      });
    }
  }
  pool.shutdown();
  EXPECT_EQ(ran.load(), 4 * (per_thread / 2 + 2 * (per_thread - per_thread / 2)));
}

TEST_P(TasksStress, OutsideTasksWaitingOnLaterOutsideTasksAllComplete) {
  // Outside threads submit waiters, each blocking in get() on a promise that
  // a producer submitted after it (by the same thread, at a random distance)
  // fulfils: every waiter resigns its inbox drainer so the producers behind
  // it still run, and nothing hangs or is lost.
#ifdef WEFT_TEST_TSAN
  // The TSan build helps instead of suspending, so a worker nests every
  // waiter it runs on its stack; keep that nesting well inside the stack.
  const std::size_t pairs = 64;
#else
  const std::size_t pairs = scaled(4000, 200);
#endif
  constexpr int submitters = 4;
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(GetParam());
  std::vector<std::vector<weft::future<int>>> waited(submitters);
  {
    std::vector<weft_test::joining_thread> threads;
    for (int t = 0; t < submitters; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(seed + static_cast<std::uint32_t>(t));
        std::vector<weft::promise<int>> pending;
        for (std::size_t i = 0; i < pairs; ++i) {
          weft::promise<int> p;
          weft::future<int> in = p.get_future();
          pending.push_back(std::move(p));
          waited[t].push_back(weft::async(pool, [in = std::move(in)]() mutable { return in.get() + 1; }));
          // Fulfil a random number of the pending promises from producers,
          // leaving at most four.
          const std::size_t least = pending.size() > 4 ? pending.size() - 4 : 0;
          const std::size_t k = std::uniform_int_distribution<std::size_t>(least, pending.size())(rng);
          for (std::size_t j = 0; j < k; ++j) {
            pool.execute([p = std::move(pending.back()), v = static_cast<int>(i)]() mutable { p.set_value(v); });
            pending.pop_back();
          }
        }
        for (auto& p : pending) pool.execute([p = std::move(p)]() mutable { p.set_value(0); });
      });
    }
  }
  for (auto& per_thread : waited) {
    for (auto& f : per_thread) EXPECT_GE(get_within(f, 120), 1);
  }
  pool.shutdown();
  EXPECT_EQ(pool.stats().submitted, pool.stats().completed);
}

INSTANTIATE_TEST_SUITE_P(PoolSizes, TasksStress, ::testing::Values(1, 2, 4, 8));

}  // namespace
