// Timeouts under races: a completion and a timer due at about the same
// instant, many times over, on real threads. Every race has exactly one
// outcome, and no timer is left behind.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timeout.hpp"

namespace {

using weft_test::get_within;
using weft_test::scaled;

class TimeoutStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// 100,000 timeouts racing their completion (in batches, so many races are
// open at once): each gives one outcome, a time-out cancels exactly its
// work's source, and the service's pending count is back to 0.
TEST_F(TimeoutStress, TimeoutsRacingCompletionsGiveOneOutcomeAndLeaveNoTimer) {
  const std::size_t n = scaled(100000, 2000);
  const std::size_t batch = 500;
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> micros(0, 30);
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  std::size_t in_time = 0, late = 0, cancelled_in_time = 0, late_not_cancelled = 0;
  for (std::size_t done = 0; done < n; done += batch) {
    std::vector<weft::future<boost::optional<int>>> results;
    std::vector<weft::cancellation_source> works(batch);
    results.reserve(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      weft::promise<int> p(pool);
      results.push_back(
          weft::with_timeout(svc, p.get_future(), std::chrono::microseconds(micros(rng)), works[i]));
      weft::async(pool, [q = std::move(p)]() mutable { q.set_value(1); });
    }
    for (std::size_t i = 0; i < batch; ++i) {
      const boost::optional<int> r = get_within(results[i]);
      if (r) {
        ++in_time;
        if (works[i].is_cancelled()) ++cancelled_in_time;
      } else {
        ++late;
        if (!works[i].is_cancelled()) ++late_not_cancelled;
      }
    }
  }
  EXPECT_EQ(in_time + late, (n + batch - 1) / batch * batch);
  EXPECT_EQ(cancelled_in_time, 0u) << "a completion in time never cancels the work";
  EXPECT_EQ(late_not_cancelled, 0u) << "a time-out always cancels the work";
  EXPECT_EQ(svc.pending(), 0u) << "no timer left behind";
  std::printf("[ info     ] %zu in time, %zu timed out\n", in_time, late);
}

}  // namespace
