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
// - The destructor cancels what has not finished and waits for every
//   child; failures nobody joined go to the unhandled-error handler.
// - spawn() into a cancelled group throws cancelled_error; into a group
//   whose join has completed, std::logic_error. A child may spawn siblings
//   while a join waits (the join then waits for them too).
#ifndef WEFT_TASK_GROUP_HPP
#define WEFT_TASK_GROUP_HPP

#include <atomic>
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

namespace weft {
inline namespace v1 {
namespace detail {

/// What the group's children and its owner share.
class group_state {
 public:
  group_state(executor& ex, cancellation_source src)
      : source(std::move(src)), done_(ex), all_done_(done_.get_future().share()) {}

  /// Counts a child in. Throws cancelled_error once cancelled, logic_error
  /// once the join completed.
  void enter() {
    std::lock_guard<std::mutex> guard(lock_);
    if (closed_) throw std::logic_error("weft::task_group::spawn: the group's join has completed");
    if (source.is_cancelled()) throw cancelled_error("weft::task_group::spawn: the group is cancelled");
    ++live_;
  }

  /// A child ended with `error` (null: a value). A real failure is kept
  /// and cancels the rest.
  void record(const std::exception_ptr& error) {
    if (!error || is_cancellation(error)) return;
    {
      std::lock_guard<std::mutex> guard(lock_);
      failures_.push_back(error);
    }
    source.cancel();
  }

  /// A child counted in by enter() has finished (after its future's
  /// outcome was published).
  void leave() noexcept { finish_if_done(false); }

  /// From now on the group completes when its last child ends.
  void start_join() noexcept { finish_if_done(true); }

  /// Ready once the group completed (see finish_if_done()).
  const shared_future<void>& all_done() const noexcept { return all_done_; }

  bool finished() const {
    std::lock_guard<std::mutex> guard(lock_);
    return closed_;
  }

  cancellation_source source;

 private:
  static bool is_cancellation(const std::exception_ptr& e) noexcept {
    try {
      std::rethrow_exception(e);
    } catch (const cancelled_error&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  void finish_if_done(bool joining) noexcept {
    std::vector<std::exception_ptr> failures;
    {
      std::lock_guard<std::mutex> guard(lock_);
      if (joining) joining_ = true; else --live_;
      if (!joining_ || live_ != 0 || closed_) return;
      closed_ = true;
      failures.swap(failures_);
    }
    if (!failures.empty()) {
      done_.set_exception(std::make_exception_ptr(
          exception_group("weft::task_group: " + std::to_string(failures.size()) + " of the group's tasks failed",
                          std::move(failures))));
    } else if (source.is_cancelled()) {
      done_.set_exception(std::make_exception_ptr(cancelled_error("weft::task_group: the group was cancelled")));
    } else {
      done_.set_value();
    }
  }

  mutable std::mutex lock_;
  std::size_t live_ = 0;
  bool joining_ = false;
  bool closed_ = false;
  std::vector<std::exception_ptr> failures_;
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
    } catch (...) {
      report_unhandled_error(std::current_exception());
    }
  }

  /// Runs `f()` or `f(token)` on the group's executor; returns a future for
  /// its result (continuations on the group's executor). Not started once
  /// the group is cancelled: the future then fails with cancelled_error.
  /// Throws cancelled_error if the group is already cancelled,
  /// std::logic_error if its join completed, executor_shutdown if the
  /// executor refuses work, std::bad_alloc.
  template <class F, class R = decltype(detail::group_call<typename std::decay<F>::type>::call(
                         std::declval<typename std::decay<F>::type&>(), std::declval<const cancellation_token&>()))>
  future<typename detail::unwrap<R>::type> spawn(F&& f) {
    using out_t = typename detail::unwrap<R>::type;
    using fn_t = typename std::decay<F>::type;
    state_->enter();
    std::shared_ptr<detail::group_state> st = state_;
    cancellation_token token = st->source.token();
    promise<out_t> p(ex_);
    future<out_t> out = p.get_future();
    // One reference of our own on the child's state: its error is the
    // group's to report, so it is marked observed before it is set.
    detail::state<out_t>* child = detail::future_access::release(out);
    child->add_ref();
    out = detail::future_access::adopt(child);
    try {
      async(ex_, token, [fn = fn_t(std::forward<F>(f)), token]() mutable {
        return detail::group_call<fn_t>::call(fn, token);
      }).then_result(inline_executor(), [st, child, p = std::move(p)](result<out_t> r) mutable {
        st->record(r.error());
        if (!r.has_value()) child->mark_observed();
        detail::set_from(p, std::move(r));
        child->release();
        st->leave();
      });
    } catch (...) {
      child->release();
      st->leave();
      throw;
    }
    return out;
  }

  /// A future that completes when every child has finished, once this is
  /// called (see the file comment for its outcome); it continues on the
  /// group's executor. May be called more than once (each call a future of
  /// the same outcome). Throws std::bad_alloc.
  future<void> join() {
    joined_ = true;
    state_->start_join();
    return state_->all_done().then([] {});
  }

  /// join().get(): blocks until every child has finished; throws what the
  /// join fails with.
  void wait() { join().get(); }

  /// Cancels the group's token; true for the call that cancelled it.
  bool cancel() noexcept { return state_->source.cancel(); }

  /// The token every child is given: cancelled on the first failure, on
  /// cancel(), with the parent, or by the destructor.
  cancellation_token token() const noexcept { return state_->source.token(); }

 private:
  executor& ex_;
  std::shared_ptr<detail::group_state> state_;
  std::atomic<bool> joined_{false};
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_TASK_GROUP_HPP
