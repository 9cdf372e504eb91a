// 02: when_all. Fan out, then wait for every result.
//
// asyncio:  prices = await asyncio.gather(*(fetch(k) for k in keys))
//
// when_all(futures) gives the values in input order once all are in, and
// fails with the first error to occur (like gather without
// return_exceptions; the other calls still run, their outcomes are dropped).
// The calls overlap, so the batch takes about as long as its slowest call,
// not the sum. The variadic form gathers futures of different types into a
// tuple.
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

}  // namespace

void tour_02(tour::flaky_service& svc) {
  // 1. Eight calls at once; all of them succeed.
  const std::vector<int> keys = {200, 201, 205, 206, 207, 209, 212, 201};
  long sum_of_latencies = 0;
  long slowest = 0;
  for (int k : keys) {
    const long l = static_cast<long>(svc.plan_for(k).latency.count());
    sum_of_latencies += l;
    slowest = l > slowest ? l : slowest;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<int>> calls;
  for (int k : keys) calls.push_back(svc.fetch(k));
  const std::vector<int> values = weft::when_all(calls).get();
  const double took = tour::ms_since(t0);
  tour::say("when_all over 8 calls: [" + join(values) + "] in input order");
  tour::say("one after another they would take " + std::to_string(sum_of_latencies) + " ms; together " +
            tour::ms(took) + " (the slowest call alone takes " + std::to_string(slowest) + " ms)");
  tour::expect(values.size() == keys.size() && values.back() == values[1], "values in input order");
  tour::expect(took < static_cast<double>(sum_of_latencies), "the calls overlap");

  // 2. A batch with failures: when_all fails with the first error to occur.
  const std::vector<int> batch = {203, 205, 204, 206};
  std::string plan;
  for (int k : batch) {
    const tour::call_plan p = svc.plan_for(k);
    plan += " " + std::to_string(k) + (p.result == tour::call_plan::outcome::ok ? ":ok" : ":fails") + "@" +
            std::to_string(p.latency.count()) + "ms";
  }
  tour::say("next batch (planned):" + plan);
  t0 = std::chrono::steady_clock::now();
  calls.clear();
  for (int k : batch) calls.push_back(svc.fetch(k));
  try {
    weft::when_all(calls).get();
    tour::expect(false, "when_all fails when an input fails");
  } catch (const tour::service_unavailable& e) {
    tour::say(std::string("when_all failed after ") + tour::ms(tour::ms_since(t0)) + " with the first error: " +
              e.what());
    tour::expect(e.key() == 203, "the first error to occur (key 203 fails after 8 ms, key 204 after 12 ms)");
  }

  // 3. Different types at once: a tuple.
  t0 = std::chrono::steady_clock::now();
  auto both = weft::when_all(svc.fetch(207), weft::async(weft::default_pool(), [] { return std::string("EUR"); }))
                  .then([](std::tuple<int, std::string> t) {
                    return std::to_string(std::get<0>(t)) + " " + std::get<1>(t);
                  })
                  .get();
  tour::say("when_all(fetch(207), async(currency)) -> tuple<int, string> -> \"" + both + "\" after " +
            tour::ms(tour::ms_since(t0)));
}
