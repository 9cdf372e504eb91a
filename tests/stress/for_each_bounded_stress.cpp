// for_each_bounded under load: 100,000 items on a thread pool, 64 in
// flight, calls completing inline and on other workers, random failures.
// The bound holds at every moment, the results come back in input order,
// and once the failure's cancel is visible nothing more is handed to the
// executor.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "stress.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/for_each_bounded.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::scaled;

class ForEachBoundedStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

constexpr std::size_t max_in_flight = 64;

// What one run saw.
struct run_log {
  std::atomic<std::size_t> running{0};
  std::atomic<std::size_t> most{0};
  std::atomic<std::size_t> entered_cancelled{0};  // fn entered with its token cancelled
  std::atomic<int> thrown{0};
  std::atomic<bool> watching{false};
  std::atomic<std::size_t> handed_at_cancel{SIZE_MAX};  // tasks handed to the executor when the cancel ran
  std::unique_ptr<weft::cancellation_callback> watch;   // made by the first call, destroyed by the test

  void enter(const weft::cancellation_token& t, const weft_test::counting_executor& ex) {
    if (t.is_cancelled()) entered_cancelled.fetch_add(1);
    const std::size_t now = running.fetch_add(1) + 1;
    std::size_t seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    if (!watching.exchange(true)) {
      watch.reset(new weft::cancellation_callback(t, [this, &ex] { handed_at_cancel.store(ex.count()); }));
    }
  }
};

// Calls: a quarter complete on another worker, the rest inline with a ready
// future; the items in `bad` throw.
weft::future<std::vector<int>> run(std::size_t n, const std::vector<std::size_t>& bad, run_log& log,
                                   weft_test::counting_executor& ex, weft::thread_pool& pool) {
  std::vector<int> items(n);
  for (std::size_t i = 0; i < n; ++i) items[i] = static_cast<int>(i);
  return weft::for_each_bounded(
      std::move(items), max_in_flight,
      [&log, &ex, &pool, &bad](int item, const weft::cancellation_token& t) {
        log.enter(t, ex);
        const bool fails = std::find(bad.begin(), bad.end(), static_cast<std::size_t>(item)) != bad.end();
        auto finish = [&log, fails, item] {
          log.running.fetch_sub(1);
          if (fails) {
            log.thrown.fetch_add(1);
            throw std::runtime_error("item failed");
          }
          return item;
        };
        if (item % 4 == 0) return weft::async(pool, finish);
        return weft::make_ready_future(finish(), pool);
      },
      weft::cancellation_token(), ex);
}

TEST_F(ForEachBoundedStress, HundredThousandItemsSixtyFourInFlightWithRandomFailures) {
  const std::size_t n = scaled(100000, 5000);
  const std::size_t rounds = scaled(6, 2);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool pool(4);
  for (std::size_t round = 0; round < rounds; ++round) {
    // Round 0 has no failure; the others one to three, between the first tenth and the half.
    std::vector<std::size_t> bad;
    const int failures = round == 0 ? 0 : std::uniform_int_distribution<int>(1, 3)(rng);
    for (int k = 0; k < failures; ++k) bad.push_back(std::uniform_int_distribution<std::size_t>(n / 10, n / 2)(rng));
    weft_test::counting_executor ex(pool);
    run_log log;
    auto f = run(n, bad, log, ex, pool);
    bool grouped = false;
    try {
      const std::vector<int> v = get_within(f, 600);
      ASSERT_EQ(v.size(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], static_cast<int>(i)) << "round " << round;
    } catch (const weft::exception_group& g) {
      grouped = true;
      EXPECT_EQ(g.size(), static_cast<std::size_t>(log.thrown.load())) << "every failure, once";
    }
    EXPECT_EQ(grouped, !bad.empty()) << "round " << round;
    EXPECT_EQ(log.running.load(), 0u) << "every started call finished before the result";
    EXPECT_LE(log.most.load(), max_in_flight) << "round " << round;
    if (bad.empty()) {
      EXPECT_EQ(log.handed_at_cancel.load(), SIZE_MAX) << "nothing cancelled";
    } else {
      const std::size_t at_cancel = log.handed_at_cancel.load();
      ASSERT_NE(at_cancel, SIZE_MAX) << "the failure cancelled the token";
      // Once the cancel is visible, the starter hands nothing more over:
      // what it started just before cannot be more than the bound (without
      // the check, every remaining item would still be handed over).
      const std::size_t after = ex.count() - std::min(at_cancel, ex.count());
      EXPECT_LE(after, max_in_flight) << "round " << round << ": tasks handed over after the cancel";
      EXPECT_LE(log.entered_cancelled.load(), max_in_flight) << "round " << round;
      EXPECT_LT(ex.count(), n) << "the failure stopped the rest";
    }
    log.watch.reset();
  }
}

}  // namespace
