// weft/clock.hpp: the clocks weft's timers run on.
//
// Every timer in weft (timer_service, sleep_for, later timeouts and retry)
// reads time through a weft::clock, so the same code runs on real time
// (steady_clock, the default) or on time a test moves by hand
// (manual_clock), and no test has to sleep.
//
// One time type for every clock: clock::time_point is
// std::chrono::steady_clock::time_point and clock::duration its duration
// (nanoseconds with libstdc++ and libc++). A manual_clock's time points are
// of the same type but count from wherever the test started it (by default
// the epoch, time_point()), not from the machine's boot.
//
// Arithmetic on deadlines saturates: timer_duration() and
// saturating_deadline() never overflow; a negative duration counts as zero;
// clock::time_point::max() is "never" (a timer armed for it never fires, on
// any clock, even on a manual_clock advanced to it).
#ifndef WEFT_CLOCK_HPP
#define WEFT_CLOCK_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <ratio>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace weft {
inline namespace v1 {

class timer_service;

namespace detail {
class timer_queue;
}  // namespace detail

/// A source of time for timers. weft has two: steady_clock (real time) and
/// manual_clock (moved by hand). A clock is used by reference and must
/// outlive every timer_service on it.
///
/// Thread-safety: now() may be called from any thread.
class clock {
 public:
  /// The duration type of every weft clock: steady_clock's (nanoseconds).
  using duration = std::chrono::steady_clock::duration;
  /// The time type of every weft clock. time_point::max() means never.
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock();
  clock(const clock&) = delete;
  clock& operator=(const clock&) = delete;

  /// The current time. Never decreases. Never throws.
  virtual time_point now() const noexcept = 0;

 protected:
  clock() noexcept = default;

 private:
  friend class timer_service;
  // A clock that moves only when told (manual_clock) fires the timers on it
  // itself, on the thread that moves it: it takes the queue and returns
  // true. A clock that moves by itself returns false, and the service runs
  // a thread that waits for real time to pass.
  virtual bool adopt(const std::shared_ptr<detail::timer_queue>& queue);
  // The service of `queue` is going away: forget it. Never throws.
  virtual void forget(const detail::timer_queue* queue) noexcept;
};

/// Real time: std::chrono::steady_clock. A timer_service on it has a thread
/// of its own that waits for the next deadline.
class steady_clock final : public clock {
 public:
  steady_clock() noexcept = default;
  /// std::chrono::steady_clock::now(). Thread-safe; never throws.
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
  /// The process-wide instance, never destroyed (timers may run during
  /// static destruction). Thread-safe; never throws.
  static steady_clock& instance() noexcept;
};

/// `d` as a clock::duration, for a timer: rounded up to whole nanoseconds
/// (a timer is never early), negative durations (and NaN) as zero, and
/// saturating at clock::duration::max() instead of overflowing (so
/// std::chrono::hours::max() means "never"). A pure function: thread-safe,
/// never throws.
template <class Rep, class Period>
clock::duration timer_duration(const std::chrono::duration<Rep, Period>& d) noexcept;

/// `t + d`, saturating at clock::time_point::max(); a negative `d` counts as
/// zero. A pure function: thread-safe, never throws.
inline clock::time_point saturating_deadline(clock::time_point t, clock::duration d) noexcept {
  using rep = clock::duration::rep;
  if (d <= clock::duration::zero()) return t;
  const rep base = t.time_since_epoch().count();
  // With base <= 0, base + d <= d cannot overflow.
  if (base > 0 && d.count() > std::numeric_limits<rep>::max() - base) return clock::time_point::max();
  return t + d;
}

/// Time that moves only when a test moves it: advance() and advance_to()
/// set it and fire, on the calling thread, every timer of every
/// timer_service on this clock that became due: in deadline order, ties in
/// the order they were armed, the clock standing at each timer's deadline
/// when it fires (a simulation sees the time each timer fired at). "Fire"
/// means the timer's task is handed to its executor: with a test's
/// manual_executor it runs when the test runs that executor, with
/// inline_executor() right inside advance(). A timer_service on a
/// manual_clock has no thread.
///
/// Thread-safety: every member may be called from any thread, concurrently,
/// also from a task that advance() fires (advance() holds no lock while it
/// hands tasks over). Concurrent advances each fire what they reach; each
/// timer fires once, never before its deadline. The clock must outlive
/// every timer_service on it.
class manual_clock final : public clock {
 public:
  /// A clock standing at `start` (default: the epoch, time_point()).
  explicit manual_clock(time_point start = time_point()) noexcept;
  ~manual_clock() override;

  /// Where the clock stands. Thread-safe; never throws.
  time_point now() const noexcept override;

  /// Moves the clock forward by `d` (saturating at time_point::max(), which
  /// fires no timer armed for it), firing what became due. Throws
  /// std::invalid_argument if `d` is negative; what advance_to() throws.
  template <class Rep, class Period>
  void advance(const std::chrono::duration<Rep, Period>& d) {
    if (d < std::chrono::duration<Rep, Period>::zero()) {
      throw std::invalid_argument("weft::manual_clock::advance: the duration argument d is negative");
    }
    step_to(saturating_deadline(now(), timer_duration(d)));
  }

  /// Moves the clock to `t`, stepping through the deadlines of the timers
  /// on it up to `t` and firing each as it is reached. Throws
  /// std::invalid_argument if `t` is before now() when called (advance()
  /// racing another thread's advance instead just fires what is due);
  /// std::bad_alloc. An executor that refuses a timer's task does not stop
  /// the advance (the task is abandoned, as executors do).
  void advance_to(time_point t);

  /// The earliest deadline of a timer armed on any timer_service on this
  /// clock, not counting time_point::max(); time_point::max() if there is
  /// none. A simulation moves the clock here next. Thread-safe; never
  /// throws.
  time_point next_deadline() const noexcept;

 private:
  bool adopt(const std::shared_ptr<detail::timer_queue>& queue) override;
  void forget(const detail::timer_queue* queue) noexcept override;
  std::vector<std::shared_ptr<detail::timer_queue>> queues() const;
  void step_to(time_point t);
  void move_to(time_point t) noexcept;

  std::atomic<clock::duration::rep> now_;
  mutable std::mutex mutex_;  // guards queues_
  std::vector<std::shared_ptr<detail::timer_queue>> queues_;
};

// ---- implementation --------------------------------------------------------

namespace detail {

// Integral counts in whole units of at least a nanosecond: exact, in
// integers.
template <class Rep, class Period>
clock::duration timer_duration_impl(const std::chrono::duration<Rep, Period>& d, std::true_type) noexcept {
  using ns = clock::duration;
  using ratio = std::ratio_divide<Period, ns::period>;  // nanoseconds per unit of d
  const auto count = d.count();
  if (count <= 0) return ns::zero();
  constexpr auto limit = std::numeric_limits<ns::rep>::max() / ratio::num;
  if (static_cast<std::uintmax_t>(count) > static_cast<std::uintmax_t>(limit)) return ns::max();
  return ns(static_cast<ns::rep>(count) * ratio::num);
}

// Floating counts and units finer than a nanosecond: through long double
// (64-bit mantissa on x86, so every int64 count is exact), rounded up.
template <class Rep, class Period>
clock::duration timer_duration_impl(const std::chrono::duration<Rep, Period>& d, std::false_type) noexcept {
  using ns = clock::duration;
  const long double x = std::chrono::duration<long double, std::nano>(d).count();
  if (!(x > 0)) return ns::zero();  // negative, zero, NaN
  if (x >= static_cast<long double>(std::numeric_limits<ns::rep>::max())) return ns::max();
  const auto whole = static_cast<ns::rep>(x);
  return ns(static_cast<long double>(whole) < x ? whole + 1 : whole);
}

}  // namespace detail

template <class Rep, class Period>
clock::duration timer_duration(const std::chrono::duration<Rep, Period>& d) noexcept {
  using ratio = std::ratio_divide<Period, clock::duration::period>;
  return detail::timer_duration_impl(
      d, std::integral_constant<bool, std::is_integral<Rep>::value && ratio::den == 1>());
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_CLOCK_HPP
