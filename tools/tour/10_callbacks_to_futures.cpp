// 10: promise. Turn a callback API into futures.
//
// asyncio:  fut = loop.create_future()
//           client.call(key, lambda v, err: fut.set_exception(err) if err else fut.set_result(v))
//           value = await fut          # (the seed's WorkerPool: future.set_result / set_exception)
//
// A weft::promise is the write end of a future. The callback owns it and
// fulfils it once; the future's continuations run on the executor the
// promise was given (default_pool() unless told otherwise), not on the
// client library's thread that ran the callback. A promise is fulfilled
// exactly once: a second set_value throws future_error(already_satisfied),
// and a promise destroyed unfulfilled (a callback the library dropped)
// breaks its future with broken_promise instead of leaving it hanging.
// make_ready_future / make_exceptional_future answer without a call at all.
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// The bridge (flaky_service::fetch is written the same way). std::function
// wants a copyable callable and a promise is move-only: hence shared_ptr.
weft::future<int> fetch_via_callback(tour::flaky_service& svc, int key) {
  auto p = std::make_shared<weft::promise<int>>(weft::default_pool());
  weft::future<int> f = p->get_future();
  svc.call(key, [p](int value, std::exception_ptr error) {
    if (error) {
      p->set_exception(error);
    } else {
      p->set_value(value);
    }
  });
  return f;
}

// Answers from a cache or rejects bad input without calling the service.
weft::future<int> lookup(tour::flaky_service& svc, const std::map<int, int>& cache, int key) {
  if (key < 0) {
    return weft::make_exceptional_future<int>(std::invalid_argument("negative key " + std::to_string(key)));
  }
  auto it = cache.find(key);
  if (it != cache.end()) return weft::make_ready_future(it->second);
  return fetch_via_callback(svc, key);
}

}  // namespace

void tour_10(tour::flaky_service& svc) {
  // 1. The bridge, and where the continuation runs.
  auto t0 = std::chrono::steady_clock::now();
  bool continued_on_network_thread = true;
  const int v = fetch_via_callback(svc, 906)
                    .then([&](int x) {
                      continued_on_network_thread = svc.on_network_thread();
                      return x;
                    })
                    .get();
  tour::say("callback API -> promise -> future: key 906 = " + std::to_string(v) + " after " +
            tour::ms(tour::ms_since(t0)) + "; the callback ran on the service's network thread, the continuation " +
            (continued_on_network_thread ? "did too" : "on the pool"));
  tour::expect(!continued_on_network_thread, "a continuation never runs on the thread that set the value");

  // 2. A library that drops the callback: broken_promise, not a hang.
  t0 = std::chrono::steady_clock::now();
  auto p = std::make_shared<weft::promise<int>>();
  weft::future<int> lost = p->get_future();
  svc.call_and_lose(950, [p](int value, std::exception_ptr) { p->set_value(value); });
  p.reset();  // only the callback holds the promise now
  try {
    lost.get();
    tour::expect(false, "a dropped promise breaks its future");
  } catch (const weft::broken_promise& e) {
    tour::say(std::string("a request the library lost: get() threw broken_promise after ") +
              tour::ms(tour::ms_since(t0)) + " (" + e.what() + ")");
  }

  // 3. A library that calls back twice: the second is refused, loudly.
  weft::promise<int> once;
  weft::future<int> answer = once.get_future();
  once.set_value(1);
  try {
    once.set_value(2);
    tour::expect(false, "a promise is satisfied once");
  } catch (const weft::future_error& e) {
    tour::expect(e.reason() == weft::future_errc::already_satisfied, "reason already_satisfied");
    tour::say(std::string("a second set_value threw future_error: ") + e.what() + "; the future keeps " +
              std::to_string(answer.get()));
  }

  // 4. Futures without a call: ready at once, or failed at once.
  const std::map<int, int> cache = {{42, 4200}};
  weft::future<int> hit = lookup(svc, cache, 42);
  weft::future<int> bad = lookup(svc, cache, -1);
  tour::expect(hit.is_ready() && bad.is_ready(), "both are ready at once");
  std::string bad_what;
  try {
    bad.get();
  } catch (const std::invalid_argument& e) {
    bad_what = e.what();
  }
  const int miss = lookup(svc, cache, 907).get();
  tour::say("make_ready_future (cache hit): " + std::to_string(hit.get()) +
            "; make_exceptional_future (bad input): " + bad_what + "; a miss goes to the service: " +
            std::to_string(miss));
}
