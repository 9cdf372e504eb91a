// Stress: cancellation callbacks registered, destroyed and run while
// another thread cancels; linked children made and dropped while their
// parent is cancelled; blocking calls cancelled at random moments. Pairs
// of threads are released together by a spin barrier with random small
// delays (as race_stress.cpp does).
#include <atomic>
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/chrono.hpp>
#include <boost/thread/thread.hpp>
#include <gtest/gtest.h>

#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/blocking_pool.hpp"
#include "weft/cancellation.hpp"
#include "weft/future.hpp"

namespace {

using weft_test::get_within;
using weft_test::joining_thread;
using weft_test::scaled;
using weft_test::spin_barrier;
using weft_test::spin_for;

class CancellationStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// Runs `a(i)` on this thread and `b(i)` on another for i in [0, n), each
// pair released together; each side first spins a random 0..max_delay
// pauses.
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

// A callback registered before or while cancel() runs runs exactly once:
// by the canceller if it was listed in time, at once by its constructor
// otherwise.
TEST_F(CancellationStress, RegisterVsCancelRunsEachCallbackExactlyOnce) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  for (auto& s : sources) s.reset(new weft::cancellation_source);
  std::vector<std::atomic<int>> runs(n);
  std::atomic<std::size_t> inline_runs{0};
  race_pairs(
      n, seed, 64,
      [&](std::size_t i) {
        const auto me = std::this_thread::get_id();
        weft::cancellation_callback cb(sources[i]->token(), [&, i, me] {
          runs[i].fetch_add(1, std::memory_order_relaxed);
          if (std::this_thread::get_id() == me) inline_runs.fetch_add(1, std::memory_order_relaxed);
        });
        // Hold the registration until the canceller is surely done with it.
        while (!sources[i]->is_cancelled()) std::this_thread::yield();
      },
      [&](std::size_t i) { EXPECT_TRUE(sources[i]->cancel()); });
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += runs[i].load() != 1 ? 1 : 0;
  EXPECT_EQ(bad, 0u) << "callbacks that did not run exactly once";
  std::printf("[ info     ] %zu of %zu callbacks ran at once in their constructor\n", inline_runs.load(), n);
}

// Destroying a callback races cancel(): it runs at most once, and never
// after its destructor has returned.
TEST_F(CancellationStress, DestroyVsCancelNeverRunsACallbackAfterItsDestructorReturned) {
  const std::size_t n = scaled(100000, 2000);
  const std::uint32_t seed = weft_test::test_seed();
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  std::vector<std::unique_ptr<weft::cancellation_callback>> callbacks(n);
  std::vector<std::atomic<int>> runs(n);
  std::vector<std::atomic<int>> runs_at_destroy(n);
  std::vector<std::atomic<bool>> destroyed(n);
  std::atomic<std::size_t> late{0};
  for (std::size_t i = 0; i < n; ++i) {
    sources[i].reset(new weft::cancellation_source);
    callbacks[i].reset(new weft::cancellation_callback(sources[i]->token(), [&, i] {
      spin_for(i % 32);  // a function that takes a little while widens the window
      if (destroyed[i].load()) late.fetch_add(1);
      runs[i].fetch_add(1);
    }));
  }
  race_pairs(
      n, seed, 64,
      [&](std::size_t i) {
        callbacks[i].reset();
        runs_at_destroy[i] = runs[i].load();
        destroyed[i] = true;
      },
      [&](std::size_t i) { sources[i]->cancel(); });
  std::size_t more_than_once = 0, after_destroy = 0, ran = 0;
  for (std::size_t i = 0; i < n; ++i) {
    more_than_once += runs[i].load() > 1 ? 1 : 0;
    after_destroy += runs[i].load() != runs_at_destroy[i].load() ? 1 : 0;
    ran += runs[i].load();
    EXPECT_EQ(sources[i]->token().registered_callbacks(), 0u);
  }
  EXPECT_EQ(more_than_once, 0u);
  EXPECT_EQ(after_destroy, 0u) << "callbacks that ran after their destructor returned";
  EXPECT_EQ(late.load(), 0u);
  std::printf("[ info     ] %zu of %zu callbacks ran before they were destroyed\n", ran, n);
}

// Several threads register and destroy callbacks on one source while one
// thread cancels it: every callback runs at most once, every one still
// alive when cancel() has returned has run exactly once, and nothing is
// left listed.
TEST_F(CancellationStress, ManyThreadsRegisterAndDestroyWhileOneCancels) {
  const std::size_t rounds = scaled(500, 50);
  constexpr int threads = 4;
  constexpr int per_thread = 32;
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::size_t bad = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::cancellation_source src;
    const weft::cancellation_token token = src.token();
    std::vector<std::atomic<int>> runs(threads * per_thread);
    std::atomic<int> not_run{0};
    std::atomic<bool> cancel_returned{false};
    spin_barrier start(threads + 1);
    std::vector<joining_thread> ts;
    const unsigned cancel_delay = rng() % 2048;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        std::vector<std::unique_ptr<weft::cancellation_callback>> kept;
        start.arrive_and_wait();
        for (int k = 0; k < per_thread; ++k) {
          const int id = t * per_thread + k;
          std::unique_ptr<weft::cancellation_callback> cb(
              new weft::cancellation_callback(token, [&runs, id] { runs[id].fetch_add(1); }));
          if (k % 3 == 0) {
            cb.reset();  // destroyed at once: ran at most once
          } else {
            kept.push_back(std::move(cb));
          }
        }
        while (!cancel_returned.load()) std::this_thread::yield();
        // cancel() has returned: every kept callback has run, either by
        // the canceller or at once in its constructor.
        kept.clear();
        for (int k = 0; k < per_thread; ++k) {
          const int id = t * per_thread + k;
          if (k % 3 != 0 && runs[id].load() != 1) not_run.fetch_add(1);
        }
      });
    }
    start.arrive_and_wait();
    spin_for(cancel_delay);
    src.cancel();
    cancel_returned = true;
    ts.clear();
    for (auto& r : runs) bad += r.load() > 1 ? 1 : 0;
    bad += static_cast<std::size_t>(not_run.load());
    bad += token.registered_callbacks();
  }
  EXPECT_EQ(bad, 0u);
}

// Linked children are made, given a callback and dropped on several threads
// while the parent is cancelled: a child alive at the cancel is cancelled
// and its callback runs once; the parent is left with no registration.
TEST_F(CancellationStress, LinkedChildrenComeAndGoWhileTheParentIsCancelled) {
  const std::size_t rounds = scaled(300, 30);
  constexpr int threads = 3;
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  std::size_t bad = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::cancellation_source parent;
    const weft::cancellation_token pt = parent.token();
    std::atomic<std::size_t> failures{0};
    spin_barrier start(threads + 1);
    std::vector<joining_thread> ts;
    const unsigned cancel_delay = rng() % 8192;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        start.arrive_and_wait();
        while (!pt.is_cancelled()) {
          std::atomic<int> runs{0};
          {
            weft::cancellation_source child(pt);
            weft::cancellation_source grandchild(child.token());
            weft::cancellation_callback cb(grandchild.token(), [&] { runs.fetch_add(1); });
            if (pt.is_cancelled() && !grandchild.is_cancelled()) {
              // The parent's cancel may still be running the link: wait for
              // it, bounded, before judging.
              for (int i = 0; i < 1000000 && !grandchild.is_cancelled(); ++i) std::this_thread::yield();
              if (!grandchild.is_cancelled()) failures.fetch_add(1);
            }
          }
          if (runs.load() > 1) failures.fetch_add(1);
        }
        // Made after the cancel: cancelled from the start.
        weft::cancellation_source late(pt);
        if (!late.is_cancelled()) failures.fetch_add(1);
      });
    }
    start.arrive_and_wait();
    spin_for(cancel_delay);
    parent.cancel();
    ts.clear();
    bad += failures.load();
    bad += pt.registered_callbacks();
  }
  EXPECT_EQ(bad, 0u);
}

// Blocking calls cancelled at random moments (queued, starting, running,
// finished): each future resolves, with the value or cancelled_error, and
// an interrupt never leaks into the thread's next call.
TEST_F(CancellationStress, OffloadsCancelledAtRandomMomentsAllResolve) {
  const std::size_t n = scaled(4000, 200);
  const std::uint32_t seed = weft_test::test_seed();
  weft::blocking_pool pool(2, std::chrono::seconds(30));
  std::size_t values = 0, cancelled = 0, leaked = 0;
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  for (auto& s : sources) s.reset(new weft::cancellation_source);
  std::vector<weft::future<int>> calls(n);
  race_pairs(
      n, seed, 512,
      [&](std::size_t i) {
        calls[i] = weft::offload(pool, sources[i]->token(), [i] {
          // An interruption point, then a short interruptible sleep.
          boost::this_thread::interruption_point();
          if (i % 4 == 0) boost::this_thread::sleep_for(boost::chrono::microseconds(50));
          return static_cast<int>(i);
        });
      },
      [&](std::size_t i) { sources[i]->cancel(); });
  for (std::size_t i = 0; i < n; ++i) {
    try {
      EXPECT_EQ(get_within(calls[i]), static_cast<int>(i));
      ++values;
    } catch (const weft::cancelled_error&) {
      ++cancelled;
    }
  }
  // Plain calls on the same threads afterwards see no interrupt.
  std::vector<weft::future<bool>> after;
  for (int i = 0; i < 64; ++i) {
    after.push_back(weft::offload(pool, [] {
      try {
        boost::this_thread::interruption_point();
        return true;
      } catch (const boost::thread_interrupted&) {
        return false;
      }
    }));
  }
  for (auto& f : after) leaked += get_within(f) ? 0 : 1;
  EXPECT_EQ(values + cancelled, n);
  EXPECT_EQ(leaked, 0u);
  std::printf("[ info     ] %zu calls returned, %zu were cancelled\n", values, cancelled);
}

}  // namespace
