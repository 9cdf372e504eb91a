// 06: offload, and cancelling a blocking call. Blocking calls go to the
// blocking pool, never to the compute pool; a stuck one can be cancelled.
//
// asyncio:  value = await loop.run_in_executor(executor, blocking_call, key)
//           task.cancel()
//
// A legacy synchronous client blocks its thread for the whole call. Run on
// the compute pool, such calls take every worker and compute work queues
// behind them (part 1 shows it on purpose). weft::offload(f) runs f on the
// elastic blocking pool (boost::threads, started as needed) and its
// continuations on default_pool(). offload(pool, token, f) binds the call
// to a cancellation_token: cancel() on its source interrupts the running
// call (boost::thread::interrupt) and its future fails with
// cancelled_error; a call whose token was cancelled before it started
// never starts. Interruption reaches only Boost's interruption points;
// example 11 stops a call blocked in read(2), which it cannot reach.
//
// Here the caller decides when to give up by hand. Timeouts that do this
// for you are planned (they need the timer), not built yet.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// How long a trivial compute task waits to start on `pool` right now.
double compute_task_delay(weft::thread_pool& pool) {
  const auto submitted = std::chrono::steady_clock::now();
  return weft::async(pool, [submitted] { return tour::ms_since(submitted); }).get();
}

long planned_total(tour::flaky_service& svc, const std::vector<int>& keys) {
  long total = 0;
  for (int k : keys) total += static_cast<long>(svc.plan_for(k).latency.count());
  return total;
}

std::size_t count_ok(const std::vector<weft::result<int>>& rs) {
  std::size_t n = 0;
  for (const auto& r : rs) n += r.has_value() ? 1 : 0;
  return n;
}

}  // namespace

void tour_06(tour::flaky_service& svc) {
  const std::vector<int> keys = {601, 602, 603, 604, 605, 606, 608, 609};
  weft::thread_pool compute(2);  // a small compute pool, to make the point visible

  // 1. The wrong way: blocking calls on the compute pool.
  long planned = planned_total(svc, keys);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<int>> calls;
  for (int k : keys) calls.push_back(weft::async(compute, [&svc, k] { return svc.fetch_blocking(k); }));
  double delay = compute_task_delay(compute);
  std::vector<weft::result<int>> got = weft::when_all_settled(calls).get();
  tour::say("8 blocking calls (" + std::to_string(planned) + " ms in all) run with async on a 2-worker pool: " +
            tour::ms(tour::ms_since(t0)) + "; a compute task submitted meanwhile waited " + tour::ms(delay));

  // 2. The right way: offload them; the compute pool stays free.
  planned = planned_total(svc, keys);
  svc.reset_blocking_peak();
  t0 = std::chrono::steady_clock::now();
  calls.clear();
  for (int k : keys) calls.push_back(weft::offload([&svc, k] { return svc.fetch_blocking(k); }));
  delay = compute_task_delay(compute);
  got = weft::when_all_settled(calls).get();
  const double offloaded = tour::ms_since(t0);
  tour::say("the same 8 calls (" + std::to_string(planned) + " ms in all) with offload: " + tour::ms(offloaded) +
            ", " + std::to_string(count_ok(got)) + " answered; a compute task submitted meanwhile waited " +
            tour::ms(delay));
  // (How many overlapped depends on timing; more than 2 is what matters.)
  tour::expect(svc.blocking_peak() > 2, "offloaded calls overlap beyond the compute pool's 2 workers");
  tour::say("offloaded, more than 2 blocking calls were in progress at once: the blocking pool grows to meet them");

  // 3. A call that hangs: give up after 20 ms and cancel it.
  weft::cancellation_source cancel;
  t0 = std::chrono::steady_clock::now();
  weft::future<int> stuck =
      weft::offload(weft::default_blocking_pool(), cancel.token(), [&svc] { return svc.fetch_hanging(699); });
  const bool answered = stuck.wait_for(std::chrono::milliseconds(20)) == std::future_status::ready;
  const auto stop_at = std::chrono::steady_clock::now();
  cancel.cancel();
  try {
    stuck.get();
    tour::expect(false, "a cancelled call fails");
  } catch (const weft::cancelled_error& e) {
    tour::say(std::string("a hanging call: no answer after 20 ms, cancel(); it failed ") +
              tour::ms(tour::ms_since(stop_at)) + " later with cancelled_error (" + e.what() + ")");
  }
  tour::expect(!answered, "the hanging call does not answer by itself");
  tour::expect(tour::ms_since(t0) < 1000, "the interrupted call did not wait for its 2 s give-up");

  // 4. A call bound to a token that was already cancelled never starts.
  weft::future<int> never =
      weft::offload(weft::default_blocking_pool(), cancel.token(), [&svc] { return svc.fetch_blocking(698); });
  try {
    never.get();
    tour::expect(false, "a call whose token was cancelled does not run");
  } catch (const weft::cancelled_error&) {
    tour::say("a call offloaded with a cancelled token: cancelled_error, and the service saw " +
              std::to_string(svc.calls_for(698)) + " calls for it");
  }
  tour::expect(svc.calls_for(698) == 0, "the call never started");
}
