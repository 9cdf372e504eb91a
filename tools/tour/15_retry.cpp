// 15: retry with exponential backoff and jitter, on the timer service.
//
// asyncio:  for attempt in range(5):               # or tenacity's @retry
//               try:
//                   return await fetch(key)
//               except ServiceUnavailable:
//                   await asyncio.sleep(min(cap, base * 2 ** attempt) * random.random())
//           raise GaveUp(...)
//
// retry(fn, policy) calls fn (returning T or future<T>) and, after a
// failure the policy retries, waits the next backoff on a timer and calls
// again: no thread sleeps meanwhile, and each attempt is a task of its own.
// The policy says how often (max_attempts), how long (base_delay,
// max_delay, multiplier, jitter, seed), which errors (retry_if; a
// cancelled_error never), and when to stop (token, deadline or
// time_limit). Running out fails with retry_error (the last error nested
// in it); an error retry_if refuses comes out as it is.
#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

using namespace std::chrono_literals;

// What the attempts did, recorded on the pool (start and end of each call)
// and printed afterwards from main's thread.
struct attempt_log {
  std::mutex mutex;
  std::vector<double> started_ms, ended_ms;
  std::vector<std::string> outcomes;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  std::size_t start() {
    std::lock_guard<std::mutex> guard(mutex);
    started_ms.push_back(tour::ms_since(t0));
    ended_ms.push_back(0);
    outcomes.emplace_back();
    return started_ms.size() - 1;
  }
  void end(std::size_t i, const std::string& outcome) {
    std::lock_guard<std::mutex> guard(mutex);
    ended_ms[i] = tour::ms_since(t0);
    outcomes[i] = outcome;
  }
  std::size_t calls() {
    std::lock_guard<std::mutex> guard(mutex);
    return started_ms.size();
  }
  // One line per attempt, with the backoff waited before it (from the end
  // of the previous call to the start of this one).
  void print() {
    std::lock_guard<std::mutex> guard(mutex);
    for (std::size_t i = 0; i < started_ms.size(); ++i) {
      const std::string wait = i == 0 ? "" : ", after a wait of " + tour::ms(started_ms[i] - ended_ms[i - 1]);
      tour::say("  attempt " + std::to_string(i + 1) + " at " + tour::ms(started_ms[i]) + wait + ": " + outcomes[i]);
    }
  }
};

std::string ms_of(weft::clock::duration d) { return tour::ms(std::chrono::duration<double, std::milli>(d).count()); }

bool transient(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const tour::service_unavailable&) {
    return true;
  } catch (...) {
    return false;  // not_found and the rest: another try will not help
  }
}

// A replica that is down: every call fails at once, and is logged.
struct replica_down {
  attempt_log& log;
  int operator()() const {
    const std::size_t i = log.start();
    log.end(i, "service_unavailable");
    throw tour::service_unavailable(7, static_cast<unsigned>(i));
  }
};

}  // namespace

void tour_15(tour::flaky_service& svc) {
  weft::retry_policy policy;
  policy.max_attempts = 5;
  policy.base_delay = 5ms;
  policy.max_delay = 40ms;
  policy.multiplier = 2;
  policy.jitter = weft::retry_jitter::full;
  policy.seed = 15;  // the same delays on every run
  policy.retry_if = transient;

  weft::retry_backoff planned(policy);
  std::string plan;
  for (int i = 0; i < policy.max_attempts - 1; ++i) plan += (i > 0 ? ", " : "") + ms_of(planned.next());
  tour::say("policy: 5 attempts, 5 ms doubling to 40 ms, full jitter, seed 15: waits of " + plan);

  // 1. A key whose next call fails: retried until it answers.
  int key = 600;
  while (svc.plan_for(key).result != tour::call_plan::outcome::unavailable) ++key;
  {
    const std::size_t before = svc.calls_for(key);
    attempt_log log;
    weft::future<int> value = weft::retry(
        [&svc, &log, key] {
          const std::size_t i = log.start();
          return svc.fetch(key).then_result([&log, i](weft::result<int> r) {
            log.end(i, r.has_value() ? "got " + std::to_string(r.value()) : tour::what_failed(r.error()));
            return r.value();
          });
        },
        policy);
    const int v = value.get();
    const std::size_t calls = svc.calls_for(key) - before;
    tour::say("key " + std::to_string(key) + ": " + std::to_string(v) + " after " + std::to_string(calls) +
              " calls, in " + tour::ms(tour::ms_since(log.t0)));
    log.print();
    tour::expect(calls >= 2 && calls == log.calls(), "the first call failed, so there was a retry");
  }

  // 2. not_found is not transient: retry_if says no, and the error comes
  //    out at once, as it is, after one call.
  {
    const std::size_t before = svc.calls_for(1500);
    weft::future<int> missing = weft::retry(
        [&svc] { return svc.fetch(1500); },
        policy);
    try {
      missing.get();
      tour::expect(false, "key 1500 does not exist");
    } catch (const tour::not_found& e) {
      tour::say(std::string("key 1500: not_found (") + e.what() + ") after " +
                std::to_string(svc.calls_for(1500) - before) + " call, not retried");
    }
    tour::expect(svc.calls_for(1500) - before == 1, "a permanent error is not retried");
  }

  // 3. A replica that is down: every attempt fails, and the retry gives up
  //    with retry_error, the last error nested in it.
  {
    attempt_log log;
    weft::future<int> down = weft::retry(replica_down{log}, policy);
    try {
      down.get();
      tour::expect(false, "the replica never answers");
    } catch (const weft::retry_error& e) {
      tour::say(std::string("a replica that is down: retry_error after ") + tour::ms(tour::ms_since(log.t0)) +
                ": " + e.what());
      log.print();
      tour::expect(e.attempts() == 5, "five attempts, as the policy says");
    }
  }

  // 4. The same replica with a 12 ms budget: the retry stops before a
  //    backoff that would end past it, with timeout_error.
  {
    weft::retry_policy quick = policy;
    quick.time_limit = 12ms;
    quick.jitter = weft::retry_jitter::none;  // waits of 5, 10, 20 ms: the second would end past 12 ms
    attempt_log log;
    weft::future<int> down = weft::retry(replica_down{log}, quick);
    try {
      down.get();
      tour::expect(false, "the replica never answers");
    } catch (const weft::timeout_error& e) {
      tour::say(std::string("with a 12 ms budget: timeout_error after ") + tour::ms(tour::ms_since(log.t0)) + ": " +
                e.what());
      tour::expect(log.calls() <= 2, "no call after the budget (calls at 0 and 5 ms at most)");
    }
  }
}
