// weft/async.hpp: async(ex, f), run a callable on an executor and get a
// future for what it returns.
//
// The task and its shared state are one allocation; the callable is
// destroyed as soon as it has run, so what it captured does not live as
// long as the future.
#ifndef WEFT_ASYNC_HPP
#define WEFT_ASYNC_HPP

#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/continuation.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// Destroys a callable held in raw storage when the scope ends, thrown
/// out of or not.
template <class F>
struct destroy_on_exit {
  F& f;
  ~destroy_on_exit() { f.~F(); }
};

/// How a task_state runs its callable and drops it unrun: the plain form
/// stores what the callable returns. task_group's children use another
/// (they report to their group around the publication).
struct plain_task_body {
  template <class S, class F>
  static void run(S& s, F& fn) noexcept {
    // The callable dies before the outcome is published, so captured
    // resources are released before anyone sees the result.
    s.deliver([&fn]() -> decltype(fn()) {
      destroy_on_exit<F> guard{fn};
      return fn();
    });
  }
  template <class S, class F>
  static void drop(S& s, F& fn, std::exception_ptr why) noexcept {
    fn.~F();
    s.abandon_with(std::move(why));
  }
};

/// A state that runs a callable to produce its outcome.
///
/// When the task was queued in the deque of the worker that made it
/// (`home` is that worker's pool), a worker of the same pool that blocks in
/// get() on it before it starts runs it inline instead of suspending, as
/// oneTBB's task_group::wait runs the tasks it waits for. Whoever claims it
/// first runs it. A waiter that claims takes a reference for the queued
/// task, which may run after the future is gone and then only drops it.
template <class Out, class F, class Body = plain_task_body>
class task_state final : public producer<Out> {
  friend Body;

 public:
  template <class G>
  task_state(executor* continue_on, const void* home, G&& g) : producer<Out>(continue_on, 2), home_(home) {
    ::new (static_cast<void*>(&fn_)) F(std::forward<G>(g));
  }

  void fire(state_base* inner) noexcept override { this->forward_from(inner); }
  void fire_deferrable(state_base* inner) noexcept override { this->forward_from(inner, true); }

  /// The unique_task given to the executor (one pointer, stored inline).
  struct run_task : owning_task<run_task, task_state> {
    explicit run_task(task_state* s) noexcept : owning_task<run_task, task_state>(s) {}
    run_task(run_task&&) noexcept = default;
    ~run_task() { this->drop_if_held(); }
    void run_now(task_state* s) {
      if (s->taken_by_waiter()) return;
      enter_task(this, s);
      s->run();
    }
    void drop(task_state* s, std::exception_ptr why) noexcept {
      if (s->taken_by_waiter()) return;
      Body::drop(*s, s->fn(), std::move(why));
    }
  };

  bool try_run_inline(const void* pool) noexcept override {
    if (home_ != pool) return false;  // also when home_ is null: `pool` never is
    this->add_ref();  // for the queued task, which may outlive the future
    if (!this->claim()) {
      this->release();  // the queued task got there first (the future still holds a reference)
      return false;
    }
    run();
    return true;
  }

 private:
  F& fn() noexcept { return *reinterpret_cast<F*>(&fn_); }

  // The queued task: true if a waiter claimed the run (then the waiter's
  // reference is dropped here), false if this task is to run it.
  bool taken_by_waiter() noexcept {
    if (home_ == nullptr) return false;  // no waiter may claim it
    // A future consumed by a continuation (has_callback and observed) has
    // no waiter left to claim, and a claim made before the continuation was
    // attached shows in the same word; so one load usually spares the
    // read-modify-write. Acquire: a claim seen here was made by a waiter
    // that ran the callable; nothing of it is touched but the reference.
    constexpr std::uint32_t continued = state_base::has_callback | state_base::observed;
    const std::uint32_t seen = this->state_.load(std::memory_order_acquire);
    if ((seen & state_base::claimed) == 0 && (seen & continued) == continued) return false;
    if (this->claim()) return false;
    this->release();
    return true;
  }

  void run() noexcept { Body::run(*this, fn()); }

  const void* const home_;
  typename std::aligned_storage<sizeof(F), alignof(F)>::type fn_;
};

template <class F>
using async_result_t = decltype(std::declval<typename std::decay<F>::type&>()());

/// Runs `f` on `run_on`; the future's continuations default to `continue_on`.
/// `Body` runs `f` (see plain_task_body); `Out` is what the future holds.
template <class Body = plain_task_body, class F, class Out = typename unwrap<async_result_t<F>>::type>
future<Out> spawn_on(executor& run_on, executor& continue_on, F&& f) {
  using out_t = Out;
  using state_t = task_state<out_t, typename std::decay<F>::type, Body>;
  auto* s = new state_t(&continue_on, local_pool_of(run_on), std::forward<F>(f));
  future<out_t> result_future = future_access::adopt<out_t>(s);
  try {
    run_on.execute(unique_task(typename state_t::run_task(s)));
  } catch (...) {
    // The task was abandoned and the future holds the reason; the caller
    // hears it from this exception, so the future's error counts as seen.
    s->mark_observed();
    throw;
  }
  return result_future;
}

/// async(ex, token, f)'s callable: `fn`, run only if `token` is not
/// cancelled when the task starts. Destroyed, with `fn` and the token,
/// before the outcome is published (as any task_state callable).
template <class F>
struct unless_cancelled {
  cancellation_token token;
  F fn;
  auto operator()() -> decltype(fn()) {
    if (token.is_cancelled()) throw_cancelled("weft: task cancelled before it started");
    return fn();
  }
};

}  // namespace detail

/// Runs `f()` on `ex` and returns a future for its result (a returned
/// future<U> is unwrapped to future<U>). Continuations run on `ex` too.
/// An exception from `f` lands in the future. Throws executor_shutdown if
/// `ex` no longer accepts work, std::bad_alloc.
template <class F>
auto async(executor& ex, F&& f) -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  return detail::spawn_on(ex, ex, std::forward<F>(f));
}

/// As async(ex, f), bound to `token`: if the token is cancelled when the
/// task starts, `f` never runs (it is destroyed, with what it captured,
/// before the future resolves) and the future fails with cancelled_error.
/// The token is checked once, as the task starts: `f` itself may poll it
/// (token.throw_if_cancelled()) to stop part way. Throws executor_shutdown
/// if `ex` no longer accepts work, std::bad_alloc.
template <class F>
auto async(executor& ex, const cancellation_token& token, F&& f)
    -> future<typename detail::unwrap<detail::async_result_t<F>>::type> {
  return detail::spawn_on(ex, ex, detail::unless_cancelled<typename std::decay<F>::type>{token, std::forward<F>(f)});
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_ASYNC_HPP
