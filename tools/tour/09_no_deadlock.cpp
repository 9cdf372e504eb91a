// 09: a blocking get() inside a pool task does not deadlock the pool.
//
// asyncio:  async def parent(): return await child() + 1   # nested awaits
//
// Code moving to weft is full of tasks that call get() on other work
// (legacy helpers that were synchronous yesterday). On an ordinary fixed
// pool that deadlocks as soon as every worker waits for a task queued
// behind it. On a weft pool a get() on a worker runs the awaited task
// right there when it is still queued on the same pool (as oneTBB's
// task_group::wait does); otherwise it suspends the waiting task (oneTBB
// resumable tasks) and the worker runs other tasks meanwhile, so the queued
// work still runs and every wait ends. Continuations (then) are still the
// better style: a suspended task keeps its stack.
#include <chrono>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// Each level starts the next on the same pool and waits for it.
int nested(weft::thread_pool& pool, int depth) {
  if (depth == 0) return 0;
  return weft::async(pool, [&pool, depth] { return nested(pool, depth - 1); }).get() + 1;
}

}  // namespace

void tour_09(tour::flaky_service& svc) {
  // 1. One worker, tasks nested five deep, each waiting on the next.
  {
    weft::thread_pool one(1);
    const auto t0 = std::chrono::steady_clock::now();
    const int depth = weft::async(one, [&one] { return nested(one, 5); }).get();
    tour::say("a 1-worker pool, each task get()s a task it queued behind itself, " + std::to_string(depth) +
              " deep: done in " + tour::ms(tour::ms_since(t0)));
    tour::expect(depth == 5, "five levels");
  }

  // 2. Every worker blocked: 4 consumers occupy a 2-worker pool, each
  //    waiting for a producer that is queued behind all of them.
  {
    weft::thread_pool two(2);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<weft::promise<int>> handoff(4);
    std::vector<weft::future<int>> consumers;
    for (std::size_t i = 0; i < handoff.size(); ++i) {
      consumers.push_back(weft::async(two, [f = handoff[i].get_future()]() mutable { return f.get() * 10; }));
    }
    std::vector<weft::future<void>> producers;
    for (std::size_t i = 0; i < handoff.size(); ++i) {
      producers.push_back(weft::async(two, [&handoff, i] { handoff[i].set_value(static_cast<int>(i) + 1); }));
    }
    const std::vector<int> got = weft::when_all(consumers).get();
    weft::when_all(producers).get();
    std::string values;
    for (int v : got) values += " " + std::to_string(v);
    two.shutdown();  // waits until no task of the pool runs, so the counters are final
    const weft::pool_stats st = two.stats();
    tour::say("a 2-worker pool, 4 tasks blocked in get() on producers queued behind them: values" + values +
              " in " + tour::ms(tour::ms_since(t0)) + " (stats: " + std::to_string(st.submitted) + " submitted, " +
              std::to_string(st.completed) + " completed)");
    tour::expect(got.size() == 4 && got[3] == 40, "every consumer got its value");
    tour::expect(st.submitted == 8 && st.completed == 8, "every task ran");
  }

  // 3. Legacy style: tasks that call the service and block on the reply.
  {
    weft::thread_pool two(2);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<weft::future<int>> tasks;
    for (int k : {902, 903, 907, 908, 909}) {
      tasks.push_back(weft::async(two, [&svc, k] { return svc.fetch(k).get(); }));
    }
    const std::vector<int> got = weft::when_all(tasks).get();
    tour::say("5 tasks on a 2-worker pool that each block on a service reply: " + std::to_string(got.size()) +
              " replies in " + tour::ms(tour::ms_since(t0)) + " (the waits overlapped)");
  }
}
