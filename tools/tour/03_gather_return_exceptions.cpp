// 03: when_all_settled. Wait for every call; keep failures as values.
//
// asyncio:  results = await asyncio.gather(*aws, return_exceptions=True)
//           # or the seed's fetch_with_errors(): {url: content | Exception}
//
// when_all_settled never fails: it gives one weft::result<T> per input, in
// input order, each holding a value or the exception_ptr of its failure.
// One failed call does not cost the batch.
#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

void tour_03(tour::flaky_service& svc) {
  const std::vector<int> keys = {300, 301, 302, 303, 1300, 304, 305, 307};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<int>> calls;
  for (int k : keys) calls.push_back(svc.fetch(k));

  const std::vector<weft::result<int>> settled = weft::when_all_settled(calls).get();

  int ok = 0;
  int sum = 0;
  int unavailable = 0;
  int missing = 0;
  for (std::size_t i = 0; i < settled.size(); ++i) {
    const weft::result<int>& r = settled[i];
    if (r.has_value()) {
      ++ok;
      sum += r.value();
      tour::say("key " + std::to_string(keys[i]) + ": " + std::to_string(r.value()));
      continue;
    }
    tour::say("key " + std::to_string(keys[i]) + ": failed, " + tour::what_failed(r.error()));
    // A result's error is an exception_ptr: rethrow it to dispatch on type.
    try {
      std::rethrow_exception(r.error());
    } catch (const tour::service_unavailable&) {
      ++unavailable;
    } catch (const tour::not_found&) {
      ++missing;
    }
  }
  tour::say(std::to_string(ok) + " of " + std::to_string(keys.size()) + " answered (sum " + std::to_string(sum) +
            "), " + std::to_string(unavailable) + " unavailable (worth a retry), " + std::to_string(missing) +
            " not found, in " + tour::ms(tour::ms_since(t0)));
  tour::expect(settled.size() == keys.size(), "one result per input");
  tour::expect(ok == 6 && unavailable == 1 && missing == 1, "key 302 is unavailable, key 1300 does not exist");
}
