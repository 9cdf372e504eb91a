// 07: shared_future. One call, many readers: a single-flight cache.
//
// asyncio:  task = cache.get(key) or cache.setdefault(key, create_task(fetch(key)))
//           value = await task          # from as many coroutines as like
//
// A future has one reader; share() turns it into a shared_future, which
// is copyable: every copy may get() (a const reference to the value) and
// attach its own continuations (each gets a copy). Here concurrent requests
// for the same key share one call in flight instead of each making its own.
// A failure is shared too: every reader sees it, so the cache drops a
// failed entry and the next request tries again.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

class single_flight {
 public:
  explicit single_flight(tour::flaky_service& svc) : svc_(svc) {}

  weft::shared_future<int> get(int key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end() && !failed(it->second)) return it->second;  // a copy: one more reader
    weft::shared_future<int> call = svc_.fetch(key).share();
    entries_[key] = call;
    return call;
  }

 private:
  static bool failed(const weft::shared_future<int>& f) {
    if (!f.is_ready()) return false;
    try {
      f.get();
      return false;
    } catch (...) {
      return true;
    }
  }

  tour::flaky_service& svc_;
  std::mutex mutex_;
  std::map<int, weft::shared_future<int>> entries_;
};

}  // namespace

void tour_07(tour::flaky_service& svc) {
  single_flight cache(svc);

  // 1. Six requests for two keys: two calls.
  const std::vector<int> requests = {702, 706, 702, 702, 706, 706};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<std::string>> replies;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const int key = requests[i];
    replies.push_back(cache.get(key).then([i, key](int v) {
      return "request " + std::to_string(i) + ": key " + std::to_string(key) + " = " + std::to_string(v);
    }));
  }
  for (const std::string& line : weft::when_all(replies).get()) tour::say(line);
  tour::say("6 requests, " + std::to_string(svc.calls_for(702) + svc.calls_for(706)) + " service calls, " +
            tour::ms(tour::ms_since(t0)));
  tour::expect(svc.calls_for(702) == 1 && svc.calls_for(706) == 1, "one call per key");

  // 2. get() from several readers, on a shared failure, then a retry.
  weft::shared_future<int> a = cache.get(701);
  weft::shared_future<int> b = a;  // copies share one outcome
  int saw_error = 0;
  for (const weft::shared_future<int>* reader : {&a, &b}) {
    try {
      reader->get();
    } catch (const tour::service_unavailable& e) {
      ++saw_error;
      if (saw_error == 1) tour::say(std::string("key 701: both readers see the same failure: ") + e.what());
    }
  }
  const int value = cache.get(701).get();
  tour::say("the cache dropped the failed entry; the next request called again: " + std::to_string(value) + " (" +
            std::to_string(svc.calls_for(701)) + " calls for key 701)");
  tour::expect(saw_error == 2 && svc.calls_for(701) == 2, "a failure is shared, then retried once");
}
