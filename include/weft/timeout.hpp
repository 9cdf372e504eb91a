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
//
// Cost: two allocations (the result's state, which is also the race and
// the callback on `f`, and the timer's node) and one clock read; no
// thread is woken when the completion cancels the timer.
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
#include "weft/detail/continuation.hpp"
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

/// The race between a future and its timer, and the returned future's
/// state in one allocation (with the timer's node, two in all). `decided`
/// is claimed by one side only. The input's arrival (a callback node on
/// the input's state, put off past a bound like fan_in's) that wins cancels
/// the timer; the timer's task that wins cancels the work's source and
/// sets the late outcome. References: the returned future's, the input
/// arrival's (dropped when it has arrived) and the timer task's (dropped
/// when the task is run or destroyed: fired, cancelled, or shut down).
///
/// The handle is written before the input is attached and read only by
/// the arrival, which the attach orders after it: no lock is needed.
template <class Out, class T, class OnTime, class Late>
class timeout_state final : public state<Out> {
 public:
  timeout_state(executor_ref ex, timer_service& svc, boost::optional<cancellation_source> src, OnTime on_time,
                Late late)
      : state<Out>(ex, 2), svc_(svc), source_(std::move(src)), on_time_(std::move(on_time)), late_(std::move(late)) {
    node_.owner = this;
  }

  /// Arms the timer for `d` (takes a reference for its task). Throws what
  /// arm_after() throws (the task, and its reference, are then gone).
  void arm(clock::duration d) {
    this->add_ref();
    handle_ = svc_.arm_after(d, unique_task(timer_task{this}));
  }

  /// Attaches to `input`, whose reference this takes over. Its arrival may
  /// complete this state before attach returns.
  void start(state<T>* input) noexcept {
    input_ = input;
    input->attach(&node_);
  }

  // For the policies: as a promise's setters (deferrable when the input
  // arrived at the end of the task that produced it, as fan_in does).
  template <class... A>
  void set_value(A&&... a) {
    this->set_value_deferrable_if(finishing_deferrable_, std::forward<A>(a)...);
  }
  void set_exception(std::exception_ptr e) noexcept {
    this->set_error_deferrable_if(finishing_deferrable_, std::move(e));
  }

 private:
  struct node final : callback_node, deferred_arrival {
    timeout_state* owner = nullptr;
    bool deferrable = false;
    void fire(state_base*) noexcept override { arrive_or_defer(*this); }
    void fire_deferrable(state_base*) noexcept override {
      deferrable = !arrival_must_wait();
      arrive_or_defer(*this);
    }
    void arrive() noexcept override { owner->arrived(deferrable); }
  };

  // The timer's task: holds a reference, dropped whether it runs or not.
  struct timer_task {
    timeout_state* self;
    explicit timer_task(timeout_state* s) noexcept : self(s) {}
    timer_task(timer_task&& o) noexcept : self(o.self) { o.self = nullptr; }
    timer_task(const timer_task&) = delete;
    timer_task& operator=(const timer_task&) = delete;
    timer_task& operator=(timer_task&&) = delete;
    ~timer_task() {
      if (self != nullptr) self->release();
    }
    void operator()() { self->timed_out(); }
  };

  bool decide() noexcept { return !decided_.exchange(true); }  // seq_cst: a plain, rare race

  void arrived(bool deferrable) noexcept {
    if (decide()) {
      if (handle_) svc_.cancel(handle_);
      finishing_deferrable_ = deferrable;
      try {
        on_time_(*this, take_result(*input_, std::is_void<T>()));
      } catch (...) {
        set_exception(std::current_exception());
      }
    }
    input_->release();
    this->release();
  }

  void timed_out() noexcept {
    if (!decide()) return;
    if (source_) source_->cancel();
    try {
      late_(*this);
    } catch (...) {
      set_exception(std::current_exception());
    }
  }

  node node_;
  state<T>* input_ = nullptr;
  timer_service& svc_;
  boost::optional<cancellation_source> source_;  // none: the work has none
  std::atomic<bool> decided_{false};
  bool finishing_deferrable_ = false;  // only the deciding arrival writes it
  timer_handle handle_;
  OnTime on_time_;
  Late late_;
};

/// Races `f` against `d` on `svc`. `on_time` maps f's result to the
/// returned future's outcome (may throw: that error is the outcome);
/// `late` makes the time-out's outcome (the outcome of a throw, too).
template <class Out, class T, class OnTime, class Late>
future<Out> race_timer(timer_service& svc, future<T> f, clock::duration d, boost::optional<cancellation_source> source,
                       OnTime on_time, Late late) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  state<T>* input = future_access::release(f);
  using state_t = timeout_state<Out, T, OnTime, Late>;
  state_t* race = nullptr;
  try {
    race = new state_t(input->exec_, svc, std::move(source), std::move(on_time), std::move(late));
    if (!input->ready()) race->arm(d);  // a ready future wins without a timer
  } catch (...) {
    if (race != nullptr) {
      race->release();  // the arrival's reference: never attached
      race->release();  // the future's
    }
    input->release();
    throw;
  }
  future<Out> result_future = future_access::adopt<Out>(race);
  race->start(input);
  return result_future;
}

// The policies set a timeout_state through its promise-like setters.
template <class T>
struct set_timed {
  template <class P>
  void operator()(P& p, result<T>&& r) const {
    p.set_value(timed_t<T>::on_time(std::move(r)));
  }
};
template <class T>
struct set_late {
  template <class P>
  void operator()(P& p) const {
    p.set_value(timed_t<T>::late());
  }
};
template <class T>
struct pass_on {
  template <class P>
  void operator()(P& p, result<T>&& r) const {
    set_from(p, std::move(r), std::is_void<T>());
  }
  template <class P>
  static void set_from(P& p, result<T>&& r, std::false_type) {
    p.set_value(std::move(r).value());
  }
  template <class P>
  static void set_from(P& p, result<T>&& r, std::true_type) {
    r.value();
    p.set_value();
  }
};
constexpr const char* late_message = "weft::timeout: the deadline passed before the future completed";
template <class T>
struct fail_late {
  const char* what;
  template <class P>
  void operator()(P& p) const {
    p.set_exception(std::make_exception_ptr(timeout_error(what)));
  }
};

}  // namespace detail

/// `f`'s value, or none if `d` passes first (bool for future<void>: true
/// if `f` completed in time); an error of `f` in time is the result's
/// error. Times `d` on `svc`. `f` keeps running after a time-out and its
/// late outcome is dropped (an error it ends with is not reported: the
/// caller chose to stop waiting for it). Consumes `f`. Thread-safe for
/// distinct futures. Throws future_error(no_state) if `f` is invalid,
/// executor_shutdown if `svc` was shut down, std::bad_alloc. The result
/// continues on `f`'s executor (one that was destroyed fails its
/// continuations with executor_shutdown, as any future's).
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
