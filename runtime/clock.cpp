// The clocks: steady_clock's instance and manual_clock, which fires the
// timers of the services on it as a test moves it.
#include "weft/clock.hpp"

#include <algorithm>
#include <utility>

#include "timer_queue.hpp"

namespace weft {
inline namespace v1 {

clock::~clock() = default;

bool clock::adopt(const std::shared_ptr<detail::timer_queue>&) { return false; }

void clock::forget(const detail::timer_queue*) noexcept {}

steady_clock& steady_clock::instance() noexcept {
  static steady_clock* instance = new steady_clock();  // never destroyed: see the header
  return *instance;
}

manual_clock::manual_clock(time_point start) noexcept : now_(start.time_since_epoch().count()) {}

// A service still on the clock would read a destroyed clock: the header
// makes the clock outlive its services, so nothing is left to do here.
manual_clock::~manual_clock() = default;

clock::time_point manual_clock::now() const noexcept {
  // Acquire pairs with move_to()'s release: a thread that reads a time
  // sees what the advancing thread did before it moved the clock there.
  return time_point(duration(now_.load(std::memory_order_acquire)));
}

void manual_clock::move_to(time_point t) noexcept {
  const duration::rep target = t.time_since_epoch().count();
  duration::rep seen = now_.load(std::memory_order_relaxed);
  // Never backwards: concurrent advances leave the furthest time. The
  // first load and a failed exchange only feed the next try (relaxed); the
  // store that moves the clock releases, as now() acquires.
  while (seen < target && !now_.compare_exchange_weak(seen, target, std::memory_order_release,
                                                       std::memory_order_relaxed)) {
  }
}

std::vector<std::shared_ptr<detail::timer_queue>> manual_clock::queues() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queues_;
}

bool manual_clock::adopt(const std::shared_ptr<detail::timer_queue>& queue) {
  std::lock_guard<std::mutex> lock(mutex_);
  queues_.push_back(queue);
  return true;
}

void manual_clock::forget(const detail::timer_queue* queue) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  queues_.erase(std::remove_if(queues_.begin(), queues_.end(),
                               [queue](const std::shared_ptr<detail::timer_queue>& q) { return q.get() == queue; }),
                queues_.end());
}

void manual_clock::advance_to(time_point t) {
  if (t < now()) {
    throw std::invalid_argument("weft::manual_clock::advance_to: the time point argument t is before now()");
  }
  step_to(t);
}

void manual_clock::step_to(time_point t) {
  // One step per deadline: every timer fires with the clock standing at its
  // own deadline, in deadline order across all the services on the clock.
  // A snapshot of the queues per step, not the lock: a task fired inline
  // may arm timers, advance the clock or destroy a service, and the
  // snapshot keeps each queue alive while it fires.
  for (;;) {
    const std::vector<std::shared_ptr<detail::timer_queue>> qs = queues();
    time_point next = time_point::max();
    for (const auto& q : qs) next = std::min(next, q->next_deadline());
    if (next == time_point::max() || next > t) break;
    move_to(next);
    const time_point at = now();
    for (const auto& q : qs) q->fire_due(at);
  }
  move_to(t);
}

clock::time_point manual_clock::next_deadline() const noexcept {
  time_point next = time_point::max();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& q : queues_) next = std::min(next, q->next_deadline());
  return next;
}

}  // namespace v1
}  // namespace weft
