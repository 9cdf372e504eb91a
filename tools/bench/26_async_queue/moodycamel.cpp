// Workload 26, peer: moodycamel::BlockingConcurrentQueue (Debian:
// libconcurrentqueue-dev, header-only), which is unbounded, bounded to
// 1024 items by a moodycamel::LightweightSemaphore of free slots: a
// producer waits for a slot, then enqueues; a consumer dequeues (waiting
// on the queue's own semaphore), then signals a slot. Each thread uses its
// producer or consumer token, the queue's fast path. Built only where the
// header is found (meson.build).
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>

#include <cstdint>
#include <utility>

#include "26_async_queue/cases.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s, const bench::queue_case& c) {
  moodycamel::BlockingConcurrentQueue<std::uint64_t> q;
  moodycamel::LightweightSemaphore slots(static_cast<moodycamel::LightweightSemaphore::ssize_t>(bench::queue_capacity));
  bench::threaded_queue(
      s, c,
      [&q, &slots] {
        moodycamel::ProducerToken token(q);
        return [&q, &slots, token = std::move(token)](std::uint64_t v) mutable {
          slots.wait();
          q.enqueue(token, v);
        };
      },
      [&q, &slots] {
        moodycamel::ConsumerToken token(q);
        return [&q, &slots, token = std::move(token)]() mutable {
          std::uint64_t v = 0;
          q.wait_dequeue(token, v);
          slots.signal();
          return v;
        };
      });
}

const bool registered = bench::add_queue_impl("moodycamel", run);

}  // namespace
