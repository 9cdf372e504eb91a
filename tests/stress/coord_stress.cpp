// Coordination primitives under load: a semaphore with thousands of
// waiters cancelled at random (never more permits held than it has, every
// waiter that was not cancelled gets through, nothing is lost), a cancel
// racing the release that would grant the same waiter (exactly one wins,
// no permit lost or duplicated), and an async_mutex guarding a plain int
// for many loops of lock-continue-unlock on a pool (ThreadSanitizer sees
// the mutex's hand-over as the only ordering the int needs).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async_mutex.hpp"
#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/semaphore.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::joining_thread;
using weft_test::scaled;
using weft_test::spin_barrier;
using weft_test::spin_for;
using permit = weft::semaphore::permit;

class CoordStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// Waiters for one or two permits queue from two threads while a third
// cancels a random quarter of them; each granted waiter holds its permits
// for a moment in a continuation on the pool.
TEST_F(CoordStress, SemaphoreWithManyWaitersAndRandomCancelsNeverOvercommits) {
  const std::size_t n = scaled(10000, 500);
  const std::ptrdiff_t k = 3;
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(4);
  weft::semaphore s(k, pool);
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  for (auto& src : sources) src.reset(new weft::cancellation_source);
  std::vector<weft::future<void>> done(n);
  std::atomic<std::ptrdiff_t> held{0};
  std::atomic<std::ptrdiff_t> most{0};

  auto producer = [&](std::size_t first) {
    for (std::size_t i = first; i < n; i += 2) {
      const std::ptrdiff_t want = (i % 5 == 0) ? 2 : 1;
      done[i] = s.acquire(want, sources[i]->token()).then([&, want](permit p) {
        EXPECT_EQ(p.count(), want);
        const std::ptrdiff_t now = held.fetch_add(want) + want;
        std::ptrdiff_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        spin_for(512);
        held.fetch_sub(want);  // before the permit goes back, as the continuation ends
      });
    }
  };
  std::vector<char> cancelled(n, 0);
  {
    joining_thread a([&] { producer(0); });
    joining_thread b([&] { producer(1); });
    std::mt19937 rng(seed);
    for (std::size_t i = 0; i < n; ++i) {
      if (rng() % 4 != 0) continue;
      cancelled[i] = 1;
      sources[i]->cancel();  // before, during or after its acquire()
    }
  }
  std::size_t through = 0, called_off = 0, lost = 0;
  for (std::size_t i = 0; i < n; ++i) {
    try {
      get_within(done[i], 60.0);
      ++through;
    } catch (const weft::cancelled_error&) {
      ++called_off;
      if (!cancelled[i]) ++lost;
    }
  }
  EXPECT_EQ(lost, 0u) << "waiters failed with cancelled_error that nobody cancelled";
  EXPECT_EQ(through + called_off, n);
  EXPECT_LE(most.load(), k) << "more permits held at once than the semaphore has";
  EXPECT_EQ(held.load(), 0);
  EXPECT_EQ(s.available(), k);
  EXPECT_EQ(s.waiting(), 0u);
  std::printf("[ info     ] %zu waiters got through, %zu were cancelled first, at most %td permits held\n", through,
              called_off, most.load());
}

// One waiter at a time; one thread releases the permit it waits for while
// the other cancels it. Either the waiter has the permit and the count is
// 0, or the waiter failed and the permit is free: never both, never
// neither. A third of the rounds release first, a third cancel first (so
// both outcomes are checked however the machine schedules the threads),
// and a third race the two calls; there, which side is held back, and by
// how much, follows the outcomes so that the calls keep landing on each
// other.
TEST_F(CoordStress, CancelVsReleaseHandsEachPermitOverExactlyOnce) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  weft::semaphore s(0, weft::inline_executor());
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  for (auto& src : sources) src.reset(new weft::cancellation_source);
  std::vector<weft::future<permit>> waits(n);
  enum : unsigned char { release_first, cancel_first, racing };
  std::vector<unsigned char> mode(n);
  std::mt19937 rng(seed);
  for (auto& m : mode) m = static_cast<unsigned char>(rng() % 3);
  spin_barrier start(2), middle(2), end(2);
  std::atomic<bool> stuck{false};
  std::atomic<int> bias{0};      // > 0 holds the release back, < 0 the cancel
  const int max_bias = 1024;     // pause instructions: bounds a round's time on a loaded machine
  std::size_t granted = 0, raced_granted = 0, raced = 0, bad = 0;
  {
    joining_thread releaser([&] {
      std::mt19937 jitter(seed ^ 0x9e3779b9u);
      for (std::size_t i = 0; i < n; ++i) {
        if (!start.arrive_and_wait()) return stuck.store(true);
        if (mode[i] == cancel_first && !middle.arrive_and_wait()) return stuck.store(true);
        const int b = bias.load(std::memory_order_relaxed);  // the barrier orders it
        if (mode[i] == racing) spin_for(static_cast<unsigned>(std::max(b, 0)) + jitter() % 64);
        s.release(1);
        if (mode[i] != cancel_first && !middle.arrive_and_wait()) return stuck.store(true);
        if (!end.arrive_and_wait()) return stuck.store(true);
      }
    });
    std::mt19937 jitter(seed);
    for (std::size_t i = 0; i < n; ++i) {
      waits[i] = s.acquire(1, sources[i]->token());
      if (!start.arrive_and_wait()) {
        stuck = true;
        break;
      }
      if (mode[i] == release_first && !middle.arrive_and_wait()) {
        stuck = true;
        break;
      }
      const int b = bias.load(std::memory_order_relaxed);
      if (mode[i] == racing) spin_for(static_cast<unsigned>(std::max(-b, 0)) + jitter() % 64);
      sources[i]->cancel();
      if ((mode[i] != release_first && !middle.arrive_and_wait()) || !end.arrive_and_wait()) {
        stuck = true;
        break;
      }
      // Both sides are done: the wait is decided, and it decided alone.
      if (!waits[i].is_ready() || s.waiting() != 0) {
        ++bad;
        break;
      }
      bool won = false;
      try {
        permit p = waits[i].get();
        won = true;
        if (p.count() != 1 || s.available() != 0) ++bad;
        p.forget();  // take the released permit out again
      } catch (const weft::cancelled_error&) {
        if (s.available() != 1) ++bad;
        s.try_acquire().forget();
      }
      if (s.available() != 0) ++bad;
      granted += won ? 1 : 0;
      if (mode[i] == release_first && !won) ++bad;  // granted before the cancel: it keeps the permit
      if (mode[i] == cancel_first && won) ++bad;    // cancelled before the release: it takes nothing
      if (mode[i] == racing) {
        ++raced;
        raced_granted += won ? 1 : 0;
        if (won && b < max_bias) bias.fetch_add(4, std::memory_order_relaxed);
        if (!won && b > -max_bias) bias.fetch_sub(4, std::memory_order_relaxed);
      }
    }
  }
  ASSERT_FALSE(stuck.load()) << "a racing thread did not reach a barrier in time";
  EXPECT_EQ(bad, 0u) << "rounds where a permit was lost or handed out twice";
  std::printf("[ info     ] %zu of %zu waiters got their permit; of %zu raced rounds, %zu went to the release\n",
              granted, n, raced, raced_granted);
}

// One loop of lock, increment, unlock, as continuations on the pool: no
// thread ever waits for the mutex.
struct incrementer {
  weft::async_mutex& m;
  int& counter;
  std::size_t left;
  weft::promise<void> done;

  void next() {
    if (left == 0) {
      done.set_value();
      return;
    }
    --left;
    m.lock().then([this](weft::async_mutex::guard g) {
      ++counter;  // a plain int: only the mutex orders these
      g.unlock();
      next();
    });
  }
};

TEST_F(CoordStress, AsyncMutexGuardsAPlainIntAcrossManyLoopsOnAPool) {
  const std::size_t loops = 64;
  const std::size_t each = scaled(10000, 200);
  weft::thread_pool pool(4);
  int counter = 0;
  {
    weft::async_mutex m(pool);
    std::vector<std::unique_ptr<incrementer>> all;
    std::vector<weft::future<void>> finished;
    for (std::size_t i = 0; i < loops; ++i) {
      all.emplace_back(new incrementer{m, counter, each, weft::promise<void>(pool)});
      finished.push_back(all.back()->done.get_future());
    }
    for (auto& inc : all) {
      incrementer* p = inc.get();
      pool.execute([p] { p->next(); });
    }
    for (auto& f : finished) get_within(f, 300.0);
    EXPECT_FALSE(m.is_locked());
    EXPECT_EQ(m.waiting(), 0u);
  }
  EXPECT_EQ(counter, static_cast<int>(loops * each));
}

}  // namespace
