// 13: timeouts. A deadline on a future, on the timer service: no thread
// sleeps and no worker is held while the timer is pending.
//
// asyncio:  try:
//               price = await asyncio.wait_for(fetch_price(), timeout=0.05)
//           except asyncio.TimeoutError:
//               price = cached_price
//
//           async with asyncio.timeout(0.05):   # the work is cancelled too
//               await slow_report()
//
// with_timeout(f, d) gives boost::optional<T>: none when `d` passed first.
// timeout(f, d) gives f's outcome or timeout_error. Given the work's
// cancellation_source, a time-out also cancels the work, which stops at
// its next token check. A future already ready gives its value even with a
// zero timeout, and a completion in time leaves no timer behind.
#include <atomic>
#include <chrono>
#include <string>

#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

using namespace std::chrono_literals;

// A quote service that answers after `after` on the timer: waiting for it
// holds no thread.
weft::future<double> fetch_price(weft::thread_pool& pool, std::chrono::milliseconds after) {
  return weft::timer_service::of(pool).sleep_for(after).then([] { return 101.5; });
}

}  // namespace

void tour_13(tour::flaky_service&) {
  weft::thread_pool pool(2);
  weft::timer_service& timers = weft::timer_service::of(pool);

  // 1. wait_for with a fallback: a fast answer and a slow one.
  for (auto after : {5ms, 200ms}) {
    const auto t0 = std::chrono::steady_clock::now();
    boost::optional<double> price = weft::with_timeout(timers, fetch_price(pool, after), 50ms).get();
    tour::say("a quote due after " + std::to_string(after.count()) + " ms, 50 ms allowed: " +
              (price ? "got " + std::to_string(*price) : std::string("none, using the cached price")) + " after " +
              tour::ms(tour::ms_since(t0)));
  }

  // 2. A ready future with a zero timeout still gives its value.
  boost::optional<int> cached = weft::with_timeout(timers, weft::make_ready_future(7, pool), 0ms).get();
  tour::expect(cached && *cached == 7, "a ready future beats a zero timeout");
  tour::say("a ready future, 0 ms allowed: " + std::to_string(*cached) + "; timers pending now: " +
            std::to_string(timers.pending()) + " (the slow quote's own sleep; no time-out timer is left)");

  // 3. timeout() with the work's source: the report stops part way.
  {
    weft::cancellation_source work;
    const weft::cancellation_token token = work.token();
    std::atomic<int> pages{0};
    const auto t0 = std::chrono::steady_clock::now();
    weft::future<int> report = weft::async(pool, token, [token, &pages] {
      for (;;) {  // ~1 ms a page, until cancelled
        const auto until = std::chrono::steady_clock::now() + 1ms;
        while (std::chrono::steady_clock::now() < until) token.throw_if_cancelled();
        ++pages;
      }
      return pages.load();
    });
    try {
      weft::timeout(timers, std::move(report), 20ms, work).get();
      tour::expect(false, "the report does not end by itself");
    } catch (const weft::timeout_error& e) {
      tour::say(std::string("a report with a 20 ms deadline: timeout_error (") + e.what() + ") after " +
                tour::ms(tour::ms_since(t0)) + "; the work's token was cancelled: " +
                (token.is_cancelled() ? "yes" : "no") + ", it rendered " + std::to_string(pages.load()) + " pages");
    }
  }
}
