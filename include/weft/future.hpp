// weft/future.hpp: future<T>, the consumer end of an asynchronous result.
//
// A future holds a reference to a shared state. It is move-only; get() and
// every continuation (then, then_result, on_error, finally) consume it, so
// each outcome has one reader. share() gives a shared_future for many.
//
// Where continuations run: a future remembers an executor (the one its
// promise or async() was given; default_pool() otherwise) and every
// continuation runs there unless another is named, never on the thread that
// happened to fulfil the promise. `via(ex)` changes it for what follows.
//
// Memory ordering: everything the producer did before fulfilling the
// promise happens-before get() returns and before a continuation starts.
//
// Thread-safety: a future object is used by one thread at a time; distinct
// futures (and the promise) may be used concurrently.
#ifndef WEFT_FUTURE_HPP
#define WEFT_FUTURE_HPP

#include <chrono>
#include <exception>
#include <future>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/continuation.hpp"
#include "weft/detail/shared_state.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/result.hpp"

namespace weft {
inline namespace v1 {

template <class T>
class shared_future;

namespace detail {

/// wait_until() on any clock, for future and shared_future: waits on
/// steady_clock in steps, each as long as what `Clock` says is left until
/// `t` (rounded up; at most a day, so that no step overflows steady_clock),
/// and returns timeout only once Clock::now() has reached `t`. A clock that
/// jumps or runs at another rate can make the wait longer, never shorter.
/// The caller holds a reference to `s`; its producer may complete it from
/// any thread meanwhile. Throws what Clock::now() throws.
template <class Clock, class Duration>
std::future_status wait_until_on_clock(state_base& s, const std::chrono::time_point<Clock, Duration>& t) {
  using steady = std::chrono::steady_clock;
  for (;;) {
    if (s.ready()) return std::future_status::ready;
    const auto now = Clock::now();
    if (now >= t) return std::future_status::timeout;
    const std::chrono::duration<double> left = t - now;
    steady::duration step = std::chrono::hours(24);
    if (left < step) step = std::chrono::duration_cast<steady::duration>(left) + steady::duration(1);
    if (s.wait_until(steady::now() + step)) return std::future_status::ready;
  }
}

}  // namespace detail

/// The eventual result of an asynchronous operation: a T or an exception.
///
/// Every member except valid() throws future_error(no_state) on an invalid
/// future (default-constructed, moved-from or consumed).
template <class T>
class future {
  static_assert(!std::is_reference<T>::value, "future<T&> is not supported; use std::reference_wrapper<T>");

 public:
  using value_type = T;

  /// An invalid future.
  future() noexcept = default;
  future(future&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
  future& operator=(future&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = o.state_;
      o.state_ = nullptr;
    }
    return *this;
  }
  future(const future&) = delete;  // a future has one reader; see share()
  future& operator=(const future&) = delete;
  /// Dropping a future is allowed; an error nobody observed goes to the
  /// unhandled-error handler.
  ~future() { reset(); }

  /// True while the future refers to a shared state.
  bool valid() const noexcept { return state_ != nullptr; }

  /// True once the outcome is in (get() will not block).
  bool is_ready() const {
    detail::throw_if_no_state(state_);
    return state_->ready();
  }

  /// Blocks until the outcome is in, then returns the value or rethrows the
  /// error. Consumes the future. On a weft pool worker, a task of the same
  /// pool that has not started yet is run right here (as task_group::wait
  /// does); otherwise the waiting task is suspended (or, past a budget, the
  /// worker helps) and the worker runs other tasks of the pool meanwhile, so
  /// nested get() cannot starve it. Inside a task run by a
  /// weft::testing::simulation, a get() that would block throws
  /// std::logic_error instead (it would wait forever; see testing.hpp).
  T get() {
    detail::throw_if_no_state(state_);
    holder h{state_};
    state_ = nullptr;
    if (!h.s->ready()) h.s->wait();
    if (h.s->failed()) {
      h.s->mark_observed();  // only an error needs to know it was seen
      std::rethrow_exception(h.s->error_ref());
    }
    return static_cast<T>(std::move(h.s->value_ref()));
  }

  /// Blocks until the outcome is in; does not consume the future. On a pool
  /// worker it waits as get() does (running a not-yet-started task of the
  /// same pool inline). Inside a simulation's task it throws
  /// std::logic_error instead of blocking, as get() does.
  void wait() const {
    detail::throw_if_no_state(state_);
    if (!state_->ready()) state_->wait();
  }

  /// Waits at most `d` (negative means zero); returns ready or timeout.
  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return wait_until(std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
  }
  /// Waits until `t` at most; returns ready or timeout.
  std::future_status wait_until(std::chrono::steady_clock::time_point t) const {
    detail::throw_if_no_state(state_);
    if (state_->ready() || state_->wait_until(t)) return std::future_status::ready;
    return std::future_status::timeout;
  }
  /// Waits until `t` at most on any clock (system_clock, a user's clock
  /// meeting the Clock requirements), as std::future does; returns ready or
  /// timeout. It waits on steady_clock in steps and returns timeout only
  /// once Clock::now() has reached `t`, so a clock that jumps or runs at
  /// another rate can make the wait longer, never shorter. Does not consume
  /// the future; like every member, one thread at a time per future object.
  /// Throws future_error(no_state) if invalid, and what Clock::now() throws.
  template <class Clock, class Duration>
  std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& t) const {
    detail::throw_if_no_state(state_);
    return detail::wait_until_on_clock(*state_, t);
  }

  /// Runs `fn(value)` (or `fn()` for future<void>) on this future's
  /// executor once the value is in. An error skips `fn` and reaches the
  /// returned future. If `fn` returns future<U>, the result is future<U>.
  /// Consumes this future. Throws std::bad_alloc.
  template <class F>
  auto then(F&& fn) -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    return attach<detail::then_policy<T, typename std::decay<F>::type>,
                  typename detail::then_call<typename std::decay<F>::type, T>::type>(nullptr, std::forward<F>(fn));
  }
  /// As then(fn), but `fn` runs on `ex`, as do later continuations.
  template <class F>
  auto then(executor& ex, F&& fn) -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    return attach<detail::then_policy<T, typename std::decay<F>::type>,
                  typename detail::then_call<typename std::decay<F>::type, T>::type>(&ex, std::forward<F>(fn));
  }

  /// As then(fn), bound to `token`: if the token is cancelled when the
  /// continuation starts with a value, `fn` is dropped unrun (destroyed,
  /// with what it captured, before the returned future resolves) and the
  /// returned future fails with cancelled_error. An error skips `fn` and
  /// passes on, as with then(fn). The token is checked when the
  /// continuation starts: cancelling does not make it start earlier, nor
  /// stop `fn` once it runs (`fn` may poll the token itself). Consumes this
  /// future. Throws std::bad_alloc.
  template <class F>
  auto then(const cancellation_token& token, F&& fn)
      -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    using Fn = typename std::decay<F>::type;
    return attach<detail::cancellable_then_policy<T, Fn>, typename detail::then_call<Fn, T>::type>(
        nullptr, detail::then_policy<T, Fn>{std::forward<F>(fn)}, token);
  }
  /// As then(token, fn), but `fn` runs on `ex`, as do later continuations.
  template <class F>
  auto then(executor& ex, const cancellation_token& token, F&& fn)
      -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    using Fn = typename std::decay<F>::type;
    return attach<detail::cancellable_then_policy<T, Fn>, typename detail::then_call<Fn, T>::type>(
        &ex, detail::then_policy<T, Fn>{std::forward<F>(fn)}, token);
  }

  /// Runs `fn(result<T>)` on every outcome, value or error.
  template <class F>
  auto then_result(F&& fn) -> future<typename detail::unwrap<decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>::type> {
    return attach<detail::then_result_policy<T, typename std::decay<F>::type>,
                  decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>(nullptr, std::forward<F>(fn));
  }
  /// As then_result(fn), on `ex`.
  template <class F>
  auto then_result(executor& ex, F&& fn) -> future<typename detail::unwrap<decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>::type> {
    return attach<detail::then_result_policy<T, typename std::decay<F>::type>,
                  decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>(&ex, std::forward<F>(fn));
  }

  /// Recovers from an error of type E (or derived): `fn(E&)` returns a T, or
  /// a future<T>, that replaces it. Values and other errors pass through.
  template <class E, class F>
  future<T> on_error(F&& fn) {
    using R = decltype(std::declval<typename std::decay<F>::type&>()(std::declval<E&>()));
    static_assert(std::is_same<typename detail::unwrap<R>::type, T>::value,
                  "on_error<E>(fn): fn(E&) must return T or future<T>");
    return attach<detail::on_error_policy<T, E, typename std::decay<F>::type>, T>(nullptr, std::forward<F>(fn));
  }

  /// Runs `fn()` on every outcome and passes the outcome on; if `fn` throws,
  /// its exception replaces the outcome.
  template <class F>
  future<T> finally(F&& fn) {
    return attach<detail::finally_policy<T, typename std::decay<F>::type>, T>(nullptr, std::forward<F>(fn));
  }

  /// Makes later continuations (those attached without an executor) run on
  /// `ex`. Consumes this future and returns one for the same outcome.
  future via(executor& ex) {
    detail::throw_if_no_state(state_);
    state_->exec_ = ex;
    return std::move(*this);
  }

  /// The executor later continuations run on. Throws executor_shutdown
  /// if it was destroyed.
  executor& get_executor() const {
    detail::throw_if_no_state(state_);
    return state_->exec_.get();
  }

  /// Converts to a shared_future (many readers). Consumes this future.
  shared_future<T> share();

 private:
  friend struct detail::future_access;
  explicit future(detail::state<T>* s) noexcept : state_(s) {}

  struct holder {
    detail::state<T>* s;
    ~holder() { s->release(); }
  };

  void reset() noexcept {
    if (state_ != nullptr) {
      state_->release();
      state_ = nullptr;
    }
  }

  // Policy{args...} runs the continuation (see detail/continuation.hpp).
  template <class Policy, class R, class... A>
  future<typename detail::unwrap<R>::type> attach(executor* ex, A&&... args) {
    using out_t = typename detail::unwrap<R>::type;
    detail::throw_if_no_state(state_);
    detail::executor_ref child_ex = ex != nullptr ? detail::executor_ref(ex) : state_->exec_;
    auto* child = new detail::continuation<T, out_t, Policy, false>(child_ex, Policy{std::forward<A>(args)...});
    detail::state<T>* parent = state_;
    state_ = nullptr;
    parent->exec_ = child_ex;  // where the continuation itself runs
    parent->attach(child);     // the parent reference passes to the child
    return future<out_t>(child);
  }

  template <class U>
  friend class future;

  detail::state<T>* state_ = nullptr;
};

/// A future that is ready with `value`; continuations run on `ex`.
template <class T>
future<typename std::decay<T>::type> make_ready_future(T&& value, executor& ex = detail::default_executor()) {
  auto* s = new detail::state<typename std::decay<T>::type>(ex, 1);
  s->set_value(std::forward<T>(value));
  return detail::future_access::adopt(s);
}
/// A ready future<void>.
inline future<void> make_ready_future(executor& ex = detail::default_executor()) {
  auto* s = new detail::state<void>(ex, 1);
  s->set_value();
  return detail::future_access::adopt(s);
}
/// A future that failed with `e`. Throws std::invalid_argument if `e` is null.
template <class T>
future<T> make_exceptional_future(std::exception_ptr e, executor& ex = detail::default_executor()) {
  if (!e) throw std::invalid_argument("weft::make_exceptional_future: the exception_ptr argument 'e' is null");
  auto* s = new detail::state<T>(ex, 1);
  s->set_error(std::move(e));
  return detail::future_access::adopt(s);
}
/// A future that failed with a copy of `ex_value`.
template <class T, class E>
future<T> make_exceptional_future(E ex_value, executor& ex = detail::default_executor()) {
  return make_exceptional_future<T>(std::make_exception_ptr(std::move(ex_value)), ex);
}

}  // namespace v1
}  // namespace weft

#include "weft/shared_future.hpp"

#endif  // WEFT_FUTURE_HPP
