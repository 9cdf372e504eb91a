// task_group under load: a million tiny children in one group, spawns
// racing a cancel, failures racing spawns, and deadlines racing the
// children's completion, on real threads. Every child is accounted for
// exactly once and every join completes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/task_group.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timer.hpp"

namespace {

using weft_test::get_within;
using weft_test::scaled;

class TaskGroupStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// 1,000,000 children with dropped futures, spawned from a plain thread and
// from inside a pool task (whose wait then helps run them); every tenth
// child spawns a grandchild into the same group while the join waits.
TEST_F(TaskGroupStress, AMillionTinyTasksInOneGroupAllRunOnce) {
  const std::size_t n = scaled(1000000, 20000);
  weft::thread_pool pool(4);
  for (int from_pool = 0; from_pool < 2; ++from_pool) {
    std::atomic<std::size_t> ran{0};
    auto body = [&] {
      weft::task_group g(pool);
      for (std::size_t i = 0; i < n; ++i) {
        if (i % 10 == 0) {
          g.spawn([&] {
            ran.fetch_add(1, std::memory_order_relaxed);
            g.spawn([&] { ran.fetch_add(1, std::memory_order_relaxed); });
          });
        } else {
          g.spawn([&] { ran.fetch_add(1, std::memory_order_relaxed); });
        }
      }
      g.wait();
    };
    if (from_pool != 0) {
      get_within(weft::async(pool, body), 600);
    } else {
      body();
    }
    EXPECT_EQ(ran.load(), n + (n + 9) / 10) << (from_pool ? "spawned from a pool task" : "spawned from a thread");
  }
}

// Spawning threads race a cancel: each spawn either throws cancelled_error
// or returns a future that holds the child's value (it ran) or
// cancelled_error (it never started); the values match the runs, and
// nothing starts after the cancel was seen by a spawn.
TEST_F(TaskGroupStress, AGroupCancelledWhileItSpawns) {
  const std::size_t rounds = scaled(200, 20);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool pool(2);
  std::size_t refused_total = 0, never_started_total = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    const int cancel_after = std::uniform_int_distribution<int>(0, 2000)(rng);
    weft::task_group g(pool);
    std::atomic<int> ran{0};
    std::atomic<int> spawned{0};
    constexpr int spawners = 3;
    std::vector<std::vector<weft::future<int>>> futures(spawners);
    std::vector<int> refused(spawners, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < spawners; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i) {
          try {
            futures[static_cast<std::size_t>(t)].push_back(g.spawn([&ran] { return ran.fetch_add(1) >= 0 ? 1 : 0; }));
            spawned.fetch_add(1);
          } catch (const weft::cancelled_error&) {
            ++refused[static_cast<std::size_t>(t)];
          }
        }
      });
    }
    while (spawned.load() < cancel_after && spawned.load() < spawners * 1000) std::this_thread::yield();
    g.cancel();
    for (auto& t : threads) t.join();
    EXPECT_THROW(g.wait(), weft::cancelled_error);
    int values = 0, never_started = 0;
    for (auto& list : futures) {
      for (auto& f : list) {
        try {
          values += get_within(f);
        } catch (const weft::cancelled_error&) {
          ++never_started;
        }
      }
    }
    EXPECT_EQ(values, ran.load()) << "round " << round;
    EXPECT_EQ(values + never_started, spawned.load()) << "round " << round;
    for (int r : refused) refused_total += static_cast<std::size_t>(r);
    never_started_total += static_cast<std::size_t>(never_started);
  }
  std::printf("[ info     ] %zu spawns refused after the cancel, %zu children never started\n", refused_total,
              never_started_total);
}

// Children fail at random while others are still being spawned: the join
// holds exactly the children that ran and threw, none of the siblings'
// cancellations.
TEST_F(TaskGroupStress, FailuresRacingSpawnsAreEachReportedOnce) {
  const std::size_t rounds = scaled(200, 20);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool pool(2);
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::task_group g(pool);
    std::atomic<int> threw{0};
    const unsigned fail_one_in = std::uniform_int_distribution<unsigned>(50, 500)(rng);
    for (unsigned i = 0; i < 1000; ++i) {
      const bool fail = i % fail_one_in == fail_one_in - 1;
      try {
        g.spawn([&threw, fail] {
          if (fail) {
            threw.fetch_add(1);
            throw std::runtime_error("child failed");
          }
        });
      } catch (const weft::cancelled_error&) {
        break;  // a failure already cancelled the group
      }
    }
    try {
      g.wait();
      EXPECT_EQ(threw.load(), 0) << "round " << round;
    } catch (const weft::exception_group& e) {
      EXPECT_EQ(static_cast<int>(e.size()), threw.load()) << "round " << round << ": " << e.what();
      for (const auto& x : e.exceptions()) EXPECT_THROW(std::rethrow_exception(x), std::runtime_error);
    }
  }
}

// Groups whose deadline (a few microseconds) races their children on the
// real clock: each join completes, with success or timeout_error only, and
// no deadline timer is left pending.
TEST_F(TaskGroupStress, DeadlinesRacingTheChildrenLeaveOneOutcomeAndNoTimer) {
  const std::size_t rounds = scaled(5000, 500);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> micros(0, 50);
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  std::size_t in_time = 0, late = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::task_group g(pool, std::chrono::microseconds(micros(rng)), svc);
    std::atomic<int> ran{0};
    for (int i = 0; i < 8; ++i) {
      try {
        g.spawn([&ran] { ran.fetch_add(1); });
      } catch (const weft::timeout_error&) {
        break;
      }
    }
    try {
      g.wait();
      ++in_time;
      EXPECT_EQ(ran.load(), 8);
    } catch (const weft::timeout_error&) {
      ++late;
    }
  }
  EXPECT_EQ(in_time + late, rounds);
  EXPECT_EQ(svc.pending(), 0u) << "no deadline timer left behind";
  std::printf("[ info     ] %zu groups in time, %zu timed out\n", in_time, late);
}

}  // namespace
