// 08: interop. Meet legacy code that speaks std::future or boost::future.
//
// asyncio:  value = await asyncio.wrap_future(concurrent_future)
//
// A code base moving to weft still has modules that return std::future
// (std::async, std::promise) or boost::future. from_std and from_boost adopt
// them: the wait happens on the blocking pool, never on a compute worker,
// and the result continues like any weft future. to_boost goes the other
// way, for legacy callers that want a boost::future; an error crosses with
// its type intact.
//
// weft/interop.hpp is not part of weft/weft.hpp, so code that does not use
// Boost futures does not include them.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <tuple>

#include <boost/thread/thread.hpp>

#include <weft/interop.hpp>
#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// Legacy module A: hands out std::futures, one std::async thread per call.
std::future<int> legacy_std_lookup(tour::flaky_service& svc, int key) {
  return std::async(std::launch::async, [&svc, key] { return svc.fetch_blocking(key); });
}

// Legacy module B: a boost::promise fulfilled by a boost::thread of its own.
weft::boost_future<int> legacy_boost_lookup(tour::flaky_service& svc, int key) {
  auto p = std::make_shared<boost::promise<int>>();
  weft::boost_future<int> f = p->get_future();
  boost::thread([&svc, key, p] {
    try {
      p->set_value(svc.fetch_blocking(key));
    } catch (...) {
      p->set_exception(boost::current_exception());
    }
  }).detach();
  return f;
}

}  // namespace

void tour_08(tour::flaky_service& svc) {
  // 1. Adopt both kinds, gather them with a native weft call.
  auto t0 = std::chrono::steady_clock::now();
  const std::string line =
      weft::when_all(weft::from_std(legacy_std_lookup(svc, 801)), weft::from_boost(legacy_boost_lookup(svc, 802)),
                     svc.fetch(804))
          .then([](std::tuple<int, int, int> t) {
            return std::to_string(std::get<0>(t)) + " + " + std::to_string(std::get<1>(t)) + " + " +
                   std::to_string(std::get<2>(t)) + " = " +
                   std::to_string(std::get<0>(t) + std::get<1>(t) + std::get<2>(t));
          })
          .get();
  tour::say("when_all(from_std(std::future), from_boost(boost::future), fetch): " + line + " in " +
            tour::ms(tour::ms_since(t0)));
  tour::expect(line == "171 + 669 + 497 = 1337", "the three values");

  // 2. A legacy caller that insists on a boost::future gets one; an error
  //    reaches it through boost's get() as the type that was thrown.
  t0 = std::chrono::steady_clock::now();
  weft::boost_future<int> for_legacy = weft::to_boost(svc.fetch(805).then([](int v) { return v * 10; }));
  const int v = for_legacy.get();  // legacy code blocks in boost's get()
  tour::say("to_boost(fetch(805).then(x10)).get() in legacy code: " + std::to_string(v) + " after " +
            tour::ms(tour::ms_since(t0)));
  weft::boost_future<int> failing = weft::to_boost(svc.fetch(800));
  try {
    failing.get();
    tour::expect(false, "the error crosses to_boost");
  } catch (const tour::service_unavailable& e) {
    tour::say(std::string("to_boost(fetch(800)).get() in legacy code rethrew service_unavailable, type intact: ") +
              e.what());
  }
}
