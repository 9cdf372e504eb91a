// tools/tour/flaky_service.hpp: the simulated remote service the tour talks to.
//
// Each example in the tour needs something slow and unreliable to talk to,
// like the network calls of a real service. flaky_service stands in for a
// legacy RPC client with three kinds of call:
//
//   call(key, cb)        its native API: the reply arrives later, on the
//                        client's own network thread, through a callback
//   fetch(key)           the same call as a weft::future<int> (a promise
//                        bridge over call(); 10_callbacks_to_futures.cpp
//                        shows how such a bridge is written)
//   fetch_blocking(key)  a synchronous call that blocks the calling thread
//                        for its latency (for weft::offload)
//   fetch_hanging(key)   a call that never answers until its thread is
//                        interrupted (a stuck legacy driver)
//
// Every call takes a latency and may fail, both drawn from a hash of
// (seed, key, replica, attempt), not from a shared random stream: calls made
// concurrently get the same outcome whatever order they run in, so the
// tour's output is the same on every run (only the timings vary). The
// n-th call for the same key and replica is attempt n, so a retry can get a
// different outcome from the first try.
//
// Keys 0..999 exist. A call for any other key fails with not_found (after
// its latency); a call for an existing key fails with service_unavailable
// for a `failure_rate` fraction of attempts.
//
// Thread-safety: every member may be called from any thread.
#ifndef WEFT_TOUR_FLAKY_SERVICE_HPP
#define WEFT_TOUR_FLAKY_SERVICE_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

namespace tour {

/// A transient failure (HTTP 503, a dropped connection): worth retrying.
class service_unavailable : public std::runtime_error {
 public:
  service_unavailable(int key, unsigned attempt);
  int key() const noexcept { return key_; }

 private:
  int key_;
};

/// A permanent failure: the key does not exist. Retrying will not help.
class not_found : public std::runtime_error {
 public:
  explicit not_found(int key);
  int key() const noexcept { return key_; }

 private:
  int key_;
};

/// What one attempt of a call will do; see flaky_service::plan_for().
struct call_plan {
  std::chrono::milliseconds latency;
  enum class outcome { ok, unavailable, not_found } result;
  int value;  // the answer when result == ok (the same for every replica)
};

/// A simulated, deterministic, unreliable remote service.
class flaky_service {
 public:
  struct options {
    std::uint64_t seed = 2024;   // same seed, same outcomes
    double failure_rate = 0.25;  // fraction of attempts that fail with service_unavailable
    int min_latency_ms = 2;
    int max_latency_ms = 12;
  };

  /// Starts the client's network thread.
  explicit flaky_service(options opts);
  /// Delivers the replies still in flight (at once) and stops the thread.
  ~flaky_service();
  flaky_service(const flaky_service&) = delete;
  flaky_service& operator=(const flaky_service&) = delete;

  /// The native API: `cb(value, nullptr)` or `cb(0, error)` is called once,
  /// on the network thread, after the call's latency. `replica` picks one
  /// of several servers holding the same data (they answer the same value,
  /// with different latencies).
  using callback = std::function<void(int value, std::exception_ptr error)>;
  void call(int key, callback cb, int replica = 0);

  /// The same call as a future. Its continuations run on default_pool(),
  /// never on the network thread.
  weft::future<int> fetch(int key, int replica = 0);

  /// A synchronous call: blocks the calling thread for the latency, then
  /// returns or throws. On a boost::thread (the blocking pool) the sleep is
  /// interruptible (boost::thread_interrupted).
  int fetch_blocking(int key);

  /// A call whose server never answers: blocks until the thread is
  /// interrupted, or gives up with service_unavailable after `give_up`.
  int fetch_hanging(int key, std::chrono::milliseconds give_up = std::chrono::seconds(2));

  /// A buggy part of the native API, for 10_callbacks_to_futures: the
  /// request is lost and `cb` is destroyed without ever being called.
  void call_and_lose(int key, callback cb);

  /// What the next attempt for (key, replica) will do. Does not count as a call.
  call_plan plan_for(int key, int replica = 0) const;

  /// True when called on the network thread.
  bool on_network_thread() const noexcept;

  /// How many calls were made in all, and for one key (all replicas).
  std::size_t calls() const noexcept { return calls_.load(); }
  std::size_t calls_for(int key) const;

  /// The most fetch_blocking calls that were in progress at once since the
  /// last reset_blocking_peak() (shows whether blocking calls overlapped).
  std::size_t blocking_peak() const noexcept { return blocking_peak_.load(); }
  void reset_blocking_peak() noexcept { blocking_peak_.store(0); }

 private:
  struct pending {
    std::chrono::steady_clock::time_point due;
    std::uint64_t seq;
    std::function<void()> deliver;
  };

  call_plan plan(int key, int replica, unsigned attempt) const;
  unsigned next_attempt(int key, int replica);
  void schedule(std::chrono::milliseconds latency, std::function<void()> deliver);
  void network_loop();

  options opts_;
  std::atomic<std::size_t> calls_{0};
  std::atomic<std::size_t> blocking_now_{0};
  std::atomic<std::size_t> blocking_peak_{0};

  mutable std::mutex attempts_mutex_;
  std::map<std::pair<int, int>, unsigned> attempts_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<pending> queue_;  // a min-heap on (due, seq)
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread network_;
};

/// Throws std::runtime_error("tour check failed: what") unless `ok`; the
/// examples check what they claim, so the tour doubles as a test.
void expect(bool ok, const std::string& what);

/// Milliseconds since `start`, for printing.
double ms_since(std::chrono::steady_clock::time_point start);

/// weft::describe for an exception_ptr, with the exception's type name.
std::string what_failed(const std::exception_ptr& e);

}  // namespace tour

#endif  // WEFT_TOUR_FLAKY_SERVICE_HPP
