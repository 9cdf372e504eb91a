// 04: when_any. Use whichever answer comes first: a hedged request.
//
// asyncio:  done, pending = await asyncio.wait(aws, return_when=FIRST_COMPLETED)
//
// The same read goes to three replicas; when_any gives the index and the
// outcome (a weft::result<T>) of the first to complete, as soon as it
// completes. The slower calls still run; their outcomes are dropped.
//
// "First to complete" may be a failure, as with asyncio. "First to
// succeed" is not a weft combinator (yet); part 3 builds it from a promise
// and then_result(), which is how any custom combinator is made.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

std::vector<weft::future<int>> ask_replicas(tour::flaky_service& svc, int key, std::string& plan) {
  std::vector<weft::future<int>> calls;
  for (int replica = 0; replica < 3; ++replica) {
    const tour::call_plan p = svc.plan_for(key, replica);
    plan += " replica " + std::to_string(replica) + (p.result == tour::call_plan::outcome::ok ? " ok@" : " fails@") +
            std::to_string(p.latency.count()) + "ms";
    calls.push_back(svc.fetch(key, replica));
  }
  return calls;
}

// The first value among `futures`; if every one fails, the last error.
template <class T>
weft::future<T> first_success(std::vector<weft::future<T>> futures) {
  if (futures.empty()) {
    return weft::make_exceptional_future<T>(std::invalid_argument("first_success: no futures"));
  }
  struct race {
    explicit race(std::size_t n) : left(n) {}
    weft::promise<T> winner;
    std::atomic<std::size_t> left;
    std::atomic<bool> decided{false};
    std::mutex mutex;
    std::exception_ptr last_error;
  };
  auto r = std::make_shared<race>(futures.size());
  weft::future<T> out = r->winner.get_future();
  for (weft::future<T>& f : futures) {
    // then_result sees values and errors; the future it returns is not
    // needed (the lambda cannot throw), so it is dropped.
    f.then_result([r](weft::result<T> res) {
      if (res.has_value()) {
        if (!r->decided.exchange(true)) r->winner.set_value(std::move(res).value());
      } else {
        std::lock_guard<std::mutex> lock(r->mutex);
        r->last_error = res.error();
      }
      if (r->left.fetch_sub(1) == 1 && !r->decided.exchange(true)) {
        std::lock_guard<std::mutex> lock(r->mutex);
        r->winner.set_exception(r->last_error);
      }
    });
  }
  return out;
}

}  // namespace

void tour_04(tour::flaky_service& svc) {
  // 1. The fastest replica wins.
  std::string plan;
  auto t0 = std::chrono::steady_clock::now();
  std::pair<std::size_t, weft::result<int>> first = weft::when_any(ask_replicas(svc, 403, plan)).get();
  double took = tour::ms_since(t0);
  tour::say("key 403 (planned:" + plan + ")");
  tour::say("when_any: replica " + std::to_string(first.first) + " answered first, " +
            std::to_string(first.second.value()) + ", after " + tour::ms(took) + "; the other two are ignored");
  // (Which replica wins is up to the clock: on a loaded machine a stall
  // between sending the calls can change it, so only the value is checked.)
  tour::expect(first.second.value() == svc.plan_for(403).value, "every replica answers the same value");

  // 2. The first to complete can be a failure: the result says so.
  plan.clear();
  t0 = std::chrono::steady_clock::now();
  first = weft::when_any(ask_replicas(svc, 401, plan)).get();
  took = tour::ms_since(t0);
  tour::say("key 401 (planned:" + plan + ")");
  tour::say("when_any: replica " + std::to_string(first.first) + " completed first after " + tour::ms(took) +
            ", but with an error: " + tour::what_failed(first.second.error()));
  tour::expect(first.first == 0 && !first.second.has_value(), "replica 0 fails fastest for key 401");

  // 3. So a hedged request usually wants the first success.
  plan.clear();
  t0 = std::chrono::steady_clock::now();
  const int value = first_success(ask_replicas(svc, 409, plan)).get();
  took = tour::ms_since(t0);
  tour::say("key 409 (planned:" + plan + ")");
  tour::say("first_success (promise + then_result, 20 lines): " + std::to_string(value) + " after " + tour::ms(took) +
            ", the failure of replica 2 at 3 ms was skipped");
  tour::expect(value == svc.plan_for(409).value, "the value from the first successful replica");
}
