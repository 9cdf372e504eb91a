// tools/bench/26_async_queue/cases.hpp: the widths of workload 26, its
// sizes, and the driver its thread-based peers share: P producer threads
// and C consumer threads passing 1M items through a queue of 1024.
#ifndef WEFT_BENCH_ASYNC_QUEUE_CASES_HPP
#define WEFT_BENCH_ASYNC_QUEUE_CASES_HPP

#include <cstddef>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace bench {

struct queue_case {
  const char* id;
  int producers;
  int consumers;
};
constexpr queue_case queue_cases[] = {
    {"26a-async-queue-1x1", 1, 1},
    {"26b-async-queue-2x2", 2, 2},
    {"26c-async-queue-4x4", 4, 4},
};

/// Items the queue holds at most.
constexpr std::size_t queue_capacity = 1024;

/// Items passed in all (divisible by every width).
inline std::size_t queue_items(const state& s) { return s.quick() ? 4096 : 1000000; }

/// Producer p sends [p * n / P, (p + 1) * n / P): every value once.
inline std::uint64_t queue_first_item(const queue_case& c, int p, std::size_t items) {
  return static_cast<std::uint64_t>(items / static_cast<std::size_t>(c.producers) * static_cast<std::size_t>(p));
}

/// Registers `fn(state&, const queue_case&)` as implementation `name` of
/// every width; returns true (for a static initialiser).
template <class Fn>
bool add_queue_impl(const char* name, Fn fn) {
  for (const queue_case& c : queue_cases) {
    const queue_case* cp = &c;
    add_impl(c.id, name, [cp, fn](state& s) { fn(s, *cp); });
  }
  return true;
}

/// Throws unless the consumers' sums add up to 0 + 1 + ... + (items - 1):
/// an item lost or received twice fails the run.
inline void check_queue_sum(std::uint64_t sum, std::size_t items) {
  const std::uint64_t n = items;
  if (sum != n * (n - 1) / 2) throw std::runtime_error("workload 26: items lost or received twice");
}

/// The thread-based peers: c.producers threads each send items / P values
/// through the callable that make_producer() gives it (push(v)), and
/// c.consumers threads each receive items / C through make_consumer()'s
/// (v = pop()). Each consumer receives a fixed share, so no end marker or
/// close is needed, for every implementation alike. The threads start and
/// park before the window opens; it closes when all have finished.
template <class MakeProducer, class MakeConsumer>
void threaded_queue(state& s, const queue_case& c, MakeProducer make_producer, MakeConsumer make_consumer) {
  const std::size_t items = queue_items(s);
  const std::size_t per_producer = items / static_cast<std::size_t>(c.producers);
  const std::size_t per_consumer = items / static_cast<std::size_t>(c.consumers);
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(c.consumers));
  std::promise<void> go;
  std::shared_future<void> started = go.get_future().share();
  std::vector<std::thread> threads;
  for (int p = 0; p < c.producers; ++p) {
    const std::uint64_t first = queue_first_item(c, p, items);
    threads.emplace_back([&, first] {
      auto push = make_producer();
      started.wait();
      for (std::uint64_t v = first; v != first + per_producer; ++v) push(v);
    });
  }
  for (int k = 0; k < c.consumers; ++k) {
    threads.emplace_back([&, k] {
      auto pop = make_consumer();
      started.wait();
      std::uint64_t sum = 0;
      for (std::size_t i = 0; i < per_consumer; ++i) sum += pop();
      sums[static_cast<std::size_t>(k)] = sum;
    });
  }
  s.start();
  go.set_value();
  for (std::thread& t : threads) t.join();
  s.stop();
  s.set_ops(static_cast<double>(items));
  std::uint64_t sum = 0;
  for (std::uint64_t x : sums) sum += x;
  check_queue_sum(sum, items);
}

}  // namespace bench

#endif  // WEFT_BENCH_ASYNC_QUEUE_CASES_HPP
