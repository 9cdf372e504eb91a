// Workload 26: 1,000,000 items through a bounded MPMC queue of 1024, with
// 1 producer and 1 consumer (26a), 2 and 2 (26b), 4 and 4 (26c). One op is
// one item, pushed and popped.
//
// weft: weft::async_queue<std::uint64_t> on weft's pool (opts().threads
// workers). Each producer and each consumer is a loop of continuations:
// it moves items with try_push / try_pop while that succeeds, and only
// when the queue is full (empty) falls back to push() (pop()), a future
// whose continuation resumes the loop. No worker ever blocks. Consumers
// take a fixed share each (no close, like every peer here); their sums
// prove each item arrived once. `weft-future` goes through push() and
// pop() for every item (no try_ fast path), the counterpart of the "asio"
// row. The weft rows are built only where <weft/async_queue.hpp> exists.
//
// Baselines, all on threads (P producer + C consumer threads; asio on an
// io_context run by opts().threads threads): a std::mutex + two
// condition_variables ring buffer in this file (target weft <= 1x at
// every width), moodycamel::BlockingConcurrentQueue bounded by a
// semaphore of 1024 slots (<= 1.2x at every width), oneTBB's
// concurrent_bounded_queue (<= 0.5x at 4/4),
// boost::fibers::buffered_channel used from plain threads, and
// asio::experimental::concurrent_channel (<= 0.3x its "asio" row).
#if __has_include(<weft/async_queue.hpp>)
#include "weft/async_queue.hpp"
#define WEFT_BENCH_HAS_ASYNC_QUEUE 1
#endif

#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "26_async_queue/cases.hpp"
#include "common/pools.hpp"
#include "common/queue_peers.hpp"
#include "harness.hpp"

namespace {

#ifdef WEFT_BENCH_HAS_ASYNC_QUEUE

using weft_queue = weft::async_queue<std::uint64_t>;

// The first failure of any loop (none is expected): it ends that loop,
// counts it as done so the run cannot hang, and is rethrown after it.
struct failure {
  std::mutex mutex;
  std::exception_ptr first;
  void set(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!first) first = std::move(e);
  }
};

struct producer {
  weft_queue* q;
  std::uint64_t next, end;
  bench::done_latch* done;
  failure* failed;
  bool try_first;

  void run() {
    while (try_first && next != end) {
      std::uint64_t v = next;
      if (!q->try_push(std::move(v))) break;
      ++next;
    }
    if (next == end) {
      done->count_down();
      return;
    }
    q->push(next++).then_result([this](weft::result<void> r) {
      if (!r) {
        failed->set(r.error());
        done->count_down();
        return;
      }
      run();
    });
  }
};

struct consumer {
  weft_queue* q;
  std::size_t left;
  std::uint64_t sum;
  bench::done_latch* done;
  failure* failed;
  bool try_first;

  void run() {
    std::uint64_t v = 0;
    while (try_first && left != 0 && q->try_pop(v)) {
      sum += v;
      --left;
    }
    if (left == 0) {
      done->count_down();
      return;
    }
    q->pop().then_result([this](weft::result<std::uint64_t> r) {
      if (!r) {
        failed->set(r.error());
        done->count_down();
        return;
      }
      sum += r.value();
      --left;
      run();
    });
  }
};

void run_weft(bench::state& s, const bench::queue_case& c, bool try_first) {
  const std::size_t items = bench::queue_items(s);
  const std::size_t per_producer = items / static_cast<std::size_t>(c.producers);
  const std::size_t per_consumer = items / static_cast<std::size_t>(c.consumers);
  weft_queue q(bench::queue_capacity, bench::weft_pool());
  bench::done_latch done(c.producers + c.consumers);
  failure failed;
  std::vector<producer> producers;
  std::vector<consumer> consumers;
  for (int p = 0; p < c.producers; ++p) {
    const std::uint64_t first = bench::queue_first_item(c, p, items);
    producers.push_back(producer{&q, first, first + per_producer, &done, &failed, try_first});
  }
  for (int k = 0; k < c.consumers; ++k) consumers.push_back(consumer{&q, per_consumer, 0, &done, &failed, try_first});
  s.start();
  // Each loop starts on the pool, as a service's tasks would.
  for (producer& p : producers) bench::weft_pool().execute([&p] { p.run(); });
  for (consumer& k : consumers) bench::weft_pool().execute([&k] { k.run(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(items));
  if (failed.first) std::rethrow_exception(failed.first);
  std::uint64_t sum = 0;
  for (const consumer& k : consumers) sum += k.sum;
  bench::check_queue_sum(sum, items);
}

#endif  // WEFT_BENCH_HAS_ASYNC_QUEUE

void run_condvar(bench::state& s, const bench::queue_case& c) {
  bench::condvar_ring<std::uint64_t> q(bench::queue_capacity);
  bench::threaded_queue(
      s, c, [&q] { return [&q](std::uint64_t v) { q.push(v); }; }, [&q] { return [&q] { return q.pop(); }; });
}

bool register_all() {
  for (const bench::queue_case& c : bench::queue_cases) {
    const std::string width = std::to_string(c.producers) + "/" + std::to_string(c.consumers);
    std::vector<bench::target> targets = {
        bench::ratio_target("condvar", 1.0, "weft <= 1x the mutex + 2 condvars ring"),
        bench::ratio_target("moodycamel", 1.2, "weft <= 1.2x moodycamel BlockingConcurrentQueue"),
        bench::ratio_target("asio", 0.3, "weft <= 0.3x asio concurrent_channel"),
    };
    if (c.producers == 4) targets.push_back(bench::ratio_target("tbb", 0.5, "weft <= 0.5x tbb::concurrent_bounded_queue"));
    bench::add_workload({c.id, "async_queue of 1024, 1M items, " + width + " producers/consumers",
                         "one item pushed and popped",
                         "mutex + 2 condvars ring; moodycamel BlockingConcurrentQueue + semaphore; "
                         "tbb::concurrent_bounded_queue; boost::fibers::buffered_channel; asio concurrent_channel",
                         targets});
    const bench::queue_case* cp = &c;
#ifdef WEFT_BENCH_HAS_ASYNC_QUEUE
    bench::add_impl(c.id, "weft", [cp](bench::state& s) { run_weft(s, *cp, true); });
    bench::add_impl(c.id, "weft-future", [cp](bench::state& s) { run_weft(s, *cp, false); });
#endif
    bench::add_impl(c.id, "condvar", [cp](bench::state& s) { run_condvar(s, *cp); });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
