// weft/task_group.hpp: structured concurrency without coroutines, with
// asyncio's TaskGroup rules.
//
//   weft::task_group g(pool);
//   auto a = g.spawn([] { return fetch("a"); });
//   auto b = g.spawn([](weft::cancellation_token t) { return fetch("b", t); });
//   g.join().get();   // every child finished; throws exception_group on failure
//
// - The first child that fails cancels the group's token: children not yet
//   started never start (their futures fail with cancelled_error), running
//   ones see token.is_cancelled() / throw_if_cancelled().
// - join() completes once join() was called and every child has finished,
//   failure or not. It fails with an exception_group of every real failure
//   in the order they happened (a child's cancelled_error is not one);
//   with cancelled_error if the group was cancelled and nothing failed.
// - Each child's own future keeps its outcome, so the results of the
//   children that succeeded stay readable. A child's error is the group's
//   to report: a child future dropped with an error is not reported again
//   as unobserved.
// - A group made with a parent token (another group's token()) is
//   cancelled with its parent.
// - A group made with a deadline (task_group(ex, 30ms) or (ex, time_point)
//   on a timer service) is cancelled when it passes unfinished, and its
//   join fails with timeout_error (an exception_group if a child failed
//   first; cancelled_error if it was cancelled first).
// - The destructor cancels what has not finished and waits for every
//   child; failures nobody joined go to the unhandled-error handler. A
//   child queued on an executor that never runs it (a manual_executor
//   nobody drives, a pool whose workers are all blocked) keeps the
//   destructor, wait() and join() waiting: cancelling stops a child from
//   starting, but only its executor can run or drop it.
// - spawn() into a cancelled group throws cancelled_error (timeout_error
//   past its deadline); into a group whose join has completed,
//   std::logic_error. A child may spawn siblings while a join waits (the
//   join then waits for them too).
// - A child that returns a value costs one allocation of weft's (its
//   future's state is its task) and two atomic operations on the group's
//   word; see docs/architecture.md, "Task groups".
#ifndef WEFT_TASK_GROUP_HPP
#define WEFT_TASK_GROUP_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/async.hpp"
#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/exception_group.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/shared_future.hpp"
#include "weft/timer.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// What the group's children and its owner share.
///
/// Lifetime: the owner (task_group) holds it by shared_ptr and waits in its
/// destructor until the group completed; the deadline's timer holds a
/// weak_ptr. A child holds a plain pointer, valid from enter() to its
/// leave(): the group cannot complete while a child is counted in, and the
/// completion touches nothing of the state after it publishes.
class group_state {
 public:
  group_state(executor& ex, cancellation_source src)
      : source(std::move(src)), token(source.token()), done_(ex), all_done_(done_.get_future().share()) {}

  /// Counts a child in. Throws cancelled_error once cancelled (timeout_error
  /// once the deadline passed), logic_error once the join completed.
  void enter() {
    if (source.is_cancelled()) throw_closed_to_spawn();
    // seq_cst (as every access to word_): the count, the join flag and the
    // close are one total order, which is what the close's CAS relies on.
    const std::uint64_t before = word_.fetch_add(1);
    if ((before & closed) != 0) {
      word_.fetch_sub(1);  // closed is final: nobody counts any more
      throw std::logic_error("weft::task_group::spawn: the group's join has completed");
    }
  }

  /// A child ended with a real failure (not a cancelled_error): it is
  /// kept for the join, and the rest are cancelled. Never throws: without
  /// memory to keep it, the join fails with std::bad_alloc instead.
  void record(std::exception_ptr error) noexcept {
    {
      std::lock_guard<std::mutex> guard(lock_);
      try {
        failures_.push_back(std::move(error));
      } catch (...) {
        failure_lost_ = true;
      }
    }
    source.cancel();
  }

  /// A child counted in by enter() has finished (after its future's
  /// outcome was published). The last touch of the state by that child.
  void leave() noexcept {
    if (word_.fetch_sub(1) - 1 == joining) try_close();
  }

  /// From now on the group completes when its last child ends.
  void start_join() noexcept {
    if ((word_.fetch_or(joining) | joining) == joining) try_close();
  }

  /// Arms the deadline on `timers`: once it passes, an unfinished group is
  /// cancelled and its join fails with timeout_error.
  static void arm_deadline(const std::shared_ptr<group_state>& self, timer_service& timers,
                           clock::time_point deadline, executor& ex) {
    if (deadline == clock::time_point::max()) return;
    std::weak_ptr<group_state> weak = self;
    // Not under lock_: a deadline already reached hands the task over at
    // once, and an executor that runs it inside execute() runs
    // deadline_passed(), which takes the lock, right here. Nothing can
    // complete the group before the handle is stored (it has no child and
    // no join yet).
    timer_handle h = timers.arm_at(deadline, ex, unique_task([weak] {
      if (std::shared_ptr<group_state> st = weak.lock()) st->deadline_passed();
    }));
    std::lock_guard<std::mutex> guard(self->lock_);
    self->timers_ = &timers;
    self->deadline_timer_ = std::move(h);
  }

  /// Ready once the group completed (see complete()).
  const shared_future<void>& all_done() const noexcept { return all_done_; }

  cancellation_source source;
  const cancellation_token token;  // given to every child

 private:
  static constexpr std::uint64_t closed = std::uint64_t(1) << 63;   // the join completed
  static constexpr std::uint64_t joining = std::uint64_t(1) << 62;  // join() was called
  // Below: the children counted in and not yet finished.

  [[noreturn]] void throw_closed_to_spawn() const {
    if (timed_out_.load()) throw timeout_error("weft::task_group::spawn: the group's deadline has passed");
    throw cancelled_error("weft::task_group::spawn: the group is cancelled");
  }

  void deadline_passed() {
    {
      std::lock_guard<std::mutex> guard(lock_);
      // Completed in time, or already going down for another reason
      // (a failure, cancel(), the parent, the destructor): that one stands.
      if ((word_.load() & closed) != 0 || source.is_cancelled()) return;
      timed_out_.store(true);
    }
    source.cancel();
  }

  // Exactly one caller sees joining with no child left and closes.
  void try_close() noexcept {
    std::uint64_t expected = joining;
    if (word_.compare_exchange_strong(expected, joining | closed)) complete();
  }

  void complete() noexcept {
    std::vector<std::exception_ptr> failures;
    timer_handle timer;
    bool lost = false;
    {
      // After the close, so a deadline that passes from here on sees it
      // and changes nothing; one that passed before set timed_out_ under
      // this lock.
      std::lock_guard<std::mutex> guard(lock_);
      failures.swap(failures_);
      timer = std::move(deadline_timer_);
      lost = failure_lost_;
    }
    if (timer) timers_->cancel(timer);
    // Moved out: the owner may destroy the state as soon as it is set.
    promise<void> done = std::move(done_);
    if (lost) {
      done.set_exception(std::make_exception_ptr(std::bad_alloc()));  // a failure could not be kept
    } else if (!failures.empty()) {
      // Real failures come first even past the deadline: nothing is lost.
      // (The message is made before the vector is moved from.)
      std::string message = "weft::task_group: " + std::to_string(failures.size()) +
                            (failures.size() == 1 ? " task failed" : " tasks failed");
      done.set_exception(std::make_exception_ptr(exception_group(std::move(message), std::move(failures))));
    } else if (timed_out_.load()) {
      done.set_exception(std::make_exception_ptr(
          timeout_error("weft::task_group: the group's deadline passed before its tasks finished")));
    } else if (source.is_cancelled()) {
      done.set_exception(std::make_exception_ptr(cancelled_error("weft::task_group: the group was cancelled")));
    } else {
      done.set_value();
    }
  }

  std::atomic<std::uint64_t> word_{0};
  std::atomic<bool> timed_out_{false};
  std::mutex lock_;  // failures_, the deadline's timer
  std::vector<std::exception_ptr> failures_;
  bool failure_lost_ = false;  // record() had no memory for a failure
  timer_service* timers_ = nullptr;
  timer_handle deadline_timer_;
  promise<void> done_;
  shared_future<void> all_done_;
};

template <class F, class = void>
struct takes_token : std::false_type {};
template <class F>
struct takes_token<F, decltype(void(std::declval<F&>()(std::declval<const cancellation_token&>())))> : std::true_type {};

template <class F, bool = takes_token<F>::value>
struct group_call {
  static auto call(F& f, const cancellation_token& t) -> decltype(f(t)) { return f(t); }
};
template <class F>
struct group_call<F, false> {
  static auto call(F& f, const cancellation_token&) -> decltype(f()) { return f(); }
};

template <class T>
void set_from(promise<T>& p, result<T>&& r) {
  if (r.has_value()) {
    p.set_value(std::move(r).value());
  } else {
    p.set_exception(r.error());
  }
}
inline void set_from(promise<void>& p, result<void>&& r) {
  if (r.has_value()) {
    p.set_value();
  } else {
    p.set_exception(r.error());
  }
}

/// A child's callable, with the group it reports to.
template <class F>
struct group_child {
  group_state* group;
  F fn;
};

/// The state whose spawn() is in its executor's execute() on this thread.
/// An executor that refuses the task drops it there: that child is the
/// spawn's to undo, not a failure of the group. The drop then leaves
/// refused_marker() here.
const void*& refused_spawn() noexcept;
const void* refused_marker() noexcept;

/// How a child's task_state runs (see plain_task_body): the child's own
/// state is its future's, so a child costs one allocation. A failure is
/// recorded (cancelling the siblings) and marked observed before the
/// outcome is published, since it is the group's to report; the child
/// leaves the group after the publication, so a completed join sees every
/// child's future ready.
struct group_task_body {
  template <class S, class F>
  static void run(S& s, group_child<F>& child) noexcept {
    group_state* const group = child.group;
    s.deliver([&s, &child, group]() -> decltype(group_call<F>::call(child.fn, group->token)) {
      destroy_on_exit<group_child<F>> guard{child};
      try {
        if (group->token.is_cancelled()) throw_cancelled("weft::task_group: the group was cancelled before the task started");
        return group_call<F>::call(child.fn, group->token);
      } catch (const cancelled_error&) {
        s.mark_observed();
        throw;
      } catch (...) {
        group->record(std::current_exception());
        s.mark_observed();
        throw;
      }
    });
    group->leave();
  }

  template <class S, class F>
  static void drop(S& s, group_child<F>& child, std::exception_ptr why) noexcept {
    group_state* const group = child.group;
    child.~group_child<F>();
    const void*& refused = refused_spawn();
    if (refused == static_cast<const void*>(&s)) {
      // The spawn reports it: by its throw, or, if execute() returns, as
      // a failure of the group. Published on the spot, as below.
      refused = refused_marker();
      s.set_error(std::move(why));
      s.release();
      return;
    }
    if (!is_cancelled_error(why)) group->record(why);
    s.mark_observed();
    // Published on the spot, not put off as abandon_with() may: the
    // child leaves after its future is ready.
    s.set_error(std::move(why));
    s.release();
    group->leave();
  }
};

}  // namespace detail

/// A set of child tasks on one executor that succeed, fail and are
/// cancelled together (see the file comment).
///
/// Thread-safety: spawn(), cancel(), token(), join() and wait() may be
/// called from any thread, also from inside a child (but a child that
/// waits for its own group waits forever). The destructor must not race
/// other calls, nor run inside a child.
class task_group {
 public:
  /// An empty group whose children run on `ex`. Throws std::bad_alloc.
  explicit task_group(executor& ex) : ex_(ex), state_(std::make_shared<detail::group_state>(ex, cancellation_source())) {}
  /// As task_group(ex), cancelled whenever `parent` is (another group's
  /// token(), a request's token).
  task_group(executor& ex, const cancellation_token& parent)
      : ex_(ex), state_(std::make_shared<detail::group_state>(ex, cancellation_source(parent))) {}
  /// A group with a deadline on `timers`' clock: if the group has not
  /// completed when `deadline` passes, it is cancelled (children not yet
  /// started never start, running ones see the token) and its join fails
  /// with timeout_error, unless a child failed first (then the
  /// exception_group) or the group was already cancelled (then
  /// cancelled_error). time_point::max() means no deadline. `timers` must
  /// outlive the group. Throws std::bad_alloc, executor_shutdown if
  /// `timers` was shut down, std::invalid_argument if `ex` is
  /// inline_executor() and `timers` has a thread (the timer's task would
  /// run on it).
  task_group(executor& ex, clock::time_point deadline, timer_service& timers = default_timer_service())
      : task_group(ex, cancellation_token(), deadline, timers) {}
  /// As task_group(ex, deadline, timers), `timeout` from now on `timers`'
  /// clock (saturating: a huge timeout is no deadline).
  template <class Rep, class Period>
  task_group(executor& ex, const std::chrono::duration<Rep, Period>& timeout,
             timer_service& timers = default_timer_service())
      : task_group(ex, cancellation_token(), saturating_deadline(timers.now(), timer_duration(timeout)), timers) {}
  /// A group cancelled with `parent` and with a deadline (see above).
  task_group(executor& ex, const cancellation_token& parent, clock::time_point deadline,
             timer_service& timers = default_timer_service())
      : task_group(ex, parent) {
    detail::group_state::arm_deadline(state_, timers, deadline, ex);
  }
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  /// Cancels what has not finished and waits for every child. If nobody
  /// joined, a real failure of the group goes to the unhandled-error
  /// handler (the cancellation the destructor made is not one).
  ~task_group() {
    state_->source.cancel();
    state_->start_join();
    const shared_future<void>& done = state_->all_done();
    try {
      done.wait();
      if (!joined_) done.get();
    } catch (const cancelled_error&) {
    } catch (const timeout_error&) {  // the group's own deadline: not a child's failure
    } catch (...) {
      report_unhandled_error(std::current_exception());
    }
  }

  /// Runs `f()` or `f(token)` on the group's executor; returns a future for
  /// its result (continuations on the group's executor). Not started once
  /// the group is cancelled: the future then fails with cancelled_error.
  /// Throws cancelled_error if the group is already cancelled (timeout_error
  /// if its deadline passed), std::logic_error if its join completed,
  /// executor_shutdown if the executor refuses work, std::bad_alloc.
  template <class F, class R = decltype(detail::group_call<typename std::decay<F>::type>::call(
                         std::declval<typename std::decay<F>::type&>(), std::declval<const cancellation_token&>()))>
  future<typename detail::unwrap<R>::type> spawn(F&& f) {
    state_->enter();
    return spawn_entered<R>(std::forward<F>(f), std::integral_constant<bool, detail::unwrap<R>::is_future>());
  }

  /// A future that completes when every child has finished, once this is
  /// called (see the file comment for its outcome); it continues on the
  /// group's executor (so it fails with executor_shutdown if that executor
  /// is shut down by then: wait() does not depend on it). May be called more than once (each call a future of
  /// the same outcome). Throws std::bad_alloc.
  future<void> join() {
    joined_ = true;
    state_->start_join();
    return state_->all_done().then([] {});
  }

  /// As join().get(), without the hop to the group's executor (so it also
  /// works once that executor is shut down): blocks until every child has
  /// finished; throws what the join fails with. On a pool worker it waits
  /// as get() does there.
  void wait() {
    joined_ = true;
    state_->start_join();
    state_->all_done().get();
  }

  /// Cancels the group's token; true for the call that cancelled it.
  bool cancel() noexcept { return state_->source.cancel(); }

  /// The token every child is given: cancelled on the first failure, on
  /// cancel(), with the parent, or by the destructor.
  cancellation_token token() const noexcept { return state_->source.token(); }

 private:
  // A child that returns a value: one task_state that reports to the group
  // (see detail::group_task_body).
  template <class R, class F>
  future<R> spawn_entered(F&& f, std::false_type /* returns a future */) {
    using fn_t = typename std::decay<F>::type;
    using child_t = detail::group_child<fn_t>;
    using state_t = detail::task_state<R, child_t, detail::group_task_body>;
    detail::group_state* const group = state_.get();
    state_t* s = nullptr;
    try {
      s = new state_t(&ex_, detail::local_pool_of(ex_), child_t{group, fn_t(std::forward<F>(f))});
    } catch (...) {
      group->leave();
      throw;
    }
    future<R> out = detail::future_access::adopt<R>(s);
    // An executor that refuses the task drops it inside execute(), on this
    // thread: the marker tells the drop that this spawn undoes the child.
    const void*& refused = detail::refused_spawn();
    const void* const outer = refused;  // a spawn inside an inline child's run
    refused = s;
    try {
      ex_.execute(unique_task(typename state_t::run_task(s)));
    } catch (...) {
      refused = outer;
      s->mark_observed();  // the caller hears the reason from this throw
      group->leave();
      throw;
    }
    const bool dropped_quietly = refused == detail::refused_marker();
    refused = outer;
    if (dropped_quietly) {
      // Refused without a throw: a child lost, as one a shut-down executor
      // drops later. Its future, ready with the reason, keeps s alive.
      const std::exception_ptr& why = s->error_ref();
      if (!detail::is_cancelled_error(why)) group->record(why);
      s->mark_observed();
      group->leave();
    }
    return out;
  }

  // A child that returns a future: its outcome comes later, through the
  // inner future, so the group hears of it through a continuation.
  template <class R, class F>
  future<typename detail::unwrap<R>::type> spawn_entered(F&& f, std::true_type /* returns a future */) {
    using out_t = typename detail::unwrap<R>::type;
    using fn_t = typename std::decay<F>::type;
    detail::group_state* const group = state_.get();
    promise<out_t> p(ex_);
    future<out_t> out = p.get_future();
    // One reference of our own on the child's state: its error is the
    // group's to report, so it is marked observed before it is set.
    detail::state<out_t>* child = detail::future_access::release(out);
    child->add_ref();
    out = detail::future_access::adopt(child);
    try {
      async(ex_, group->token, [fn = fn_t(std::forward<F>(f)), group]() mutable {
        return detail::group_call<fn_t>::call(fn, group->token);
      }).then_result(inline_executor(), [group, child, p = std::move(p)](result<out_t> r) mutable {
        // Whatever set_from() throws (a throwing move of the value), the
        // child leaves: a group that lost count would never complete.
        struct finish {
          detail::state<out_t>* child;
          detail::group_state* group;
          ~finish() {
            child->release();
            group->leave();
          }
        } done{child, group};
        if (!r.has_value()) {
          if (!detail::is_cancelled_error(r.error())) group->record(r.error());
          child->mark_observed();
        }
        detail::set_from(p, std::move(r));
      });
    } catch (...) {
      child->release();
      group->leave();
      throw;
    }
    return out;
  }

  executor& ex_;
  std::shared_ptr<detail::group_state> state_;
  std::atomic<bool> joined_{false};
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_TASK_GROUP_HPP
