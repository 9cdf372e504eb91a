// 20: the condition-variable buffer. Three producers fetch from the
// service and put each answer into a buffer that holds at most 2; two
// consumers take them out. A producer that finds the buffer full, or a
// consumer that finds it empty, waits on a condition: a continuation, not
// a blocked thread.
//
// asyncio:  class Buffer:            # asyncio.Condition() inside
//               async def put(self, item):
//                   async with self._condition:
//                       while len(self._items) >= self._max_size:
//                           await self._condition.wait()
//                       self._items.append(item)
//                       self._condition.notify()
//               async def get(self): ...   # the mirror image
//
// weft::bounded_buffer<T> is that class, built on weft::condition and
// weft::async_mutex (see bounded_buffer.hpp: it has one condition per side,
// "not full" and "not empty", because with a single one a notify can reach
// a waiter of the wrong side and leave everyone waiting).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// Fetches keys [key, last) one after the other and puts each answer (-1
// for a failed call) into the buffer as soon as it is in.
weft::future<void> produce(tour::flaky_service& svc, weft::bounded_buffer<int>& buf, std::atomic<std::size_t>& peak,
                           int key, int last) {
  if (key == last) return weft::make_ready_future();
  return svc.fetch(key)
      .then_result([](weft::result<int> r) { return r.has_value() ? r.value() : -1; })
      .then([&svc, &buf, &peak, key, last](int v) {
        return buf.put(v).then([&svc, &buf, &peak, key, last] {
          std::size_t now = buf.size();
          std::size_t seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          return produce(svc, buf, peak, key + 1, last);
        });
      });
}

// Takes `left` items, one after the other, into `out`; handling one takes
// 10 ms (a timer, not a thread), longer than producing one, so the buffer
// fills and producers wait for room.
weft::future<void> consume(weft::bounded_buffer<int>& buf, int left, std::vector<int>& out) {
  if (left == 0) return weft::make_ready_future();
  return buf.get().then([&buf, left, &out](int v) {
    out.push_back(v);
    return weft::sleep_for(std::chrono::milliseconds(10)).then([&buf, left, &out] {
      return consume(buf, left - 1, out);
    });
  });
}

}  // namespace

void tour_20(tour::flaky_service& svc) {
  weft::bounded_buffer<int> buf(2);  // continuations on default_pool()
  std::atomic<std::size_t> peak{0};
  std::vector<int> taken[2];
  long planned_ms = 0;
  for (int key = 300; key < 312; ++key) planned_ms += static_cast<long>(svc.plan_for(key).latency.count());

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<void>> all;
  all.push_back(consume(buf, 6, taken[0]));
  all.push_back(consume(buf, 6, taken[1]));
  for (int p = 0; p < 3; ++p) all.push_back(produce(svc, buf, peak, 300 + 4 * p, 304 + 4 * p));
  weft::when_all(std::move(all)).get();
  const double took = tour::ms_since(t0);

  tour::expect(taken[0].size() == 6 && taken[1].size() == 6, "each consumer took its 6 items");
  tour::expect(peak.load() <= 2 && buf.size() == 0, "the buffer never held more than 2, and ends empty");
  const int failed = static_cast<int>(std::count(taken[0].begin(), taken[0].end(), -1) +
                                      std::count(taken[1].begin(), taken[1].end(), -1));
  tour::say("3 producers x 4 fetches -> bounded_buffer(2) -> 2 consumers: 12 items passed (" +
            std::to_string(failed) + " of them failed calls, passed on as -1), at most " +
            std::to_string(peak.load()) + " held at once");
  tour::say("took " + tour::ms(took) + " for " + std::to_string(planned_ms) +
            " ms of calls and 2 x 6 x 10 ms of handling: producers waited for room, consumers for items, "
            "and none of them held a thread while waiting");
}
