// 05: on_error and finally. Recover from the errors you expect, clean up
// on every outcome, and let nothing vanish silently.
//
// asyncio:  try:
//               value = await fetch(key)
//           except ServiceUnavailable:
//               value = await fetch(key)        # one more try
//           finally:
//               release_connection()
//
// on_error<E>(fn) handles an E (or a type derived from it) with a value or
// a future that takes its place; values and other errors pass through
// untouched. finally(fn) runs on every outcome and passes it on. An error
// in a future that nobody looks at reaches the unhandled-error handler
// (default: one line on stderr), never std::terminate.
//
// The retry here is one immediate extra try. A retry with backoff waits on
// a timer: retry(fn, policy), in 15_retry.cpp.
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

struct answer {
  int value;
  std::string how;
};

// fetch with recovery: a 503 gets one more try, a second 503 falls back to
// a stale cached value; not_found is not ours to handle and passes through.
weft::future<answer> robust_fetch(tour::flaky_service& svc, int key, const std::map<int, int>& stale_cache,
                                  std::atomic<int>& open_connections) {
  ++open_connections;  // say, a connection taken from a pool
  return svc.fetch(key)
      .then([](int v) { return answer{v, "first try"}; })
      .on_error<tour::service_unavailable>([&svc, key](tour::service_unavailable& e) {
        std::string why = e.what();  // e lives only during this call
        return svc.fetch(key).then([why](int v) { return answer{v, "second try, after: " + why}; });
      })
      .on_error<tour::service_unavailable>([&stale_cache, key](tour::service_unavailable&) {
        auto it = stale_cache.find(key);
        return answer{it == stale_cache.end() ? 0 : it->second, "stale cache, after two 503s"};
      })
      .finally([&open_connections] { --open_connections; });  // runs on every outcome
}

}  // namespace

void tour_05(tour::flaky_service& svc) {
  const std::map<int, int> stale_cache = {{514, 760}};
  std::atomic<int> open_connections{0};

  // 1. Four keys, four outcomes: fine, a retry, the cache, and an error
  //    that recovery does not apply to.
  const std::vector<int> keys = {503, 501, 514, 1500};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<answer>> calls;
  for (int k : keys) calls.push_back(robust_fetch(svc, k, stale_cache, open_connections));
  const std::vector<weft::result<answer>> outcomes = weft::when_all_settled(calls).get();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const weft::result<answer>& r = outcomes[i];
    tour::say("key " + std::to_string(keys[i]) + ": " +
              (r.has_value() ? std::to_string(r.value().value) + " (" + r.value().how + ")"
                             : "error passed through: " + tour::what_failed(r.error())));
  }
  tour::say("finally ran on every outcome: open connections now " + std::to_string(open_connections.load()) +
            "; " + std::to_string(svc.calls_for(501)) + " calls for key 501, " + std::to_string(svc.calls_for(514)) +
            " for key 514, in " + tour::ms(tour::ms_since(t0)));
  tour::expect(open_connections == 0, "finally ran for each of the four");
  tour::expect(outcomes[0].value().how == "first try" && outcomes[1].value().how.find("second try") == 0 &&
                   outcomes[2].value().value == 760 && !outcomes[3].has_value(),
               "503 served first; 501 retried; 514 from the cache; 1500 not found");

  // 2. on_error<E> is picked by type: a second handler can deal with what
  //    the first let through.
  const answer fallback = robust_fetch(svc, 1501, stale_cache, open_connections)
                              .on_error<tour::not_found>([](tour::not_found& e) {
                                return answer{0, std::string("default for a missing key (") + e.what() + ")"};
                              })
                              .get();
  tour::say("key 1501 with on_error<not_found>: " + std::to_string(fallback.value) + ", " + fallback.how);

  // 3. Nothing is swallowed: a failing chain that nobody waits for reaches
  //    the unhandled-error handler (here a temporary one; the default prints
  //    a line on stderr).
  auto seen = std::make_shared<weft::promise<std::string>>();
  weft::future<std::string> seen_future = seen->get_future();
  auto first = std::make_shared<std::atomic<bool>>(false);
  weft::unhandled_error_handler previous = weft::set_unhandled_error_handler([seen, first](std::exception_ptr e) {
    if (!first->exchange(true)) seen->set_value(tour::what_failed(e));
  });
  svc.fetch(1502).then([](int v) { return v * 2; });  // the future is dropped at once
  const bool reported = seen_future.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  weft::set_unhandled_error_handler(previous);
  tour::expect(reported, "a dropped failed future reaches the unhandled-error handler");
  tour::say("a dropped chain that failed reached the unhandled-error handler: " + seen_future.get());
}
