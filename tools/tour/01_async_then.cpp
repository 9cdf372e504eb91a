// 01: async + then. Run work on the pool, continue from its result.
//
// asyncio:  key = await loop.create_task(parse(request))
//           balance = await fetch(key)
//           return f"balance {balance}"
//
// weft has no await; each step after the first is a continuation attached
// with then(). A continuation that itself returns a future (the remote call
// here) is unwrapped: the chain is future<int>, not future<future<int>>.
// An exception skips every then() after it and comes out of get().
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// CPU work: the kind of thing that belongs on the compute pool.
int parse_account(const std::string& request) {
  const std::string prefix = "GET /accounts/";
  if (request.compare(0, prefix.size(), prefix) != 0) throw std::invalid_argument("bad request: " + request);
  const std::string digits = request.substr(prefix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("bad account id in: " + request);
  }
  return std::atoi(digits.c_str());
}

}  // namespace

void tour_01(tour::flaky_service& svc) {
  weft::thread_pool& pool = weft::default_pool();
  const auto t0 = std::chrono::steady_clock::now();

  // 1. async runs the function on the pool; then() continues from its value.
  std::atomic<bool> fetch_continued_on_pool{false};
  std::atomic<bool> fetch_continued_on_network_thread{true};
  weft::future<std::string> report =
      weft::async(pool, [] { return parse_account("GET /accounts/101"); })
          .then([&svc](int key) { return svc.fetch(key); })  // future<int>, unwrapped
          .then([&](int balance) {
            // The reply was delivered on the service's network thread, but a
            // continuation runs on the future's executor, never inline there.
            fetch_continued_on_pool = pool.running_in_this_thread();
            fetch_continued_on_network_thread = svc.on_network_thread();
            return "account 101: balance " + std::to_string(balance);
          });
  const std::string line = report.get();
  tour::say("async(parse) -> then(fetch) -> then(format): \"" + line + "\" after " + tour::ms(tour::ms_since(t0)));
  tour::say(std::string("the reply came on the service's network thread; the continuation ran on ") +
            (fetch_continued_on_pool ? "a default_pool worker" : "another thread"));
  tour::expect(fetch_continued_on_pool && !fetch_continued_on_network_thread,
               "a continuation runs on its future's executor, not on the thread that fulfilled it");
  tour::expect(line == "account 101: balance " + std::to_string(svc.plan_for(101).value), "the fetched value");

  // 2. An exception skips the then() steps after it and is rethrown by get().
  std::atomic<int> steps_run{0};
  weft::future<int> broken = weft::async(pool, [] { return parse_account("GET /accounts/1O1"); })
                                 .then([&](int key) {
                                   ++steps_run;
                                   return svc.fetch(key);
                                 });
  try {
    broken.get();
    tour::expect(false, "get() rethrows the parse error");
  } catch (const std::invalid_argument& e) {
    tour::say(std::string("a typo in the request: then(fetch) was skipped, get() rethrew std::invalid_argument: ") +
              e.what());
  }
  tour::expect(steps_run == 0, "an error skips then()");

  // 3. via(ex) moves the continuations that follow to another executor,
  //    here a one-thread pool that owns the report formatting.
  weft::thread_pool reports(1);
  std::atomic<bool> formatted_on_reports{false};
  const auto t1 = std::chrono::steady_clock::now();
  std::string total = svc.fetch(107)
                          .then([&svc](int a) { return svc.fetch(105).then([a](int b) { return a + b; }); })
                          .via(reports)
                          .then([&](int sum) {
                            formatted_on_reports = reports.running_in_this_thread();
                            return "accounts 107 + 105 = " + std::to_string(sum);
                          })
                          .get();
  tour::say("fetch(107) -> then(fetch(105) + it) -> via(reports) -> then(format): \"" + total + "\" after " +
            tour::ms(tour::ms_since(t1)));
  tour::expect(formatted_on_reports, "after via(reports) continuations run on `reports`");
}
