// 19: producer and consumers on a bounded queue, finished by close(). One
// producer queues 12 keys into a queue of 3; two consumers fetch each key
// from the service. When the producer is done it closes the queue: the
// consumers take what is left, then see queue_closed and stop. No
// sentinel, and no thread waits for room or for an item.
//
// asyncio:  queue = asyncio.Queue(maxsize=3)
//           async def producer():
//               for key in keys: await queue.put(key)
//               await queue.put(None)              # a sentinel per consumer
//           async def consumer():
//               while (key := await queue.get()) is not None:
//                   results.append(await fetch(key))
//
// push() and pop() give futures: a producer waiting for room and a consumer
// waiting for an item are continuations, not blocked threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

struct pipeline {
  explicit pipeline(tour::flaky_service& s) : svc(s) {}
  tour::flaky_service& svc;
  weft::async_queue<int> keys{3};  // continuations on default_pool()
  std::atomic<int> waited_for_room{0};
  std::atomic<int> answered{0}, failed{0};
  std::atomic<int> by_consumer[2] = {{0}, {0}};
};

// Pushes keys first..last-1, one after the other, then closes the queue.
weft::future<void> produce(std::shared_ptr<pipeline> p, int key, int last) {
  if (key == last) {
    p->keys.close();  // the end of the stream
    return weft::make_ready_future();
  }
  weft::future<void> pushed = p->keys.push(key);
  if (!pushed.is_ready()) ++p->waited_for_room;
  return pushed.then([p, key, last] { return produce(p, key + 1, last); });
}

// Pops and fetches until the queue is closed and drained.
weft::future<void> consume(std::shared_ptr<pipeline> p, int who) {
  return p->keys.pop().then_result([p, who](weft::result<int> key) -> weft::future<void> {
    if (!key.has_value()) return weft::make_ready_future();  // queue_closed: done
    ++p->by_consumer[who];
    return p->svc.fetch(key.value()).then_result([p, who](weft::result<int> r) {
      ++(r.has_value() ? p->answered : p->failed);
      return consume(p, who);
    });
  });
}

}  // namespace

void tour_19(tour::flaky_service& svc) {
  auto p = std::make_shared<pipeline>(svc);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<void>> work;
  work.push_back(consume(p, 0));
  work.push_back(consume(p, 1));
  work.push_back(produce(p, 300, 312));
  weft::when_all(std::move(work)).get();
  const double took = tour::ms_since(t0);

  int drained = 0;
  tour::expect(!p->keys.try_pop(drained) && p->keys.is_closed(), "closed and drained at the end");
  tour::expect(p->answered.load() + p->failed.load() == 12, "every key was taken exactly once");
  bool closed_seen = false;
  try {
    p->keys.pop().get();
  } catch (const weft::queue_closed&) {
    closed_seen = true;
  }
  tour::expect(closed_seen, "a pop after the end fails with queue_closed");
  tour::say("12 keys through a queue of 3: consumer A took " + std::to_string(p->by_consumer[0].load()) +
            ", consumer B " + std::to_string(p->by_consumer[1].load()) + "; " + std::to_string(p->answered.load()) +
            " answered, " + std::to_string(p->failed.load()) + " failed");
  tour::say("the producer found the queue full " + std::to_string(p->waited_for_room.load()) +
            " times and waited as a continuation; close() ended both consumers, no sentinel");
  tour::say("took " + tour::ms(took) + " with 2 fetches at a time; no thread waited for room or for an item");
}
