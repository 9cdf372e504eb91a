// 21: the rate limiter's lock. An async_mutex guards a limiter's state
// (when the last call was let through) across an asynchronous wait: a
// caller that must wait keeps the lock while it sleeps on the timer, so
// the next caller computes its own wait from the updated state.
//
// asyncio:  class RateLimiter:
//               async def acquire(self):
//                   async with self._lock:
//                       wait = self._last_call + self._interval - time.monotonic()
//                       if wait > 0:
//                           await asyncio.sleep(wait)
//                       self._last_call = time.monotonic()
//
// lock() gives a future<guard>; the guard moves into the continuation that
// sleeps and then into the one after it, and the lock goes to the next
// caller (FIFO) when the last of them ends. The state is plain data: the
// lock is the only thing ordering the callers' updates.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

class rate_limiter {
 public:
  explicit rate_limiter(std::chrono::milliseconds interval) : interval_(interval) {}

  // Completes when the caller may go: at least `interval` after the last
  // caller that went.
  weft::future<void> acquire() {
    return lock_.lock().then([this](weft::async_mutex::guard g) {
      const auto now = std::chrono::steady_clock::now();
      const auto wait = started_ ? last_ + interval_ - now : std::chrono::steady_clock::duration::zero();
      // The guard rides along through the sleep: nobody else reads last_
      // meanwhile, so nobody computes a wait from a stale value.
      return weft::sleep_for(std::max(wait, std::chrono::steady_clock::duration::zero()))
          .then([this, g = std::move(g)] {
            last_ = std::chrono::steady_clock::now();
            started_ = true;
            ++granted_;
            times_.push_back(last_);
          });
    });
  }

  // Read once every acquire() completed.
  int granted() const { return granted_; }
  const std::vector<std::chrono::steady_clock::time_point>& times() const { return times_; }

 private:
  weft::async_mutex lock_;  // continuations on default_pool()
  const std::chrono::milliseconds interval_;
  // Guarded by lock_: plain data, no atomics.
  bool started_ = false;
  std::chrono::steady_clock::time_point last_;
  int granted_ = 0;
  std::vector<std::chrono::steady_clock::time_point> times_;
};

}  // namespace

void tour_21(tour::flaky_service& svc) {
  rate_limiter limiter(std::chrono::milliseconds(5));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<int>> calls;
  for (int key = 400; key < 410; ++key) {
    calls.push_back(limiter.acquire().then([&svc, key] {
      return svc.fetch(key).then_result([](weft::result<int> r) { return r.has_value() ? r.value() : -1; });
    }));
  }
  std::vector<int> values = weft::when_all(std::move(calls)).get();
  const double took = tour::ms_since(t0);

  const auto& times = limiter.times();
  double min_gap = 1e9;
  for (std::size_t i = 1; i < times.size(); ++i) {
    min_gap = std::min(min_gap, std::chrono::duration<double, std::milli>(times[i] - times[i - 1]).count());
  }
  tour::expect(limiter.granted() == 10 && values.size() == 10, "all 10 callers were let through");
  tour::expect(min_gap >= 5.0, "no two callers went less than 5 ms apart");
  const double span = std::chrono::duration<double, std::milli>(times.back() - times.front()).count();
  tour::say("10 calls through a 1-per-5-ms limiter: let through " + std::to_string(limiter.granted()) +
            ", closest two " + tour::ms(min_gap) + " apart, first to last " + tour::ms(span) +
            " (the lock was held across each sleep)");
  tour::say("took " + tour::ms(took) + " with the calls themselves; no thread slept while a caller waited its turn");
}
