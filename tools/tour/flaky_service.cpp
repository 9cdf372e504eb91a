// tools/tour/flaky_service.cpp: the simulated service's network thread and
// its deterministic outcomes.
#include "flaky_service.hpp"

#include <algorithm>
#include <memory>

#include <boost/chrono.hpp>
#include <boost/thread/thread.hpp>

namespace tour {
namespace {

// splitmix64: a tiny, good-enough mixer, so each (seed, key, replica,
// attempt) gets its own outcome without a shared random stream.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash(std::uint64_t seed, int key, int replica, unsigned attempt) {
  std::uint64_t h = mix(seed);
  h = mix(h ^ static_cast<std::uint64_t>(static_cast<std::uint32_t>(key)));
  h = mix(h ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(replica)) << 32));
  return mix(h ^ (static_cast<std::uint64_t>(attempt) << 48));
}

double unit_interval(std::uint64_t h) { return static_cast<double>(h >> 11) / 9007199254740992.0; }

bool later(const std::chrono::steady_clock::time_point& a_due, std::uint64_t a_seq,
           const std::chrono::steady_clock::time_point& b_due, std::uint64_t b_seq) {
  return a_due != b_due ? a_due > b_due : a_seq > b_seq;
}

thread_local bool this_is_network_thread = false;

}  // namespace

service_unavailable::service_unavailable(int key, unsigned attempt)
    : std::runtime_error("key " + std::to_string(key) + ": 503 service unavailable (attempt " +
                         std::to_string(attempt + 1) + ")"),
      key_(key) {}

not_found::not_found(int key) : std::runtime_error("key " + std::to_string(key) + ": 404 not found"), key_(key) {}

flaky_service::flaky_service(options opts) : opts_(opts) {
  network_ = std::thread([this] { network_loop(); });
}

flaky_service::~flaky_service() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  network_.join();
}

call_plan flaky_service::plan(int key, int replica, unsigned attempt) const {
  const std::uint64_t h = hash(opts_.seed, key, replica, attempt);
  const int span = std::max(1, opts_.max_latency_ms - opts_.min_latency_ms + 1);
  call_plan p;
  p.latency = std::chrono::milliseconds(opts_.min_latency_ms + static_cast<int>(h % static_cast<std::uint64_t>(span)));
  p.value = 100 + static_cast<int>(mix(opts_.seed ^ static_cast<std::uint64_t>(key)) % 900);
  if (key < 0 || key > 999) {
    p.result = call_plan::outcome::not_found;
  } else if (unit_interval(mix(h)) < opts_.failure_rate) {
    p.result = call_plan::outcome::unavailable;
  } else {
    p.result = call_plan::outcome::ok;
  }
  return p;
}

call_plan flaky_service::plan_for(int key, int replica) const {
  unsigned attempt = 0;
  {
    std::lock_guard<std::mutex> lock(attempts_mutex_);
    auto it = attempts_.find(std::make_pair(key, replica));
    if (it != attempts_.end()) attempt = it->second;
  }
  return plan(key, replica, attempt);
}

unsigned flaky_service::next_attempt(int key, int replica) {
  calls_.fetch_add(1);
  std::lock_guard<std::mutex> lock(attempts_mutex_);
  return attempts_[std::make_pair(key, replica)]++;
}

std::size_t flaky_service::calls_for(int key) const {
  std::lock_guard<std::mutex> lock(attempts_mutex_);
  std::size_t n = 0;
  for (const auto& a : attempts_) {
    if (a.first.first == key) n += a.second;
  }
  return n;
}

bool flaky_service::on_network_thread() const noexcept { return this_is_network_thread; }

void flaky_service::call(int key, callback cb, int replica) {
  const unsigned attempt = next_attempt(key, replica);
  const call_plan p = plan(key, replica, attempt);
  schedule(p.latency, [p, key, attempt, cb] {
    switch (p.result) {
      case call_plan::outcome::ok:
        cb(p.value, nullptr);
        break;
      case call_plan::outcome::unavailable:
        cb(0, std::make_exception_ptr(service_unavailable(key, attempt)));
        break;
      case call_plan::outcome::not_found:
        cb(0, std::make_exception_ptr(not_found(key)));
        break;
    }
  });
}

void flaky_service::call_and_lose(int key, callback cb) {
  next_attempt(key, 0);
  // The reply is "lost": the callback is dropped on the network thread
  // without being called, as a buggy client library might.
  auto held = std::make_shared<callback>(std::move(cb));
  schedule(std::chrono::milliseconds(opts_.min_latency_ms), [held] { held->operator=(nullptr); });
}

weft::future<int> flaky_service::fetch(int key, int replica) {
  // The promise bridge: the callback owns the promise (std::function needs
  // a copyable callable, so through a shared_ptr). The promise runs the
  // future's continuations on default_pool(), not on the network thread.
  auto p = std::make_shared<weft::promise<int>>(weft::default_pool());
  weft::future<int> f = p->get_future();
  call(key, [p](int value, std::exception_ptr error) {
    if (error) {
      p->set_exception(error);
    } else {
      p->set_value(value);
    }
  }, replica);
  return f;
}

int flaky_service::fetch_blocking(int key) {
  const unsigned attempt = next_attempt(key, 0);
  const call_plan p = plan(key, 0, attempt);
  struct in_progress {
    std::atomic<std::size_t>& now;
    explicit in_progress(std::atomic<std::size_t>& n, std::atomic<std::size_t>& peak) : now(n) {
      const std::size_t mine = ++now;
      std::size_t seen = peak.load();
      while (seen < mine && !peak.compare_exchange_weak(seen, mine)) {
      }
    }
    ~in_progress() { --now; }
  } counted(blocking_now_, blocking_peak_);
  // An interruption point on a boost::thread; a plain sleep elsewhere.
  boost::this_thread::sleep_for(boost::chrono::milliseconds(p.latency.count()));
  switch (p.result) {
    case call_plan::outcome::unavailable:
      throw service_unavailable(key, attempt);
    case call_plan::outcome::not_found:
      throw not_found(key);
    case call_plan::outcome::ok:
      break;
  }
  return p.value;
}

int flaky_service::fetch_hanging(int key, std::chrono::milliseconds give_up) {
  const unsigned attempt = next_attempt(key, 0);
  boost::this_thread::sleep_for(boost::chrono::milliseconds(give_up.count()));
  throw service_unavailable(key, attempt);
}

void flaky_service::schedule(std::chrono::milliseconds latency, std::function<void()> deliver) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(pending{std::chrono::steady_clock::now() + latency, seq_++, std::move(deliver)});
    std::push_heap(queue_.begin(), queue_.end(),
                   [](const pending& a, const pending& b) { return later(a.due, a.seq, b.due, b.seq); });
  }
  wake_.notify_one();
}

void flaky_service::network_loop() {
  this_is_network_thread = true;
  const auto cmp = [](const pending& a, const pending& b) { return later(a.due, a.seq, b.due, b.seq); };
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      wake_.wait(lock);
      continue;
    }
    // A copy: wait_until reads its deadline again after it has let go of
    // the lock, when a schedule() may have reallocated the queue.
    const auto due = queue_.front().due;
    if (!stopping_ && std::chrono::steady_clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    std::pop_heap(queue_.begin(), queue_.end(), cmp);
    std::function<void()> deliver = std::move(queue_.back().deliver);
    queue_.pop_back();
    lock.unlock();
    deliver();  // replies are delivered in due order, one at a time
    deliver = nullptr;
    lock.lock();
  }
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("tour check failed: " + what);
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string what_failed(const std::exception_ptr& e) {
  const std::string what = weft::describe(e);
  try {
    std::rethrow_exception(e);
  } catch (const service_unavailable&) {
    return "service_unavailable(" + what + ")";
  } catch (const not_found&) {
    return "not_found(" + what + ")";
  } catch (const weft::cancelled_error&) {
    return "cancelled_error(" + what + ")";
  } catch (const weft::broken_promise&) {
    return "broken_promise(" + what + ")";
  } catch (const weft::future_error&) {
    return "future_error(" + what + ")";
  } catch (...) {
    return what;
  }
}

}  // namespace tour
