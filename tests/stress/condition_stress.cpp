// condition and bounded_buffer under load on a pool: a thousand waiters
// woken one notify_one at a time (each wakes exactly one), notify_one
// racing cancels from another thread (no notify lost or spent twice), and
// producers and consumers passing items through a bounded_buffer (each
// item taken once, each producer's items in order). The counters the
// waiters change under the lock are plain ints: ThreadSanitizer sees the
// mutex's hand-over as the only ordering they need.
#include <algorithm>
#include <atomic>
#include <chrono>
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
#include "weft/bounded_buffer.hpp"
#include "weft/cancellation.hpp"
#include "weft/condition.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::joining_thread;
using weft_test::scaled;
using weft_test::wait_until_true;
using guard = weft::async_mutex::guard;

class ConditionStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

// Every waiter locks, waits, and once woken counts itself under the lock.
struct waiters {
  weft::async_mutex& m;
  weft::condition& c;
  int woken_under_lock = 0;  // guarded by m
  std::atomic<std::size_t> woken{0};
  std::atomic<std::size_t> cancelled{0};

  weft::future<void> add(const weft::cancellation_token& t) {
    return m.lock()
        .then([this, t](guard g) { return c.wait(std::move(g), t); })
        .then_result([this](weft::result<guard> r) {
          if (r) {
            ++woken_under_lock;  // plain: the guard in r orders it
            woken.fetch_add(1);
          } else {
            cancelled.fetch_add(1);
          }
        });
  }
};

TEST_F(ConditionStress, EachNotifyOneOfAThousandWakesExactlyOneWaiter) {
  const std::size_t n = scaled(1000, 200);
  weft::thread_pool pool(4);
  weft::async_mutex m(pool);
  weft::condition c(m);
  waiters w{m, c};
  std::vector<weft::future<void>> done;
  std::vector<weft::future<void>> theirs;
  {
    // Registered from two threads at once, through the mutex.
    joining_thread other([&] {
      for (std::size_t i = 0; i < n / 2; ++i) theirs.push_back(w.add(weft::cancellation_token()));
    });
    for (std::size_t i = n / 2; i < n; ++i) done.push_back(w.add(weft::cancellation_token()));
  }
  for (auto& f : theirs) done.push_back(std::move(f));
  ASSERT_TRUE(wait_until_true([&] { return c.waiting() == n; }, 60.0)) << c.waiting() << " of " << n << " waiting";
  for (std::size_t i = 1; i <= n; ++i) {
    c.notify_one();
    // The notify took exactly one waiter off the list, at once.
    ASSERT_EQ(c.waiting(), n - i);
    ASSERT_LE(w.woken.load(), i);
    ASSERT_TRUE(wait_until_true([&] { return w.woken.load() >= i; }, 60.0)) << "notify " << i << " woke nobody";
  }
  c.notify_one();  // nobody left: wakes nothing
  for (auto& d : done) get_within(d, 60.0);
  EXPECT_EQ(w.woken.load(), n);
  EXPECT_EQ(w.cancelled.load(), 0u);
  auto g = m.try_lock();
  ASSERT_TRUE(g.owns_lock());
  EXPECT_EQ(static_cast<std::size_t>(w.woken_under_lock), n);
}

TEST_F(ConditionStress, NotifyOneRacingCancelsIsNeitherLostNorSpentTwice) {
  // n waiters, a quarter of them cancelled at random from one thread while
  // another makes 3n/4 notify_one calls: the list never runs dry before
  // the last notify, so each wakes exactly one waiter whatever the cancels
  // do, and a waiter a notify reached is never also cancelled.
  const std::size_t n = scaled(4000, 400);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool pool(4);
  weft::async_mutex m(pool);
  weft::condition c(m);
  waiters w{m, c};
  std::vector<std::unique_ptr<weft::cancellation_source>> sources(n);
  for (auto& s : sources) s.reset(new weft::cancellation_source);
  std::vector<weft::future<void>> done;
  for (std::size_t i = 0; i < n; ++i) done.push_back(w.add(sources[i]->token()));
  ASSERT_TRUE(wait_until_true([&] { return c.waiting() == n; }, 60.0));
  const std::size_t notifies = n - n / 4;
  {
    joining_thread canceller([&] {
      std::mt19937 rng(seed);
      std::vector<std::size_t> order(n);
      for (std::size_t i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t i = 0; i < n / 4; ++i) sources[order[i]]->cancel();
    });
    for (std::size_t i = 0; i < notifies; ++i) c.notify_one();
  }
  const std::size_t left = c.waiting();
  ASSERT_TRUE(wait_until_true([&] { return w.woken.load() + w.cancelled.load() == n - left; }, 60.0));
  EXPECT_EQ(w.woken.load(), notifies) << "seed " << seed;
  EXPECT_EQ(w.cancelled.load(), n - notifies - left) << "seed " << seed;
  c.notify_all();
  for (auto& d : done) get_within(d, 60.0);
  EXPECT_EQ(w.woken.load(), notifies + left);
  auto g = m.try_lock();
  ASSERT_TRUE(g.owns_lock());
  EXPECT_EQ(static_cast<std::size_t>(w.woken_under_lock), notifies + left);
}

// A producer or consumer: one call after the other, each started by the
// last one's continuation (flat, however many items).
struct pump {
  weft::bounded_buffer<std::uint64_t>& b;
  std::uint64_t id;
  std::size_t left;
  std::vector<std::uint64_t> got;  // a consumer's items, in order
  weft::promise<void> done;

  static void produce(const std::shared_ptr<pump>& p) {
    if (p->left == 0) return p->done.set_value();
    const std::uint64_t v = (p->id << 32) | p->left--;
    p->b.put(v).then_result([p](weft::result<void> r) {
      if (!r) return p->done.set_exception(r.error());
      produce(p);
    });
  }
  static void consume(const std::shared_ptr<pump>& p) {
    if (p->left == 0) return p->done.set_value();
    --p->left;
    p->b.get().then_result([p](weft::result<std::uint64_t> r) {
      if (!r) return p->done.set_exception(r.error());
      p->got.push_back(r.value());
      consume(p);
    });
  }
};

TEST_F(ConditionStress, ProducersAndConsumersThroughABoundedBufferOnAPool) {
  const std::size_t per = scaled(25000, 500);
  const std::size_t producers = 4;
  const std::size_t consumers = 4;
  weft::thread_pool pool(4);
  weft::bounded_buffer<std::uint64_t> b(64, pool);
  std::vector<std::shared_ptr<pump>> ps;
  std::vector<std::shared_ptr<pump>> cs;
  std::vector<weft::future<void>> done;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < consumers; ++i) {
    cs.push_back(std::make_shared<pump>(pump{b, i, per * producers / consumers, {}, weft::promise<void>(pool)}));
    done.push_back(cs.back()->done.get_future());
    pump::consume(cs.back());
  }
  for (std::size_t i = 0; i < producers; ++i) {
    ps.push_back(std::make_shared<pump>(pump{b, i + 1, per, {}, weft::promise<void>(pool)}));
    done.push_back(ps.back()->done.get_future());
    pump::produce(ps.back());
  }
  for (auto& d : done) get_within(d, 600.0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("bounded_buffer(64), %zu producers / %zu consumers, %zu items on 4 workers: %.3f s, %.0f ns per item\n",
              producers, consumers, per * producers, secs, secs * 1e9 / static_cast<double>(per * producers));
  std::vector<std::uint64_t> all;
  for (const auto& c : cs) {
    // Each producer counts down; one consumer sees its items in that order.
    std::vector<std::uint64_t> last(producers + 1, ~std::uint64_t(0));
    for (std::uint64_t v : c->got) {
      const std::uint64_t who = v >> 32;
      const std::uint64_t k = v & 0xffffffffu;
      ASSERT_LT(k, last[who]) << "producer " << who << "'s items out of order";
      last[who] = k;
      all.push_back(v);
    }
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), per * producers);
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "an item was taken twice";
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
