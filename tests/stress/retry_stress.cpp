// retry() under races, on a real pool and the steady clock: many retries at
// once with microsecond backoffs, their functions failing at random (some
// by throwing, some through futures completed on other threads), and
// cancels from other threads racing the backoffs, the calls and the
// completions. Every retry completes exactly once, with an outcome that
// fits what happened; no function is called more often than the policy
// allows, none outlives its retry, and no timer is left behind.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "watchdog.hpp"
#include "witness.hpp"
#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/promise.hpp"
#include "weft/retry.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::scaled;

class RetryStress : public ::testing::Test {
 protected:
  void SetUp() override {
    weft_test::raise_test_budget(900);
    previous_ = weft::set_unhandled_error_handler([this](std::exception_ptr e) {
      if (unhandled_.fetch_add(1) < 5) std::printf("unhandled: %s\n", weft::describe(e).c_str());
    });
  }
  void TearDown() override { weft::set_unhandled_error_handler(previous_); }

  std::atomic<int> unhandled_{0};
  weft::unhandled_error_handler previous_;
};

// What one retry did, seen from its function and its continuation.
struct probe {
  std::atomic<int> calls{0};
  std::atomic<int> completions{0};
  int max_attempts = 0;
};

// Whether call `n` of retry `i` fails: a hash, so a replay with the same
// seed fails the same calls.
bool fails(std::uint32_t seed, std::size_t i, int n) {
  std::uint64_t z = (static_cast<std::uint64_t>(seed) << 32) ^ (i * 0x9e3779b97f4a7c15ull) ^ static_cast<unsigned>(n);
  z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ull;
  z ^= z >> 29;
  return z % 10 < 7;  // 70% of calls fail
}

TEST_F(RetryStress, ConcurrentRetriesWithRacingCancelsCompleteOnceAndLeaveNothing) {
  const std::size_t n = scaled(100000, 1000);
  const std::size_t batch = 250;
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool pool(2);
  weft::timer_service& svc = weft::timer_service::of(pool);
  auto live = std::make_shared<std::atomic<int>>(0);

  std::size_t values = 0, gave_up = 0, cancelled = 0, total = 0;
  for (std::size_t start = 0; start < n; start += batch) {
    std::vector<std::unique_ptr<probe>> probes;
    std::vector<weft::cancellation_source> sources(batch);
    std::vector<weft::future<void>> seen;
    std::vector<bool> cancel_planned(batch);
    for (std::size_t k = 0; k < batch; ++k) {
      const std::size_t i = start + k;
      probes.emplace_back(new probe);
      probe* pr = probes.back().get();
      weft::retry_policy p;
      p.max_attempts = 1 + static_cast<int>(rng() % 6);
      pr->max_attempts = p.max_attempts;
      p.base_delay = std::chrono::microseconds(rng() % 20);
      p.max_delay = std::chrono::microseconds(50);
      p.jitter = static_cast<weft::retry_jitter>(rng() % 4);
      p.seed = rng() | 1;
      p.token = sources[k].token();
      p.timers = &svc;
      p.ex = &pool;
      const bool through_future = rng() % 2 == 0;
      weft::future<int> f = weft::retry(
          [pr, i, seed, through_future, &pool, w = weft_test::witness(live)]() -> weft::future<int> {
            const int call = pr->calls.fetch_add(1) + 1;
            const bool fail = fails(seed, i, call);
            if (!through_future) {
              if (fail) throw std::runtime_error("503");
              return weft::make_ready_future(call, pool);
            }
            // Completed by another task, maybe on the other worker.
            weft::promise<int> reply(pool);
            weft::future<int> answer = reply.get_future();
            weft::async(pool, [r = std::move(reply), fail, call]() mutable {
              if (fail) {
                r.set_exception(std::make_exception_ptr(std::runtime_error("503")));
              } else {
                r.set_value(call);
              }
            });
            return answer;
          },
          p);
      seen.push_back(std::move(f).then_result(weft::inline_executor(), [pr](weft::result<int> r) {
        pr->completions.fetch_add(1);
        return r.value();  // rethrows: the outcome is checked below
      }).then_result(weft::inline_executor(), [](weft::result<int> r) {
        if (r.has_value()) return;
        std::rethrow_exception(r.error());
      }));
      cancel_planned[k] = rng() % 3 == 0;
    }
    // Cancels from the pool (racing attempts, backoffs and completions) and
    // from this thread.
    for (std::size_t k = 0; k < batch; ++k) {
      if (!cancel_planned[k]) continue;
      if (k % 2 == 0) {
        weft::async(pool, [s = sources[k]]() mutable { s.cancel(); });
      } else {
        sources[k].cancel();
      }
    }
    for (std::size_t k = 0; k < batch; ++k) {
      probe& pr = *probes[k];
      ++total;
      try {
        weft_test::get_within(seen[k]);
        ++values;
      } catch (const weft::retry_error& e) {
        ++gave_up;
        EXPECT_EQ(e.attempts(), pr.max_attempts) << "retry " << start + k;
        EXPECT_EQ(pr.calls.load(), pr.max_attempts) << "retry " << start + k;
      } catch (const weft::cancelled_error&) {
        ++cancelled;
        EXPECT_TRUE(cancel_planned[k]) << "retry " << start + k << " cancelled, but nobody cancelled it";
      } catch (const std::exception& e) {
        ADD_FAILURE() << "retry " << start + k << ": unexpected " << e.what();
      }
      EXPECT_LE(pr.calls.load(), pr.max_attempts) << "retry " << start + k;
      EXPECT_EQ(pr.completions.load(), 1) << "retry " << start + k;
    }
    // Every future is complete, so every retry is over: its function was
    // destroyed and its timer cancelled or fired before it completed.
    ASSERT_EQ(live->load(), 0) << "a retry's function outlived it";
    ASSERT_EQ(svc.pending(), 0u) << "a retry left a timer behind";
  }
  EXPECT_EQ(values + gave_up + cancelled, total);
  EXPECT_EQ(unhandled_.load(), 0) << "an error reached the unhandled-error handler";
  std::printf("[ info     ] %zu retries: %zu values, %zu gave up, %zu cancelled\n", total, values, gave_up,
              cancelled);
}

}  // namespace
