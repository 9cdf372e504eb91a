// async_queue under load: producers and consumers as continuation chains on
// a pool passing a million items through a small queue (each received
// exactly once, each producer's items in its order), the same with plain
// threads blocking in get(), and close() racing pushes and pops (every
// item pushed is popped once or its push failed, and every item is
// destroyed exactly once).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async_queue.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;
using weft_test::joining_thread;
using weft_test::scaled;
using weft_test::spin_for;

class QueueStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

struct item {
  std::uint32_t producer;
  std::uint32_t seq;
};

// What one consumer received, in the order its pops completed.
using received = std::vector<item>;

// Each of `producers` * `each` items received exactly once, and each
// consumer saw every producer's items in increasing order (a consumer's
// pops are one after another, and the queue is FIFO, so a producer's
// order must survive on each consumer).
void check_exactly_once_in_order(const std::vector<received>& by_consumer, std::size_t producers, std::size_t each) {
  std::vector<std::uint8_t> seen(producers * each, 0);
  std::size_t duplicated = 0, out_of_order = 0, total = 0;
  for (const received& r : by_consumer) {
    std::vector<std::int64_t> last(producers, -1);
    for (const item& it : r) {
      ++total;
      std::uint8_t& s = seen[it.producer * each + it.seq];
      if (s++ != 0) ++duplicated;
      if (static_cast<std::int64_t>(it.seq) <= last[it.producer]) ++out_of_order;
      last[it.producer] = it.seq;
    }
  }
  const std::size_t missing = static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 0));
  EXPECT_EQ(total, producers * each);
  EXPECT_EQ(duplicated, 0u) << "items received more than once";
  EXPECT_EQ(missing, 0u) << "items never received";
  EXPECT_EQ(out_of_order, 0u) << "a consumer saw a producer's items out of order";
}

// A producer as a chain: each push's continuation makes the next push.
struct producer {
  weft::async_queue<item>& q;
  std::uint32_t id;
  std::uint32_t next_seq;
  std::uint32_t count;
  weft::promise<void> done;

  void next() {
    if (next_seq == count) {
      done.set_value();
      return;
    }
    q.push(item{id, next_seq++}).then([this] { next(); });
  }
};

// A consumer as a chain: pops until the queue is closed and drained.
struct consumer {
  weft::async_queue<item>& q;
  received got;
  weft::promise<void> done;

  void next() {
    q.pop().then_result([this](weft::result<item> r) {
      if (!r.has_value()) {
        try {
          r.value();
        } catch (const weft::queue_closed&) {
          done.set_value();
          return;
        }
      }
      got.push_back(r.value());
      next();
    });
  }
};

TEST_F(QueueStress, EightProducerAndEightConsumerChainsOnAPoolPassEachItemOnceInOrder) {
  const std::size_t producers = 8, consumers = 8;
  const std::size_t each = scaled(1000000, 16000) / producers;
  weft::thread_pool pool(4);
  std::vector<received> by_consumer;
  {
    weft::async_queue<item> q(64, pool);
    std::vector<std::unique_ptr<producer>> ps;
    std::vector<std::unique_ptr<consumer>> cs;
    std::vector<weft::future<void>> produced, consumed;
    for (std::size_t i = 0; i < producers; ++i) {
      ps.emplace_back(new producer{q, static_cast<std::uint32_t>(i), 0, static_cast<std::uint32_t>(each),
                                   weft::promise<void>(pool)});
      produced.push_back(ps.back()->done.get_future());
    }
    for (std::size_t i = 0; i < consumers; ++i) {
      cs.emplace_back(new consumer{q, received(), weft::promise<void>(pool)});
      consumed.push_back(cs.back()->done.get_future());
    }
    const auto start = std::chrono::steady_clock::now();
    for (auto& c : cs) {
      consumer* p = c.get();
      pool.execute([p] { p->next(); });
    }
    for (auto& pr : ps) {
      producer* p = pr.get();
      pool.execute([p] { p->next(); });
    }
    for (auto& f : produced) get_within(f, 600.0);
    q.close();  // the end of the stream: the consumers drain, then stop
    for (auto& f : consumed) get_within(f, 600.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.waiting_poppers(), 0u);
    EXPECT_EQ(q.waiting_pushers(), 0u);
    for (auto& c : cs) by_consumer.push_back(std::move(c->got));
    std::printf("[ info     ] %zu items through a queue of 64 in %.3f s (%.0f ns per item) on 4 workers\n",
                producers * each, secs, secs * 1e9 / static_cast<double>(producers * each));
  }
  check_exactly_once_in_order(by_consumer, producers, each);
}

TEST_F(QueueStress, ProducerAndConsumerThreadsBlockingInGetPassEachItemOnceInOrder) {
  const std::size_t producers = 4, consumers = 4;
  const std::size_t each = scaled(100000, 4000) / producers;
  weft::thread_pool pool(2);
  weft::async_queue<item> q(16, pool);
  std::vector<received> by_consumer(consumers);
  {
    std::vector<std::unique_ptr<joining_thread>> threads;
    std::atomic<std::size_t> producing{producers};
    for (std::size_t c = 0; c < consumers; ++c) {
      threads.emplace_back(new joining_thread([&, c] {
        for (;;) {
          item it{0, 0};
          // Half of the pops try first: the lock-only path races the others.
          if ((c % 2 == 0) && q.try_pop(it)) {
            by_consumer[c].push_back(it);
            continue;
          }
          try {
            by_consumer[c].push_back(get_within(q.pop(), 120.0));
          } catch (const weft::queue_closed&) {
            return;
          }
        }
      }));
    }
    for (std::size_t p = 0; p < producers; ++p) {
      threads.emplace_back(new joining_thread([&, p] {
        for (std::uint32_t s = 0; s < each; ++s) {
          const item it{static_cast<std::uint32_t>(p), s};
          if ((p % 2 == 0) && q.try_push(it)) continue;
          get_within(q.push(it), 120.0);
        }
        if (producing.fetch_sub(1) == 1) q.close();
      }));
    }
  }
  check_exactly_once_in_order(by_consumer, producers, each);
}

// An item whose destructions are counted per id, so a lost (never
// destroyed) or doubly destroyed item shows.
class counted {
 public:
  counted(std::vector<std::atomic<int>>& destroyed, std::uint32_t producer, std::uint32_t seq, std::uint32_t id)
      : destroyed_(&destroyed), producer_(producer), seq_(seq), id_(id) {}
  counted(counted&& o) noexcept : destroyed_(o.destroyed_), producer_(o.producer_), seq_(o.seq_), id_(o.id_) {
    o.destroyed_ = nullptr;
  }
  counted& operator=(counted&& o) noexcept {
    if (this != &o) {
      drop();
      destroyed_ = o.destroyed_;
      producer_ = o.producer_;
      seq_ = o.seq_;
      id_ = o.id_;
      o.destroyed_ = nullptr;
    }
    return *this;
  }
  ~counted() { drop(); }
  std::uint32_t producer() const { return producer_; }
  std::uint32_t seq() const { return seq_; }
  std::uint32_t id() const { return id_; }

 private:
  void drop() noexcept {
    if (destroyed_ != nullptr) (*destroyed_)[id_].fetch_add(1, std::memory_order_relaxed);
    destroyed_ = nullptr;
  }
  std::vector<std::atomic<int>>* destroyed_;
  std::uint32_t producer_, seq_, id_;
};

// Rounds of two producer threads and two consumer threads on a queue of 2,
// closed by a third thread at a random moment. Producers push until a push
// fails (then every later one must fail too); consumers pop until
// queue_closed. Items whose push succeeded are popped exactly once; those
// whose push failed are never popped; every item is destroyed exactly once.
TEST_F(QueueStress, CloseRacingPushAndPopLosesNothingAndDestroysEachItemOnce) {
  const std::size_t rounds = scaled(2000, 100);
  const std::uint32_t each = 40;
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool pool(2);
  std::size_t pushed_total = 0, refused_total = 0, bad = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    std::vector<std::atomic<int>> destroyed(2 * each);
    for (auto& d : destroyed) d.store(0);
    std::vector<std::uint8_t> push_ok(2 * each, 0);
    std::vector<std::vector<counted>> got(2);
    // close() lands after a random number of pops, then a random few
    // hundred nanoseconds, so it meets pushes and pops at every stage.
    const int close_after = static_cast<int>(rng() % (2 * each));
    const unsigned close_delay = rng() % 256;
    {
      weft::async_queue<counted> q(2, pool);
      weft_test::spin_barrier start(5);
      std::atomic<int> late_success{0};
      std::atomic<int> pops{0};
      {
        joining_thread closer([&] {
          start.arrive_and_wait();
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          while (pops.load(std::memory_order_relaxed) < close_after && std::chrono::steady_clock::now() < give_up) {
            spin_for(16);
          }
          spin_for(close_delay);
          q.close();
        });
        std::vector<std::unique_ptr<joining_thread>> threads;
        for (std::uint32_t p = 0; p < 2; ++p) {
          threads.emplace_back(new joining_thread([&, p] {
            start.arrive_and_wait();
            bool refused = false;
            for (std::uint32_t s = 0; s < each; ++s) {
              const std::uint32_t id = p * each + s;
              try {
                get_within(q.push(counted(destroyed, p, s, id)), 60.0);
                push_ok[id] = 1;
                if (refused) late_success.fetch_add(1);
              } catch (const weft::queue_closed&) {
                refused = true;
              }
            }
          }));
        }
        for (std::uint32_t c = 0; c < 2; ++c) {
          threads.emplace_back(new joining_thread([&, c] {
            start.arrive_and_wait();
            for (;;) {
              try {
                got[c].push_back(get_within(q.pop(), 60.0));
                pops.fetch_add(1, std::memory_order_relaxed);
              } catch (const weft::queue_closed&) {
                return;
              }
            }
          }));
        }
      }
      if (late_success.load() != 0) ++bad;  // a push succeeded after one failed: close() is not final
      if (q.size() != 0 || q.waiting_pushers() != 0 || q.waiting_poppers() != 0) ++bad;
    }
    std::vector<std::uint8_t> popped(2 * each, 0);
    for (const auto& g : got) {
      std::int64_t last[2] = {-1, -1};
      for (const counted& c : g) {
        if (popped[c.id()]++ != 0) ++bad;  // popped twice
        if (static_cast<std::int64_t>(c.seq()) <= last[c.producer()]) ++bad;
        last[c.producer()] = c.seq();
      }
    }
    for (std::size_t id = 0; id < 2 * each; ++id) {
      if (popped[id] != push_ok[id]) ++bad;                 // lost, or popped though its push failed
      if (!push_ok[id] && destroyed[id].load() != 1) ++bad;  // a refused item destroyed once, already
      pushed_total += push_ok[id];
      refused_total += 1 - push_ok[id];
    }
    got.clear();
    for (const auto& d : destroyed) {
      if (d.load() != 1) ++bad;
    }
    if (bad != 0) {
      ADD_FAILURE() << "round " << round << " (seed " << seed << "): " << bad << " broken checks";
      break;
    }
  }
  std::printf("[ info     ] %zu rounds: %zu pushes got in, %zu were refused by close()\n", rounds, pushed_total,
              refused_total);
  EXPECT_GT(pushed_total, 0u);
  EXPECT_GT(refused_total, 0u);
}

}  // namespace
