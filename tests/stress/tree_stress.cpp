// Stress: random continuation trees (then, share + fan-out, when_all,
// variadic when_all, unwrapping, on_error) over random executors, checked
// against the sum computed while building them.
#include <atomic>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stress.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"
#include "weft/when_all.hpp"

namespace {

using weft_test::get_within;
using weft_test::scaled;

struct planned_error : std::runtime_error {
  explicit planned_error(long v) : std::runtime_error("planned"), value(v) {}
  long value;
};

class tree_builder {
 public:
  tree_builder(std::mt19937& rng, std::vector<weft::executor*> executors, weft::thread_pool& async_pool)
      : rng_(rng), executors_(std::move(executors)), async_pool_(async_pool) {}

  // Extends `f` (whose value will be `expected`) with a random subtree;
  // returns the subtree's final future and the value it must produce.
  std::pair<weft::future<long>, long> grow(weft::future<long> f, long expected, int depth) {
    ++nodes_;
    if (depth == 0) return {std::move(f), expected};
    switch (pick(7)) {
      case 0:
        return {std::move(f), expected};  // a leaf
      case 1: {  // then on a random executor
        const long k = pick(100);
        return grow(std::move(f).then(any_executor(), [k](long v) { return v + k; }), expected + k, depth - 1);
      }
      case 2: {  // share and fan out, then gather with when_all over a range
        weft::shared_future<long> s = std::move(f).share();
        const int fan = 1 + pick(3);
        std::vector<weft::future<long>> kids;
        long sum = 0;
        for (int i = 0; i < fan; ++i) {
          const long k = pick(10);
          auto child = grow(s.then(any_executor(), [k](long v) { return v + k; }), expected + k, depth - 1);
          kids.push_back(std::move(child.first));
          sum += child.second;
        }
        auto gathered = weft::when_all(kids).then(any_executor(), [](std::vector<long> vs) {
          long total = 0;
          for (long v : vs) total += v;
          return total;
        });
        return grow(std::move(gathered), sum, depth - 1);
      }
      case 3: {  // share into two and gather with variadic when_all
        weft::shared_future<long> s = std::move(f).share();
        auto a = grow(s.then(any_executor(), [](long v) { return v; }), expected, depth - 1);
        auto b = grow(s.then(any_executor(), [](long v) { return v + 1; }), expected + 1, depth - 1);
        auto both = weft::when_all(std::move(a.first), std::move(b.first)).then(any_executor(), [](std::tuple<long, long> t) {
          return std::get<0>(t) + std::get<1>(t);
        });
        return grow(std::move(both), a.second + b.second, depth - 1);
      }
      case 4: {  // unwrap a future returned by the continuation
        weft::thread_pool* pool = &async_pool_;
        auto unwrapped = std::move(f).then(any_executor(), [pool](long v) { return weft::async(*pool, [v] { return v * 2; }); });
        return grow(std::move(unwrapped), expected * 2, depth - 1);
      }
      case 5: {  // fail, then recover with on_error
        auto recovered = std::move(f)
                             .then(any_executor(), [](long v) -> long { throw planned_error(v); })
                             .on_error<planned_error>([](planned_error& e) { return e.value + 3; });
        return grow(std::move(recovered), expected + 3, depth - 1);
      }
      default: {  // then_result and finally
        auto through = std::move(f).then_result(any_executor(), [](weft::result<long> r) { return r.value() - 1; }).finally([] {});
        return grow(std::move(through), expected - 1, depth - 1);
      }
    }
  }

  std::size_t nodes() const { return nodes_; }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  weft::executor& any_executor() { return *executors_[rng_() % executors_.size()]; }

  std::mt19937& rng_;
  std::vector<weft::executor*> executors_;
  weft::thread_pool& async_pool_;
  std::size_t nodes_ = 0;
};

class TreeStress : public ::testing::Test {
 protected:
  void SetUp() override { weft_test::raise_test_budget(900); }
};

TEST_F(TreeStress, RandomContinuationTreesComputeTheExpectedSum) {
  const std::size_t trees = scaled(20000, 100);
  const std::uint32_t seed = weft_test::test_seed();
  std::mt19937 rng(seed);
  weft::thread_pool wide(4), narrow(1), async_pool(2);
  std::vector<weft::executor*> executors{&weft::inline_executor(), &wide, &narrow, &weft::default_pool()};
  std::size_t nodes = 0;
  for (std::size_t t = 0; t < trees; ++t) {
    tree_builder builder(rng, executors, async_pool);
    weft::promise<long> root(*executors[rng() % executors.size()]);
    const long start = static_cast<long>(rng() % 1000);
    const bool fulfil_first = rng() % 2 == 0;
    if (fulfil_first) root.set_value(start);
    auto tree = builder.grow(root.get_future(), start, 6);
    if (!fulfil_first) {
      // Fulfil from another thread while the tree may still be settling.
      weft_test::joining_thread setter([&root, start] { root.set_value(start); });
    }
    ASSERT_EQ(get_within(tree.first, 60), tree.second) << "tree " << t << " seed=" << seed;
    nodes += builder.nodes();
  }
  std::printf("[ info     ] %zu trees, %zu nodes\n", trees, nodes);
}

TEST_F(TreeStress, RandomTreesBuiltConcurrentlyFromSeveralThreads) {
  const std::size_t per_thread = scaled(500, 20);
  const std::uint32_t seed = weft_test::test_seed();
  weft::thread_pool wide(4), narrow(1), async_pool(2);
  std::vector<weft::executor*> executors{&weft::inline_executor(), &wide, &narrow};
  std::atomic<int> failures{0};
  {
    std::vector<weft_test::joining_thread> threads;
    for (unsigned th = 0; th < 3; ++th) {
      threads.emplace_back([&, th] {
        std::mt19937 rng(seed + th);
        for (std::size_t t = 0; t < per_thread; ++t) {
          tree_builder builder(rng, executors, async_pool);
          weft::promise<long> root(wide);
          auto tree = builder.grow(root.get_future(), 7, 5);
          root.set_value(7);
          if (get_within(tree.first, 60) != tree.second) failures.fetch_add(1);
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0) << "seed=" << seed;
}

}  // namespace
