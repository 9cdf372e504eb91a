// weft/timeout.hpp: a deadline on a future, on a timer service.
//
//   with_timeout(f, d) -> future<boost::optional<T>>  (none: time ran out;
//                         future<bool> for future<void>: false on time-out)
//   timeout(f, d)      -> future<T>, failing with timeout_error
//
// Either races `f` against a timer armed for `d` on a timer_service (the
// default pool's steady one, or one given: a manual_clock's in tests).
// Exactly one side wins (one atomic exchange); the completion that wins
// cancels the timer, so no timer is left pending (timer_service::pending()
// goes back down), and a time-out that wins cancels the work's
// cancellation_source when one is given (the work then stops at its next
// check). A future already ready when the call is made gives its outcome,
// even with a zero `d`, and arms nothing. The result continues on `f`'s
// executor. A negative `d` is zero; a huge one never times out.
#ifndef WEFT_TIMEOUT_HPP
#define WEFT_TIMEOUT_HPP

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/optional.hpp>

#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/timer.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// What with_timeout() gives for a future<T>: boost::optional<T>, or bool
/// for void.
template <class T>
struct timed_t {
  using type = boost::optional<T>;
  static type on_time(result<T>&& r) { return type(std::move(r).value()); }
  static type late() { return type(); }
};
template <>
struct timed_t<void> {
  using type = bool;
  static type on_time(result<void>&& r) {
    r.value();  // rethrows an error
    return true;
  }
  static type late() { return false; }
};

/// The race between a future and its timer. `decided` is claimed by one
/// side only. The handle is set under `lock` by the arming call; the
/// completion that wins cancels it under the same lock, or, if the arming
/// call has not taken the lock yet, that call sees `decided` and arms
/// nothing. The timer task and the continuation each hold a reference.
template <class Out>
struct timeout_race {
  timeout_race(executor& ex, timer_service& s, boost::optional<cancellation_source> src)
      : out(ex), svc(s), source(std::move(src)) {}
  bool decide() noexcept { return !decided.exchange(true); }  // seq_cst: a plain, rare race
  void cancel_timer() noexcept {
    std::lock_guard<std::mutex> guard(lock);
    if (handle) svc.cancel(handle);
  }
  promise<Out> out;
  timer_service& svc;
  boost::optional<cancellation_source> source;  // none: the work has none
  std::atomic<bool> decided{false};
  std::mutex lock;
  timer_handle handle;
};

/// Races `f` against `d` on `svc`. `on_time` maps f's result to the
/// returned future's outcome (may throw: that error is the outcome);
/// `late` makes the time-out's outcome (the outcome of a throw, too).
template <class Out, class T, class OnTime, class Late>
future<Out> race_timer(timer_service& svc, future<T> f, clock::duration d, boost::optional<cancellation_source> source,
                       OnTime on_time, Late late) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  auto race = std::make_shared<timeout_race<Out>>(f.get_executor(), svc, std::move(source));
  future<Out> result_future = race->out.get_future();
  const bool armed = !f.is_ready();  // a ready future wins without a timer
  if (armed) {
    std::lock_guard<std::mutex> guard(race->lock);
    race->handle = svc.arm_after(d, unique_task([race, late]() mutable {
      if (!race->decide()) return;
      if (race->source) race->source->cancel();
      try {
        late(race->out);
      } catch (...) {
        race->out.set_exception(std::current_exception());
      }
    }));
  }
  std::move(f).then_result(inline_executor(), [race, on_time](result<T> r) mutable {
    if (!race->decide()) return;
    race->cancel_timer();
    try {
      on_time(race->out, std::move(r));
    } catch (...) {
      race->out.set_exception(std::current_exception());
    }
  });
  return result_future;
}

template <class T>
struct set_timed {
  void operator()(promise<typename timed_t<T>::type>& p, result<T>&& r) const {
    p.set_value(timed_t<T>::on_time(std::move(r)));
  }
};
template <class T>
struct set_late {
  void operator()(promise<typename timed_t<T>::type>& p) const { p.set_value(timed_t<T>::late()); }
};
template <class T>
struct pass_on {
  void operator()(promise<T>& p, result<T>&& r) const { set_from(p, std::move(r), std::is_void<T>()); }
  static void set_from(promise<T>& p, result<T>&& r, std::false_type) { p.set_value(std::move(r).value()); }
  static void set_from(promise<T>& p, result<T>&& r, std::true_type) {
    r.value();
    p.set_value();
  }
};
constexpr const char* late_message = "weft::timeout: the deadline passed before the future completed";
template <class T>
struct fail_late {
  const char* what;
  void operator()(promise<T>& p) const { p.set_exception(std::make_exception_ptr(timeout_error(what))); }
};

}  // namespace detail

/// `f`'s value, or none if `d` passes first (bool for future<void>: true
/// if `f` completed in time); an error of `f` in time is the result's
/// error. Times `d` on `svc`. `f` keeps running after a time-out and its
/// late outcome is dropped (an error it ends with is not reported: the
/// caller chose to stop waiting for it). Consumes `f`. Thread-safe for
/// distinct futures. Throws future_error(no_state) if `f` is invalid,
/// executor_shutdown if `svc` was shut down (or `f`'s executor destroyed),
/// std::bad_alloc.
template <class T, class Rep, class Period>
future<typename detail::timed_t<T>::type> with_timeout(timer_service& svc, future<T> f,
                                                        const std::chrono::duration<Rep, Period>& d) {
  return detail::race_timer<typename detail::timed_t<T>::type>(svc, std::move(f), timer_duration(d), boost::none,
                                                               detail::set_timed<T>(), detail::set_late<T>());
}
/// As with_timeout(svc, f, d); a time-out also cancels `work` (the source
/// whose token the work behind `f` checks), so the work stops too.
template <class T, class Rep, class Period>
future<typename detail::timed_t<T>::type> with_timeout(timer_service& svc, future<T> f,
                                                        const std::chrono::duration<Rep, Period>& d,
                                                        const cancellation_source& work) {
  return detail::race_timer<typename detail::timed_t<T>::type>(svc, std::move(f), timer_duration(d), work,
                                                               detail::set_timed<T>(), detail::set_late<T>());
}
/// with_timeout on default_timer_service() (the steady clock).
template <class T, class Rep, class Period>
future<typename detail::timed_t<T>::type> with_timeout(future<T> f, const std::chrono::duration<Rep, Period>& d) {
  return with_timeout(default_timer_service(), std::move(f), d);
}
/// with_timeout on default_timer_service(), cancelling `work` on time-out.
template <class T, class Rep, class Period>
future<typename detail::timed_t<T>::type> with_timeout(future<T> f, const std::chrono::duration<Rep, Period>& d,
                                                        const cancellation_source& work) {
  return with_timeout(default_timer_service(), std::move(f), d, work);
}

/// `f`'s outcome, or timeout_error if `d` passes first; otherwise as
/// with_timeout(svc, f, d).
template <class T, class Rep, class Period>
future<T> timeout(timer_service& svc, future<T> f, const std::chrono::duration<Rep, Period>& d) {
  return detail::race_timer<T>(svc, std::move(f), timer_duration(d), boost::none, detail::pass_on<T>(),
                               detail::fail_late<T>{detail::late_message});
}
/// As timeout(svc, f, d); a time-out also cancels `work`.
template <class T, class Rep, class Period>
future<T> timeout(timer_service& svc, future<T> f, const std::chrono::duration<Rep, Period>& d,
                  const cancellation_source& work) {
  return detail::race_timer<T>(svc, std::move(f), timer_duration(d), work, detail::pass_on<T>(),
                               detail::fail_late<T>{detail::late_message});
}
/// timeout on default_timer_service() (the steady clock).
template <class T, class Rep, class Period>
future<T> timeout(future<T> f, const std::chrono::duration<Rep, Period>& d) {
  return timeout(default_timer_service(), std::move(f), d);
}
/// timeout on default_timer_service(), cancelling `work` on time-out.
template <class T, class Rep, class Period>
future<T> timeout(future<T> f, const std::chrono::duration<Rep, Period>& d, const cancellation_source& work) {
  return timeout(default_timer_service(), std::move(f), d, work);
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_TIMEOUT_HPP
