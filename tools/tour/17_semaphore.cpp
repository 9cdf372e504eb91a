// 17: a semaphore. At most 3 of 10 fetches in flight at once: a connection
// limit that holds no thread while a fetch waits for its turn.
//
// asyncio:  limit = asyncio.Semaphore(3)
//           async def fetch_limited(key):
//               async with limit:
//                   return await fetch(key)
//           results = await asyncio.gather(*(fetch_limited(k) for k in range(10)))
//
// acquire() gives a future<permit>; the permit, moved into the continuation
// that makes the call, goes back when that continuation's work is done,
// and the next waiter (FIFO) starts. A failed call gives its permit back
// too: the permit is a value, not a release() someone must remember.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

void tour_17(tour::flaky_service& svc) {
  weft::semaphore connections(3);  // continuations on default_pool()
  std::atomic<int> in_flight{0}, peak{0};
  const auto t0 = std::chrono::steady_clock::now();
  long planned_ms = 0;

  std::vector<weft::future<int>> results;
  for (int key = 100; key < 110; ++key) {
    planned_ms += static_cast<long>(svc.plan_for(key).latency.count());
    results.push_back(connections.acquire().then([&svc, &in_flight, &peak, key](weft::semaphore::permit p) {
      const int now = ++in_flight;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      // The permit rides along with the call and is dropped when its reply
      // (or failure) has been handled.
      return svc.fetch(key).then_result([&in_flight, p = std::move(p)](weft::result<int> r) {
        --in_flight;
        return r.has_value() ? r.value() : -1;  // -1: the call failed
      });
    }));
  }
  std::vector<int> values = weft::when_all(std::move(results)).get();
  const double took = tour::ms_since(t0);

  const int failed = static_cast<int>(std::count(values.begin(), values.end(), -1));
  tour::expect(peak.load() <= 3, "never more than 3 fetches in flight");
  tour::expect(connections.available() == 3, "every permit came back, failures included");
  tour::say("10 fetches through a semaphore of 3: at most " + std::to_string(peak.load()) + " in flight, " +
            std::to_string(10 - failed) + " answered, " + std::to_string(failed) + " failed (their permits came back too)");
  tour::say("took " + tour::ms(took) + " for " + std::to_string(planned_ms) + " ms of calls: about a third, " +
            "as 3 run at once; no thread waited for a permit");
}
