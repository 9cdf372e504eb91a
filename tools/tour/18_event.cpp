// 18: an event as a start signal. Workers get ready, then wait for one
// "go"; set() starts them all at once, and a latecomer that waits after
// the signal is not left behind.
//
// asyncio:  go = asyncio.Event()
//           async def worker(i):
//               await go.wait()
//               return await fetch(i)
//           tasks = [asyncio.create_task(worker(i)) for i in range(4)]
//           go.set()
//
// wait() gives a future<void>: a waiting worker is a continuation, not a
// blocked thread. A set() before a wait() is not lost.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

void tour_18(tour::flaky_service& svc) {
  weft::event go;  // continuations on default_pool()
  std::atomic<int> started{0};
  std::vector<weft::future<int>> workers;
  for (int key = 200; key < 204; ++key) {
    workers.push_back(go.wait().then([&svc, &started, key] {
      ++started;
      return svc.fetch(key).then_result([](weft::result<int> r) { return r.has_value() ? r.value() : -1; });
    }));
  }
  tour::expect(started.load() == 0 && go.waiting() == 4, "nobody starts before the signal");
  tour::say("4 workers ready, " + std::to_string(go.waiting()) + " waiting for the signal, " +
            std::to_string(started.load()) + " started");

  const auto t0 = std::chrono::steady_clock::now();
  go.set();
  // A latecomer after the signal: its wait is ready at once.
  weft::future<void> late = go.wait();
  tour::expect(late.is_ready(), "a wait after set() is ready at once");
  std::vector<int> values = weft::when_all(std::move(workers)).get();
  tour::expect(started.load() == 4, "set() started every worker");
  tour::say("go.set(): all " + std::to_string(started.load()) + " started and answered in " +
            tour::ms(tour::ms_since(t0)) + "; a wait() after the signal was ready at once");
  (void)values;
}
