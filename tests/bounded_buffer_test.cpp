// bounded_buffer: FIFO order, put() waiting while full and get() while
// empty, move-only items, cancelled and timed-out calls that leave no item
// behind and take none, destruction with waiters, and producers and
// consumers under 1,000 simulated schedules. Producers and consumers on a
// pool are in tests/stress/coord_stress.cpp.
#include "weft/bounded_buffer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "executors.hpp"
#include "outcome.hpp"
#include "weft/cancellation.hpp"
#include "weft/clock.hpp"
#include "weft/errors.hpp"
#include "weft/testing.hpp"
#include "weft/timeout.hpp"
#include "weft/timer.hpp"

namespace {

using weft_test::error_of;
using weft_test::manual_executor;

TEST(BoundedBuffer, ACapacityOfZeroIsRejected) {
  manual_executor ex;
  try {
    weft::bounded_buffer<int> b(0, ex);
    FAIL() << "capacity 0 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::bounded_buffer: capacity must be at least 1");
  }
}

TEST(BoundedBuffer, ItemsComeOutInTheOrderTheyWentIn) {
  manual_executor ex;
  weft::bounded_buffer<int> b(3, ex);
  EXPECT_EQ(b.capacity(), 3u);
  std::vector<weft::future<void>> puts;
  for (int i = 1; i <= 3; ++i) puts.push_back(b.put(i));
  ex.run_all();
  for (auto& p : puts) {
    ASSERT_TRUE(p.is_ready());
    p.get();
  }
  EXPECT_EQ(b.size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    weft::future<int> g = b.get();
    ex.run_all();
    ASSERT_TRUE(g.is_ready());
    EXPECT_EQ(g.get(), i);
  }
  EXPECT_EQ(b.size(), 0u);
}

TEST(BoundedBuffer, PutWaitsWhileTheBufferIsFull) {
  manual_executor ex;
  weft::bounded_buffer<int> b(1, ex);
  weft::future<void> first = b.put(1);
  weft::future<void> second = b.put(2);
  ex.run_all();
  ASSERT_TRUE(first.is_ready());
  EXPECT_FALSE(second.is_ready());
  EXPECT_EQ(b.size(), 1u);
  weft::future<int> g = b.get();
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  EXPECT_EQ(g.get(), 1);
  ASSERT_TRUE(second.is_ready());  // the get made room
  second.get();
  EXPECT_EQ(b.size(), 1u);
}

TEST(BoundedBuffer, GetWaitsWhileTheBufferIsEmpty) {
  manual_executor ex;
  weft::bounded_buffer<std::string> b(2, ex);
  weft::future<std::string> g = b.get();
  ex.run_all();
  EXPECT_FALSE(g.is_ready());
  b.put("hello");
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  EXPECT_EQ(g.get(), "hello");
  EXPECT_EQ(b.size(), 0u);
}

TEST(BoundedBuffer, MoveOnlyItemsPassThrough) {
  manual_executor ex;
  weft::bounded_buffer<std::unique_ptr<int>> b(1, ex);
  weft::future<std::unique_ptr<int>> g = b.get();
  b.put(std::unique_ptr<int>(new int(42)));
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  std::unique_ptr<int> p = g.get();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 42);
}

TEST(BoundedBuffer, ACancelledPutLeavesNoItemBehind) {
  manual_executor ex;
  weft::bounded_buffer<std::shared_ptr<int>> b(1, ex);
  b.put(std::make_shared<int>(1));
  auto item = std::make_shared<int>(2);
  std::weak_ptr<int> watch = item;
  weft::cancellation_source src;
  weft::future<void> cancelled = b.put(std::move(item), src.token());
  ex.run_all();
  EXPECT_FALSE(cancelled.is_ready());
  src.cancel();
  ex.run_all();
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled),
            "weft::condition::wait: cancelled before a notify reached this wait");
  EXPECT_TRUE(watch.expired());  // the item was destroyed, not kept
  weft::future<std::shared_ptr<int>> g = b.get();
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  EXPECT_EQ(*g.get(), 1);
  EXPECT_EQ(b.size(), 0u);
}

TEST(BoundedBuffer, ACancelledGetTakesNoItem) {
  manual_executor ex;
  weft::bounded_buffer<int> b(2, ex);
  weft::cancellation_source src;
  weft::future<int> cancelled = b.get(src.token());
  weft::future<int> next = b.get();
  ex.run_all();
  src.cancel();
  ex.run_all();
  ASSERT_TRUE(cancelled.is_ready());
  EXPECT_EQ(error_of<weft::cancelled_error>(cancelled),
            "weft::condition::wait: cancelled before a notify reached this wait");
  b.put(7);
  ex.run_all();
  ASSERT_TRUE(next.is_ready());
  EXPECT_EQ(next.get(), 7);
}

TEST(BoundedBuffer, ATimedOutGetTakesNoItem) {
  manual_executor ex;
  weft::manual_clock clk;
  weft::timer_service svc{clk, ex};
  weft::bounded_buffer<int> b(1, ex);
  weft::cancellation_source src;
  weft::future<int> f = weft::timeout(svc, b.get(src.token()), std::chrono::milliseconds(20), src);
  ex.run_all();
  clk.advance(std::chrono::milliseconds(20));
  ex.run_all();
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(error_of<weft::timeout_error>(f), "weft::timeout: the deadline passed before the future completed");
  b.put(5);
  weft::future<int> g = b.get();
  ex.run_all();
  ASSERT_TRUE(g.is_ready());
  EXPECT_EQ(g.get(), 5);
}

TEST(BoundedBuffer, DestroyingItFailsItsWaitersAndDestroysItsItems) {
  manual_executor ex;
  auto held = std::make_shared<int>(1);
  auto pending = std::make_shared<int>(2);
  std::weak_ptr<int> held_watch = held;
  std::weak_ptr<int> pending_watch = pending;
  weft::future<void> put;
  weft::future<std::shared_ptr<int>> get;
  {
    weft::bounded_buffer<std::shared_ptr<int>> full(1, ex);
    weft::bounded_buffer<std::shared_ptr<int>> empty(1, ex);
    full.put(std::move(held));
    put = full.put(std::move(pending));
    get = empty.get();
    ex.run_all();
    EXPECT_FALSE(put.is_ready());
    EXPECT_FALSE(get.is_ready());
  }
  ex.run_all();
  ASSERT_TRUE(put.is_ready());
  ASSERT_TRUE(get.is_ready());
  EXPECT_EQ(error_of<weft::executor_shutdown>(put), "weft::condition: destroyed while this wait() was waiting");
  EXPECT_EQ(error_of<weft::executor_shutdown>(get), "weft::condition: destroyed while this wait() was waiting");
  EXPECT_TRUE(held_watch.expired());
  EXPECT_TRUE(pending_watch.expired());
}

// Puts id * 100 + i for i in [i, n), one after the other.
weft::future<void> produce(weft::bounded_buffer<int>& b, int id, int i, int n, weft::executor& ex) {
  if (i == n) return weft::make_ready_future(ex);
  return b.put(id * 100 + i).then([&b, id, i, n, &ex] { return produce(b, id, i + 1, n, ex); });
}
// Gets `left` items into `out`, one after the other.
weft::future<void> consume(weft::bounded_buffer<int>& b, int left, std::vector<int>& out, weft::executor& ex) {
  if (left == 0) return weft::make_ready_future(ex);
  return b.get().then([&b, left, &out, &ex](int v) {
    out.push_back(v);
    return consume(b, left - 1, out, ex);
  });
}

TEST(BoundedBuffer, ProducersAndConsumersAlwaysFinishUnderEverySchedule) {
  // Capacity 1 with two producers and two consumers is where one condition
  // for both sides would let a notify reach the wrong side and strand
  // everyone; with two conditions every schedule finishes, each item is
  // taken once, and each producer's items come out in order.
  weft::testing::for_each_seed(1, 1000, [](weft::testing::simulation& sim) {
    weft::executor& ex = sim.executor();
    weft::bounded_buffer<int> b(1, ex);
    constexpr int per = 4;
    std::vector<int> got[2];
    std::vector<weft::future<void>> all;
    all.push_back(produce(b, 1, 0, per, ex));
    all.push_back(consume(b, per, got[0], ex));
    all.push_back(produce(b, 2, 0, per, ex));
    all.push_back(consume(b, per, got[1], ex));
    for (auto& f : all) sim.run_until_complete(std::move(f));
    std::vector<int> seen;
    for (const auto& g : got) {
      std::map<int, int> in_this{{1, -1}, {2, -1}};
      for (int v : g) {
        // Per producer, one consumer sees increasing numbers.
        if (v % 100 <= in_this[v / 100]) return false;
        in_this[v / 100] = v % 100;
        seen.push_back(v);
      }
    }
    std::sort(seen.begin(), seen.end());
    const std::vector<int> expected{100, 101, 102, 103, 200, 201, 202, 203};
    sim.run();
    return seen == expected && b.size() == 0;
  });
}

}  // namespace
