// Stress: attach/fulfil, wait/fulfil and drop/fulfil races, two threads
// released together by a spin barrier with random small delays.
#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::joining_thread;
using weft_test::scaled;
using weft_test::spin_barrier;
using weft_test::spin_for;

// A value that counts its live instances: a leak or a double destroy shows.
struct tracked {
  static std::atomic<long> live;
  int v;
  explicit tracked(int x) : v(x) { live.fetch_add(1); }
  tracked(const tracked& o) : v(o.v) { live.fetch_add(1); }
  tracked(tracked&& o) noexcept : v(o.v) { live.fetch_add(1); }
  tracked& operator=(const tracked&) = default;
  ~tracked() { live.fetch_sub(1); }
};
std::atomic<long> tracked::live{0};

class RaceStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// Runs `a(i)` on one thread and `b(i)` on another for i in [0, n), each pair
// released together; each side first spins a random 0..max_delay pauses.
template <class A, class B>
void race_pairs(std::size_t n, std::uint32_t seed, unsigned max_delay, A a, B b) {
  spin_barrier start(2);
  std::atomic<bool> stuck{false};
  joining_thread other([&] {
    std::mt19937 rng(seed ^ 0x9e3779b9u);
    std::uniform_int_distribution<unsigned> delay(0, max_delay);
    for (std::size_t i = 0; i < n; ++i) {
      if (!start.arrive_and_wait()) {
        stuck = true;
        return;
      }
      spin_for(delay(rng));
      b(i);
    }
  });
  std::mt19937 rng(seed);
  std::uniform_int_distribution<unsigned> delay(0, max_delay);
  for (std::size_t i = 0; i < n; ++i) {
    if (!start.arrive_and_wait()) {
      stuck = true;
      break;
    }
    spin_for(delay(rng));
    a(i);
  }
  other.join();
  ASSERT_FALSE(stuck.load()) << "a racing thread did not reach the barrier in time";
}

TEST_F(RaceStress, AttachAndFulfilRacesRunEachContinuationOnceWithTheValue) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(2);
  std::vector<weft::promise<int>> ps;
  std::vector<weft::future<int>> fs, gs(n);
  ps.reserve(n);
  fs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Half the continuations run inline (on whichever thread completes the
    // second transition), half on the pool.
    ps.emplace_back(i % 2 == 0 ? static_cast<weft::executor&>(weft::inline_executor()) : pool);
    fs.push_back(ps.back().get_future());
  }
  std::vector<std::atomic<int>> runs(n);
  for (auto& r : runs) r.store(0);
  race_pairs(
      n, seed, 64,
      [&](std::size_t i) {
        gs[i] = std::move(fs[i]).then([&runs, i](int v) {
          runs[i].fetch_add(1, std::memory_order_relaxed);
          return v + 1;
        });
      },
      [&](std::size_t i) { ps[i].set_value(static_cast<int>(i)); });
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(get_within(gs[i]), static_cast<int>(i) + 1) << "i=" << i << " seed=" << seed;
    ASSERT_EQ(runs[i].load(), 1) << "i=" << i << " seed=" << seed;
  }
}

TEST_F(RaceStress, SharedFutureAttachAndFulfilRaces) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(2);
  std::vector<weft::promise<tracked>> ps;
  std::vector<weft::shared_future<tracked>> ss;
  std::vector<weft::future<int>> gs(n);
  ps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ps.emplace_back(pool);
    ss.push_back(ps.back().get_future().share());
  }
  race_pairs(
      n, seed, 64, [&](std::size_t i) { gs[i] = ss[i].then([](tracked t) { return t.v * 2; }); },
      [&](std::size_t i) { ps[i].set_value(tracked(static_cast<int>(i))); });
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(get_within(gs[i]), 2 * static_cast<int>(i)) << "seed=" << seed;
  gs.clear();
  ss.clear();
  ps.clear();
  pool.shutdown();
  EXPECT_EQ(tracked::live.load(), 0);
}

TEST_F(RaceStress, BlockingGetAndFulfilRaces) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  std::vector<weft::promise<int>> ps;
  std::vector<weft::future<int>> fs;
  ps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ps.emplace_back(weft::inline_executor());
    fs.push_back(ps.back().get_future());
  }
  long sum = 0;
  race_pairs(
      n, seed, 2000, [&](std::size_t i) { sum += fs[i].get(); },  // untimed: the per-test watchdog bounds it
      [&](std::size_t i) { ps[i].set_value(1); });
  EXPECT_EQ(sum, static_cast<long>(n));
}

TEST_F(RaceStress, TimedWaitGivingUpAsTheValueArrives) {
  // wait_for with a tiny bound races the fulfil: the waiter either sees the
  // value or detaches cleanly; a stale waiter would be fired on a dead frame.
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  std::vector<weft::promise<int>> ps;
  std::vector<weft::future<int>> fs;
  ps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ps.emplace_back(weft::inline_executor());
    fs.push_back(ps.back().get_future());
  }
  std::mt19937 rng(seed + 1);
  std::vector<int> bound_us(n);
  for (auto& b : bound_us) b = static_cast<int>(rng() % 20);
  std::size_t ready_first = 0;
  race_pairs(
      n, seed, 500,
      [&](std::size_t i) {
        if (fs[i].wait_for(std::chrono::microseconds(bound_us[i])) == std::future_status::ready) ++ready_first;
      },
      [&](std::size_t i) { ps[i].set_value(static_cast<int>(i)); });
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(get_within(fs[i]), static_cast<int>(i));
  std::printf("[ info     ] %zu of %zu timed waits saw the value\n", ready_first, n);
}

TEST_F(RaceStress, DropAndFulfilRacesLeakNothingAndReportEveryErrorOnce) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  weft_test::error_capture errors;
  weft::thread_pool pool(2);
  std::vector<weft::promise<tracked>> ps;
  std::vector<weft::future<tracked>> fs;
  std::vector<bool> fail(n);
  std::mt19937 rng(seed + 2);
  std::size_t expected_reports = 0;
  ps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ps.emplace_back(pool);
    fs.push_back(ps.back().get_future());
    fail[i] = rng() % 3 == 0;
    if (fail[i]) ++expected_reports;
  }
  race_pairs(
      n, seed, 64,
      [&](std::size_t i) {
        if (i % 4 == 0) {
          // Drop a chain instead: the error travels through a continuation.
          auto g = std::move(fs[i]).then([](tracked t) { return t; });
          (void)g;
        } else {
          fs[i] = weft::future<tracked>();
        }
      },
      [&](std::size_t i) {
        if (fail[i]) {
          ps[i].set_exception(std::make_exception_ptr(std::runtime_error("dropped")));
        } else {
          ps[i].set_value(tracked(static_cast<int>(i)));
        }
        ps[i] = weft::promise<tracked>(pool);  // the old state's last release races the drop
      });
  ps.clear();
  pool.shutdown();  // continuations on the pool have finished
  ASSERT_TRUE(errors.wait_for_count(expected_reports, 60));
  EXPECT_EQ(errors.count(), expected_reports) << "seed=" << seed;
  EXPECT_EQ(tracked::live.load(), 0) << "seed=" << seed;
}

TEST_F(RaceStress, BrokenPromiseAndAttachRaces) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(2);
  std::vector<std::unique_ptr<weft::promise<int>>> ps;
  std::vector<weft::future<int>> fs, gs(n);
  ps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ps.push_back(std::make_unique<weft::promise<int>>(pool));
    fs.push_back(ps.back()->get_future());
  }
  race_pairs(
      n, seed, 64,
      [&](std::size_t i) {
        gs[i] = std::move(fs[i]).then_result([](weft::result<int> r) {
          try {
            r.value();
          } catch (const weft::broken_promise&) {
            return 1;
          }
          return 0;
        });
      },
      [&](std::size_t i) { ps[i].reset(); });
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(get_within(gs[i]), 1) << "seed=" << seed;
}

TEST_F(RaceStress, RacingSettersOnOnePromiseHaveOneWinnerAndTheContinuationRunsOnce) {
  // Eight threads race set_value / set_exception on the same promise, round
  // after round: exactly one wins, every other is told already_satisfied,
  // and the continuation runs once with the winner's outcome.
  constexpr int threads = 8;
  const std::size_t rounds = scaled(10000, 500);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(2);
  std::vector<weft::promise<int>> ps;
  std::vector<weft::future<int>> gs;
  std::vector<std::atomic<int>> runs(rounds), wins(rounds), losses(rounds), winner(rounds);
  ps.reserve(rounds);
  gs.reserve(rounds);
  for (std::size_t i = 0; i < rounds; ++i) {
    runs[i] = 0;
    wins[i] = 0;
    losses[i] = 0;
    winner[i] = -1;
    ps.emplace_back(i % 2 == 0 ? static_cast<weft::executor&>(weft::inline_executor()) : pool);
    std::atomic<int>* r = &runs[i];
    gs.push_back(ps.back().get_future().then_result([r](weft::result<int> v) {
      r->fetch_add(1, std::memory_order_relaxed);
      try {
        return v.value();
      } catch (const std::runtime_error& e) {
        return -1 - std::stoi(e.what());  // the failing thread's number
      }
    }));
  }
  spin_barrier start(threads);
  std::atomic<bool> stuck{false};
  {
    std::vector<joining_thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        std::mt19937 rng(seed + static_cast<std::uint32_t>(t));
        std::uniform_int_distribution<unsigned> delay(0, 32);
        for (std::size_t i = 0; i < rounds; ++i) {
          if (!start.arrive_and_wait()) {
            stuck = true;
            return;
          }
          spin_for(delay(rng));
          try {
            if (t % 2 == 0) {
              ps[i].set_value(t);
            } else {
              ps[i].set_exception(std::make_exception_ptr(std::runtime_error(std::to_string(t))));
            }
            wins[i].fetch_add(1);
            winner[i] = t;
          } catch (const weft::future_error& e) {
            if (e.reason() == weft::future_errc::already_satisfied) losses[i].fetch_add(1);
          }
        }
      });
    }
  }
  ASSERT_FALSE(stuck.load()) << "a racing thread did not reach the barrier in time";
  for (std::size_t i = 0; i < rounds; ++i) {
    ASSERT_EQ(wins[i].load(), 1) << "round " << i << " seed=" << seed;
    ASSERT_EQ(losses[i].load(), threads - 1) << "round " << i << " seed=" << seed;
    const int w = winner[i].load();
    ASSERT_EQ(get_within(gs[i]), w % 2 == 0 ? w : -1 - w) << "round " << i << " seed=" << seed;
    ASSERT_EQ(runs[i].load(), 1) << "round " << i << " seed=" << seed;
  }
}

}  // namespace
