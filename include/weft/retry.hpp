// weft/retry.hpp: call a function again after a failure, waiting a
// backoff on a timer between the calls (tenacity's @retry, or a Python loop
// of `try: return await f()` / `except: await asyncio.sleep(backoff)`).
//
//   retry(fn, policy) -> future<T>     fn returns T or future<T>
//   retry_backoff(policy).next()       the delays retry() waits, one by one
//
// Each attempt is a task the timer hands to the policy's executor when the
// backoff has passed (the first attempt is submitted at once): no thread
// sleeps, no worker is held during a backoff, and an attempt never starts
// inside the previous one's continuation, so any number of attempts runs
// on a flat stack. One shared state holds the function, the policy, the
// backoff's random generator, the attempt count and the promise; the
// outcome is decided once, under the state's mutex, by whichever comes
// first: a value, an error not to retry, the last attempt's error, the
// deadline, the token's cancellation, or the timer service shutting down.
//
// The delays (AWS Architecture Blog, "Exponential Backoff And Jitter"),
// for the n-th retry (n = 0 after the first failure), with
// exp(n) = min(max_delay, base_delay * multiplier^n):
//   none          exp(n)
//   full          uniform(0, exp(n))
//   equal         exp(n)/2 + uniform(0, exp(n)/2)
//   decorrelated  min(max_delay, uniform(base_delay, 3 * previous)), the
//                 first previous being base_delay (multiplier unused)
// The arithmetic saturates: exp(n) stops growing at max_delay, so a
// thousand attempts cannot overflow. The random numbers come from a
// SplitMix64 generator (64 bits of state) seeded with the policy's seed,
// mapped to ranges by a fixed formula (not a std:: distribution, whose
// output differs between standard libraries): the same seed gives the same
// delays everywhere. (std::mt19937_64 would cost 2.5 KB per retry and a few
// microseconds to seed; docs/decisions.md, "Retry".)
#ifndef WEFT_RETRY_HPP
#define WEFT_RETRY_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/clock.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timer.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {

/// How retry() spreads its delays; see the header comment for the formulas.
enum class retry_jitter {
  none,          ///< exactly base, base*m, base*m^2, ... capped at max_delay
  full,          ///< uniform between 0 and the capped exponential delay
  equal,         ///< half the capped exponential delay, plus uniform up to the other half
  decorrelated,  ///< uniform between base and three times the previous delay, capped
};

/// What retry() does: how often, how long it waits between attempts, which
/// errors it retries, when it gives up, and where it waits and calls. A
/// plain value: copy it, set the fields, pass it. retry() and
/// retry_backoff check it and throw std::invalid_argument, naming the
/// field, for a max_attempts below 1, a negative base_delay, max_delay or
/// time_limit, a base_delay above max_delay, a multiplier below 1, infinite
/// or NaN, a jitter outside the enumeration, and ex == &inline_executor().
///
/// Thread-safety: a plain struct; retry() copies what it needs, so a policy
/// may be changed or destroyed once retry() has returned.
struct retry_policy {
  /// Calls in all, the first one included (1: no retry).
  int max_attempts = 3;
  /// The first retry's delay, before jitter.
  clock::duration base_delay = std::chrono::milliseconds(100);
  /// The cap on every delay, after the exponential growth and the jitter.
  clock::duration max_delay = std::chrono::seconds(30);
  /// The exponential growth per retry (none, full, equal jitter); >= 1.
  double multiplier = 2.0;
  /// full: the blog's recommendation; it spreads retries of many callers
  /// the most.
  retry_jitter jitter = retry_jitter::full;
  /// Whether an error is worth another attempt. Empty: every error is
  /// (an empty function is the default). A cancelled_error is never
  /// retried whatever this says, and is not shown to it. Called on the
  /// thread that completed the failed attempt (the executor's thread when
  /// fn threw or returned a failed future, the thread that failed fn's
  /// future otherwise), never concurrently with itself. When it says no
  /// the retry fails at once with that error, as it is (not wrapped in a
  /// retry_error: the caller's handlers for that error see it); when it
  /// throws, the retry fails with what it threw.
  std::function<bool(const std::exception_ptr&)> retry_if;
  /// Cancelling its source stops the retry: no attempt starts afterwards,
  /// a pending backoff's timer is cancelled, and the future fails with
  /// cancelled_error at once (once a call of fn running on another thread
  /// right then has returned; a future fn returned is not waited for). A
  /// token cancelled already: fn is never called. fn is not given the
  /// token: capture it to stop a long attempt part way.
  cancellation_token token;
  /// The retry's deadline on the timer service's clock; time_point::max()
  /// (the default): none. The deadline in force is the earlier of this
  /// and time_limit after the call to retry().
  clock::time_point deadline = clock::time_point::max();
  /// The longest the retry may run, counted from the call to retry() on
  /// the timer service's clock; clock::duration::max() (the default):
  /// no limit. With a deadline in force, no attempt starts at or after it,
  /// and a backoff that would end at or after it is not begun: the retry
  /// fails at once with timeout_error. The deadline does not cut a running
  /// attempt short (wrap fn's future in timeout() for that), and a value
  /// that arrives after it is still the result.
  clock::duration time_limit = clock::duration::max();
  /// Seeds the jitter's random generator: the same seed gives the same
  /// delays. 0 (the default): a seed drawn for each retry, so that many
  /// callers failing together do not retry in step.
  std::uint64_t seed = 0;
  /// Where backoffs wait. nullptr (the default): default_timer_service(),
  /// on the steady clock. Must outlive the retry's completion.
  timer_service* timers = nullptr;
  /// Where fn is called: every attempt is a task on it. nullptr (the
  /// default): default_pool(). The returned future's continuations run on
  /// it too. Must outlive the retry's completion, and must not run a task
  /// inside execute() (so not inline_executor(): each attempt would nest
  /// in the previous one's stack).
  executor* ex = nullptr;
};

/// The sequence of delays retry() waits with a policy: next() gives the
/// delay before the first retry, then the second, and so on. retry() uses
/// one per call; it is public so a caller can see (and test) the delays a
/// policy and a seed give. See the header comment for the formulas.
///
/// Thread-safety: a plain value; one thread at a time.
class retry_backoff {
 public:
  /// The delays of `policy` (its delays, multiplier, jitter and seed; the
  /// other fields are not used). Throws std::invalid_argument for a policy
  /// retry() refuses, naming the field.
  explicit retry_backoff(const retry_policy& policy);

  /// The delay before the next retry, between 0 and max_delay; advances
  /// the sequence. Never throws.
  clock::duration next() noexcept;

  /// The seed of the generator: the policy's, or the one drawn for it when
  /// the policy's is 0 (a backoff made with this seed gives the same
  /// delays). Never throws.
  std::uint64_t seed() const noexcept { return seed_; }

 private:
  clock::duration uniform(clock::duration lo, clock::duration hi) noexcept;
  std::uint64_t draw() noexcept;

  clock::duration base_;
  clock::duration cap_;
  double multiplier_;
  retry_jitter jitter_;
  clock::duration exp_;   // base * multiplier^n, saturated at cap_
  clock::duration prev_;  // decorrelated: the previous delay
  std::uint64_t seed_;
  std::uint64_t state_;  // SplitMix64's
};

namespace detail {

/// Throws std::invalid_argument, "`who`: policy.<field> ...", for a policy
/// retry() refuses.
void check_retry_policy(const retry_policy& p, const char* who);
/// The retry's errors, as exception_ptrs; never throw (std::bad_alloc's
/// exception_ptr when there is no memory for them).
std::exception_ptr retry_gave_up(const std::exception_ptr& last, int attempts) noexcept;
std::exception_ptr retry_too_late(const std::exception_ptr& last, int attempts) noexcept;
std::exception_ptr retry_cancelled() noexcept;

/// The value type of a retry whose function returns R.
template <class R>
struct retry_value {
  using type = R;
};
template <class U>
struct retry_value<future<U>> {
  using type = U;
};

/// One call of fn, as it came out: a result now, or a future for later.
template <class T>
struct retry_call {
  std::unique_ptr<result<T>> now;
  future<T> later;

  template <class F>
  static retry_call of(F& fn) {
    retry_call c;
    try {
      using R = typename std::decay<decltype(fn())>::type;
      c.take(fn, std::integral_constant<int, std::is_void<R>::value ? 0 : std::is_same<R, future<T>>::value ? 1 : 2>());
    } catch (...) {
      c.now.reset(new result<T>(std::current_exception()));
    }
    if (!c.now && !c.later.valid()) {  // fn returned an empty future
      c.now.reset(new result<T>(std::make_exception_ptr(future_error(future_errc::no_state))));
    }
    return c;
  }

 private:
  template <class F>
  void take(F& fn, std::integral_constant<int, 0>) {
    fn();
    now.reset(new result<T>());
  }
  template <class F>
  void take(F& fn, std::integral_constant<int, 1>) {
    later = fn();
  }
  template <class F>
  void take(F& fn, std::integral_constant<int, 2>) {
    now.reset(new result<T>(fn()));
  }
};

/// The state one retry() shares between its attempt tasks, the
/// continuations of fn's futures and the cancellation callback.
///
/// Everything from `lock_` on is guarded by it. `busy_` counts the threads
/// inside a section that works outside the lock on what a completion would
/// take away: a call of fn, or the arming of a timer (arming may hand a
/// task to the executor, and an executor that refuses it abandons it,
/// which decides the outcome and takes the lock, so it cannot be held
/// there). Whoever decides the outcome while busy_ > 0 leaves it in
/// `outcome_`, and the last thread to leave completes the retry: it cancels
/// the pending timer, destroys fn and the cancellation callback, and only
/// then sets the promise, so once the future is ready no timer of the
/// retry is pending and fn is gone.
template <class T, class F>
class retry_state : public std::enable_shared_from_this<retry_state<T, F>> {
 public:
  retry_state(F&& fn, const retry_policy& p, timer_service& svc, executor& ex, clock::time_point deadline)
      : out_(ex),
        svc_(svc),
        ex_(ex),
        deadline_(deadline),
        token_(p.token),
        retry_if_(p.retry_if),
        max_attempts_(p.max_attempts),
        backoff_(p),
        fn_(new F(std::move(fn))) {}

  future<T> get_future() { return out_.get_future(); }

  /// Registers on the token (or fails at once if it is cancelled) and
  /// submits the first attempt.
  void start() {
    if (token_.is_cancelled()) {
      decide(result<T>(retry_cancelled()));
      return;
    }
    std::weak_ptr<retry_state> weak = this->shared_from_this();
    std::unique_ptr<cancellation_callback> cb(new cancellation_callback(token_, [weak] {
      if (std::shared_ptr<retry_state> s = weak.lock()) s->decide(result<T>(retry_cancelled()));
    }));
    {
      std::lock_guard<std::mutex> guard(lock_);
      if (!done_) {
        callback_ = std::move(cb);  // else cancelled already, from the constructor: cb goes now
      }
    }
    cb.reset();
    try {
      ex_.execute(attempt_task(this->shared_from_this()));
    } catch (...) {
      // The executor abandoned the task, which decided the outcome
      // (executor_shutdown); this decides it only if that did not.
      decide(result<T>(std::current_exception()));
    }
  }

 private:
  /// A timer's (or the first) attempt, run on the executor. Abandoned
  /// (its executor refused it, the timer service shut down), it fails the
  /// retry with the reason.
  struct attempt_task : abandonable_task {
    explicit attempt_task(std::shared_ptr<retry_state> state) noexcept : s(std::move(state)) {}
    std::shared_ptr<retry_state> s;
    void operator()() { s->attempt(); }
    void abandon(std::exception_ptr why) noexcept { s->decide(result<T>(std::move(why))); }
  };

  /// A future of fn's, completed: its outcome goes on to the next step.
  struct attempt_done {
    std::shared_ptr<retry_state> s;
    void operator()(result<T> r) { s->settle(std::move(r)); }
  };

  void attempt() {
    F* fn;
    {
      std::unique_lock<std::mutex> guard(lock_);
      if (done_) return;
      if (token_.is_cancelled()) {
        // The callback decides too, maybe a moment later; the first wins.
        guard.unlock();
        decide(result<T>(retry_cancelled()));
        return;
      }
      if (deadline_ != clock::time_point::max() && svc_.now() >= deadline_) {
        // The timer was on time, but the executor ran the attempt late.
        std::exception_ptr e = retry_too_late(last_error_, attempts_);
        guard.unlock();
        decide(result<T>(std::move(e)));
        return;
      }
      ++attempts_;
      ++busy_;
      fn = fn_.get();
    }
    retry_call<T> c = retry_call<T>::of(*fn);
    if (!leave_busy(timer_handle(), 0)) {
      // Cancelled during the call: its future's outcome is not wanted, and
      // an error it ends with is no unhandled error (the caller stopped
      // waiting for it), so it is consumed, not dropped.
      if (c.later.valid()) std::move(c.later).then_result(inline_executor(), [](result<T>) {});
      return;
    }
    if (c.now) {
      settle(std::move(*c.now));
    } else {
      // Inline: the next step only decides, or arms a timer; it never
      // calls fn, so the stack does not grow with the attempts.
      std::move(c.later).then_result(inline_executor(), attempt_done{this->shared_from_this()});
    }
  }

  /// The attempt ended with `r`: done, or a backoff and another attempt.
  void settle(result<T> r) {
    if (r.has_value()) {
      decide(std::move(r));
      return;
    }
    const std::exception_ptr e = r.error();
    if (is_cancelled_error(e)) {
      decide(std::move(r));
      return;
    }
    if (retry_if_) {
      bool again;
      try {
        again = retry_if_(e);
      } catch (...) {
        decide(result<T>(std::current_exception()));
        return;
      }
      if (!again) {
        decide(std::move(r));
        return;
      }
    }
    int epoch;
    clock::duration d;
    {
      std::unique_lock<std::mutex> guard(lock_);
      if (done_) return;
      last_error_ = e;
      if (attempts_ >= max_attempts_) {
        std::exception_ptr out = retry_gave_up(e, attempts_);
        guard.unlock();
        decide(result<T>(std::move(out)));
        return;
      }
      d = backoff_.next();
      // "Ends at or after the deadline": the attempt it leads to could not
      // start, so there is no point waiting for it.
      if (deadline_ != clock::time_point::max() && saturating_deadline(svc_.now(), d) >= deadline_) {
        std::exception_ptr out = retry_too_late(e, attempts_);
        guard.unlock();
        decide(result<T>(std::move(out)));
        return;
      }
      epoch = attempts_;
      ++busy_;
    }
    timer_handle h;
    try {
      h = svc_.arm_after(d, ex_, attempt_task(this->shared_from_this()));
    } catch (...) {
      // Shut down: arm_after abandoned the task first, which decided.
      leave_busy(timer_handle(), epoch);
      decide(result<T>(std::current_exception()));
      return;
    }
    leave_busy(std::move(h), epoch);
  }

  /// Decides the outcome, unless it is decided already; completes now, or
  /// leaves that to the last busy thread. Never throws.
  void decide(result<T>&& r) noexcept {
    std::unique_lock<std::mutex> guard(lock_);
    if (done_) return;
    done_ = true;
    outcome_.reset(new (std::nothrow) result<T>(std::move(r)));
    if (busy_ == 0) complete(guard);
  }

  /// Ends a busy section; `h` is the timer it armed for the attempt after
  /// `epoch`, if any. False if the outcome is decided (the retry is then
  /// completed here, if this was the last busy thread).
  bool leave_busy(timer_handle h, int epoch) noexcept {
    std::unique_lock<std::mutex> guard(lock_);
    --busy_;
    if (!done_) {
      // Once attempts_ moved past epoch, the timer fired and its attempt
      // started: the handle is spent, and must not replace a newer one.
      if (h && attempts_ == epoch) timer_ = std::move(h);
      return true;
    }
    if (h) {
      // Decided while this thread armed: the timer is still its to cancel.
      timer_handle stale = std::move(h);
      guard.unlock();
      svc_.cancel(stale);
      guard.lock();
    }
    if (busy_ == 0 && !completed_) complete(guard);
    return false;
  }

  /// Takes what the retry held, under `guard`; releases the lock; cancels
  /// the timer, destroys fn and the callback (outside the lock: fn's
  /// captures may do anything, and a callback's destructor waits for its
  /// function, which takes the lock), then sets the promise.
  void complete(std::unique_lock<std::mutex>& guard) noexcept {
    completed_ = true;
    timer_handle pending = std::move(timer_);
    std::unique_ptr<F> fn = std::move(fn_);
    std::unique_ptr<cancellation_callback> cb = std::move(callback_);
    std::unique_ptr<result<T>> r = std::move(outcome_);
    guard.unlock();
    try {
      svc_.cancel(pending);  // throws only for another service's handle
    } catch (...) {
    }
    fn.reset();
    cb.reset();  // from inside its own function (a cancel), this does not wait
    try {
      if (r) {
        out_.set_result(std::move(*r));
      } else {
        out_.set_exception(std::make_exception_ptr(std::bad_alloc()));
      }
    } catch (...) {
      report_unhandled_error(std::current_exception());  // cannot happen: set once, here
    }
  }

  promise<T> out_;
  timer_service& svc_;
  executor& ex_;
  const clock::time_point deadline_;
  const cancellation_token token_;
  const std::function<bool(const std::exception_ptr&)> retry_if_;
  const int max_attempts_;

  std::mutex lock_;
  retry_backoff backoff_;
  std::unique_ptr<F> fn_;
  int attempts_ = 0;
  int busy_ = 0;
  bool done_ = false;
  bool completed_ = false;
  std::exception_ptr last_error_;
  std::unique_ptr<result<T>> outcome_;
  timer_handle timer_;
  std::unique_ptr<cancellation_callback> callback_;
};

}  // namespace detail

/// The future of `fn()` (a callable taking no arguments, returning T or
/// future<T>), called again after each failure as `policy` says: after a
/// failed attempt (fn threw, or its future failed), if the policy retries
/// that error and attempts are left, waits the next backoff delay on
/// policy.timers and calls fn again, as a task on policy.ex. Attempts run
/// one at a time; exactly k+1 calls are made when the k-th retry succeeds.
///
/// The returned future (continuing on policy.ex) ends with:
/// - the value of the first attempt that succeeds;
/// - retry_error (errors.hpp; the last error nested in it, and the attempt
///   count) once max_attempts calls have failed;
/// - the error itself, not wrapped, when policy.retry_if says no to it,
///   or what retry_if threw;
/// - a cancelled_error of fn's, as it is (never retried);
/// - cancelled_error ("weft::retry: cancelled") when policy.token is
///   cancelled: at once, during a backoff too (its timer is cancelled);
///   fn is never called if the token is cancelled when retry() is called;
/// - timeout_error when the deadline is in force and the next attempt
///   could not start before it: at once, instead of a backoff that would
///   end at or after it, or when an attempt's task runs at or after it.
///   The last error, if there was an attempt, is its nested exception
///   (std::rethrow_if_nested), and what() names it and the attempt count;
/// - executor_shutdown if policy.ex refuses an attempt or policy.timers
///   shuts down during a backoff.
/// fn is destroyed (and what it captured) before the future completes, or,
/// when the token is cancelled during a call of fn, as soon as that call
/// returns; a future of fn's that is pending then is left to complete
/// unobserved.
///
/// Thread-safety: retry() may be called from any thread, concurrently.
/// fn is called by one thread at a time (an attempt starts only after the
/// previous one has ended); it may run on different threads of policy.ex.
/// Throws std::invalid_argument (naming the field) for a policy it refuses
/// (see retry_policy); what default_timer_service() throws when
/// policy.timers is null; what copying or moving fn and the policy's
/// retry_if throws; std::bad_alloc.
template <class F, class Fn = typename std::decay<F>::type,
          class R = typename std::decay<decltype(std::declval<Fn&>()())>::type,
          class T = typename detail::retry_value<R>::type>
future<T> retry(F&& fn, const retry_policy& policy = retry_policy()) {
  detail::check_retry_policy(policy, "weft::retry");
  timer_service& svc = policy.timers != nullptr ? *policy.timers : default_timer_service();
  executor& ex = policy.ex != nullptr ? *policy.ex : static_cast<executor&>(default_pool());
  const clock::time_point deadline =
      std::min(policy.deadline, saturating_deadline(svc.now(), policy.time_limit));
  Fn f(std::forward<F>(fn));
  auto state = std::make_shared<detail::retry_state<T, Fn>>(std::move(f), policy, svc, ex, deadline);
  future<T> result_future = state->get_future();
  state->start();
  return result_future;
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_RETRY_HPP
