// weft/detail/continuation.hpp: the one continuation path.
//
// A continuation's own shared state is also the callback node of its
// parent, so `f.then(g)` allocates exactly one object. When the parent is
// ready, fire() hands a two-pointer task to the continuation's executor
// (stored inline in the unique_task: no allocation); the task runs the
// policy (then / then_result / on_error / finally) and completes the child.
// Any executor drives this path, because all it needs is execute().
//
// A continuation that returns future<U> "forwards": the child attaches
// itself to the inner future and completes from it, still one object.
//
// The callable (the policy, with all it captured) is destroyed as soon as
// it has run, or when it is dropped unrun (an error skipped it, the
// executor refused the task), always before the child's outcome is
// published: an RAII capture (a permit, a lock) is released before anyone
// waiting on the child sees the outcome.
#ifndef WEFT_DETAIL_CONTINUATION_HPP
#define WEFT_DETAIL_CONTINUATION_HPP

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {

template <class T>
class future;

namespace detail {

template <class R>
struct unwrap {
  using type = R;
  static constexpr bool is_future = false;
};
template <class U>
struct unwrap<future<U>> {
  using type = U;
  static constexpr bool is_future = true;
};

/// Private access to a future's state, for the templates in detail/.
struct future_access {
  template <class T>
  static state<T>* release(future<T>& f) noexcept {
    state<T>* s = f.state_;
    f.state_ = nullptr;
    return s;
  }
  template <class T>
  static future<T> adopt(state<T>* s) noexcept {
    return future<T>(s);
  }
};

/// The scaffold of weft's own queued tasks (the unique_task given to an
/// executor): move-only and one-shot, holding the state `S` it will
/// produce. Running it calls Derived::run_now(s), dropping it (the executor
/// refused it, was cancelled, or destroyed it unrun) calls
/// Derived::drop(s, why); either way the handle is emptied first, so a
/// state is run or dropped exactly once. Derived's destructor calls
/// drop_if_held(): a task destroyed unrun breaks its state.
template <class Derived, class S>
struct owning_task : abandonable_task {
  explicit owning_task(S* s) noexcept : self(s) {}
  owning_task(owning_task&& o) noexcept : self(o.self) { o.self = nullptr; }
  owning_task(const owning_task&) = delete;
  owning_task& operator=(const owning_task&) = delete;
  owning_task& operator=(owning_task&&) = delete;

  void operator()() { derived().run_now(take()); }
  void abandon(std::exception_ptr why) noexcept { derived().drop(take(), std::move(why)); }

 protected:
  ~owning_task() = default;
  void drop_if_held() noexcept {
    if (self != nullptr) abandon(std::make_exception_ptr(broken_promise()));
  }

 private:
  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
  S* take() noexcept {
    S* s = self;
    self = nullptr;
    return s;
  }
  S* self;
};

/// A state whose producer is weft code: it stores what a callable returns,
/// unwrapping a returned future. Holds one "producer" reference, dropped
/// when the outcome is stored.
template <class Out>
class producer : public state<Out>, public callback_node {
 public:
  /// Stores the outcome of g(): a value, nothing (void), an exception, or the
  /// outcome of the future g() returns. Never throws.
  template <class G>
  void deliver(G&& g) noexcept {
    using R = decltype(std::forward<G>(g)());
    std::exception_ptr error;
    try {
      deliver_impl(std::forward<G>(g), std::integral_constant<int, std::is_void<R>::value ? 0 : unwrap<R>::is_future ? 1 : 2>());
      return;
    } catch (...) {
      error = std::current_exception();
    }
    // Published once the catch block has ended, so this thread's reference
    // to the exception object is gone first: whoever frees it has seen the
    // outcome (TSan cannot see libstdc++'s reference count and reported the
    // free racing the consumer's what()).
    fail(std::move(error));
  }

  /// Stores `e` and drops the producer reference; for the last act of the
  /// producer's task (see complete_task()). Never throws.
  void fail(std::exception_ptr e) noexcept {
    this->set_error_from_task(std::move(e));
    this->release();
  }

 protected:
  producer(executor_ref ex, std::uint32_t refs) noexcept : state<Out>(ex, refs) {}
  ~producer() override = default;

  bool is_forwarding() const noexcept {
    // Relaxed: the bit was set by this producer before it attached to the
    // inner future; that attach's release orders it before the inner fire.
    return (this->state_.load(std::memory_order_relaxed) & state_base::forwarding) != 0;
  }

  /// The inner future this producer forwards from is ready. Storing the
  /// outcome may complete a producer that forwards from this one, and so
  /// on: a recursive async loop is a chain of forwards as long as the
  /// recursion. So the forward is an arrival (see arrive_or_defer()): put
  /// off, not nested, past a bound, and run before this stack blocks.
  /// `deferrable`: the inner outcome arrived at the end of the task that
  /// produced it (fire_deferrable()); forwarded on the spot, this state's
  /// continuation is then deferred too.
  void forward_from(state_base* inner, bool deferrable = false) noexcept {
    arrive_bounded<forward_step>(this, inner, deferrable && !arrival_must_wait());
  }

  /// fail(), for a task dropped unrun (its executor refused it or was
  /// cancelled, or the task was destroyed). A drop may happen inside the
  /// completion of the link before, whose next link is dropped in turn: a
  /// long chain on a shut-down pool failed link by link as a recursion
  /// and overflowed the stack. As an arrival it is put off past a bound
  /// instead. Never throws.
  void abandon_with(std::exception_ptr why) noexcept { arrive_bounded<fail_step>(this, std::move(why)); }

 private:
  struct forward_step : deferred_arrival {
    forward_step(producer* p, state_base* in, bool d) noexcept : self(p), inner(in), deferrable(d) {}
    void arrive() noexcept override { self->forward_now(inner, deferrable); }
    producer* self;
    state_base* inner;
    bool deferrable;
  };
  // Not at the end of a task: a task may be dropped from inside any code
  // (a user's executor refusing it), which then goes on, so what the
  // failure fires must not be held for the worker.
  struct fail_step : deferred_arrival {
    fail_step(producer* p, std::exception_ptr e) noexcept : self(p), why(std::move(e)) {}
    void arrive() noexcept override {
      self->set_error(std::move(why));
      self->release();
    }
    producer* self;
    std::exception_ptr why;
  };

  void forward_now(state_base* inner, bool deferrable) noexcept {
    auto* in = static_cast<state<Out>*>(inner);
    bool error = in->failed();
    if (error) {
      this->error_ = in->error_ref();
    } else {
      try {
        this->emplace_value(std::move(in->value_ref()));
      } catch (...) {  // moving the value threw
        this->error_ = std::current_exception();
        error = true;
      }
    }
    if (deferrable) {
      this->complete_deferrable(error);
    } else {
      this->complete(error);
    }
    in->release();
    this->release();
  }

  template <class G>
  void deliver_impl(G&& g, std::integral_constant<int, 0>) {
    std::forward<G>(g)();
    this->set_value_from_task();
    this->release();
  }
  template <class G>
  void deliver_impl(G&& g, std::integral_constant<int, 1>) {
    auto inner_future = std::forward<G>(g)();
    state<Out>* inner = future_access::release(inner_future);
    if (inner == nullptr) throw future_error(future_errc::no_state);
    this->state_.fetch_or(state_base::forwarding, std::memory_order_relaxed);
    inner->attach(this);  // the producer reference now waits on `inner`
  }
  template <class G>
  void deliver_impl(G&& g, std::integral_constant<int, 2>) {
    this->set_value_from_task(std::forward<G>(g)());
    this->release();
  }
};

/// Where a continuation takes its input from: a future's state (moved out,
/// runs on the executor the parent was told) or a shared_future's hub
/// (copied, runs on an executor remembered per continuation).
template <class In, bool Shared>
struct input_source {
  static result<In> take(state_base* p) { return take_result(*static_cast<state<In>*>(p), std::is_void<In>()); }
  executor_ref run_on(state_base* p) const noexcept { return p->exec_; }
};
template <class In>
struct input_source<In, true> {
  static result<In> take(state_base* p) { return copy_result(*static_cast<state<In>*>(p), std::is_void<In>()); }
  executor_ref run_on(state_base*) const noexcept { return run_on_; }
  executor_ref run_on_;
};

/// A continuation: Policy::run(result<In>&&, producer<Out>&) decides what
/// to store; the input comes from `Source`.
template <class In, class Out, class Policy, bool Shared>
class continuation final : public producer<Out>, private input_source<In, Shared> {
  using source = input_source<In, Shared>;

 public:
  continuation(executor_ref ex, Policy policy, source src = source()) noexcept(std::is_nothrow_move_constructible<Policy>::value)
      : producer<Out>(ex, 2), source(src) {
    ::new (static_cast<void*>(&policy_)) Policy(std::move(policy));
  }

  void fire(state_base* parent) noexcept override { schedule(parent, false); }
  void fire_deferrable(state_base* parent) noexcept override { schedule(parent, true); }

 private:
  // Hands this continuation's task to its executor: defer()red when the
  // parent was completed by the task now returning on this thread, so a
  // pool may run it next here; execute()d otherwise.
  void schedule(state_base* parent, bool deferrable) noexcept {
    if (this->is_forwarding()) {
      this->forward_from(parent, deferrable);
      return;
    }
    try {
      const executor_ref ex = source::run_on(parent);
      if (deferrable) {
        ex.defer(unique_task(run_task(this, parent)));
      } else {
        ex.execute(unique_task(run_task(this, parent)));
      }
    } catch (...) {
      // The executor refused the task; run_task has already resolved this
      // continuation (abandon, or broken_promise when it was dropped).
    }
  }

  struct run_task : owning_task<run_task, continuation> {
    run_task(continuation* c, state_base* p) noexcept : owning_task<run_task, continuation>(c), parent(p) {}
    run_task(run_task&&) noexcept = default;
    ~run_task() { this->drop_if_held(); }
    void run_now(continuation* c) {
      enter_task(this, c);
      c->run(parent);
    }
    void drop(continuation* c, std::exception_ptr why) noexcept {
      parent->release();
      c->policy().~Policy();
      c->abandon_with(std::move(why));
    }
    state_base* parent;
  };

  // Destroys the policy (and the callable in it): called by the policy's
  // run() once the callable has returned or is not to be called, before it
  // publishes; the policy touches none of its members afterwards.
  struct drop_policy {
    continuation* self;
    void operator()() const noexcept { self->policy().~Policy(); }
  };

  Policy& policy() noexcept { return *reinterpret_cast<Policy*>(&policy_); }

  void run(state_base* parent) noexcept {
    result<In> in = take_input(parent);
    parent->release();
    policy().run(std::move(in), *this, drop_policy{this});
  }

  static result<In> take_input(state_base* parent) noexcept {
    try {
      return source::take(parent);
    } catch (...) {  // copying or moving the value threw
      return result<In>(std::current_exception());
    }
  }

  // Constructed with the continuation, destroyed by run() or abandon(),
  // exactly once, before the outcome is published (never by ~continuation).
  typename std::aligned_storage<sizeof(Policy), alignof(Policy)>::type policy_;
};

// ---- policies --------------------------------------------------------------
//
// Each policy's run(in, p, drop) calls `drop()` exactly once, after the
// last use of its callable and before it publishes into `p` (p.fail() or
// the return of the callable p.deliver() runs); `drop()` destroys the
// policy itself, so nothing of it is touched afterwards. Where the
// callable takes the input, the input is moved into a local of the
// delivering lambda, so it too is gone before the outcome is published (an
// input passed through unchanged is moved on, not kept).

/// Calls `d()` when it goes out of scope.
template <class D>
struct at_scope_exit {
  D d;
  ~at_scope_exit() { d(); }
};

template <class F, class In>
auto call_with(F& f, result<In>&& in, std::false_type /*void*/) -> decltype(f(std::declval<In>())) {
  return f(std::move(in).value());
}
template <class F, class In>
auto call_with(F& f, result<In>&&, std::true_type) -> decltype(f()) {
  return f();
}

template <class F, class In>
struct then_call {
  using type = decltype(call_with(std::declval<F&>(), std::declval<result<In>>(), std::is_void<In>()));
};

/// then(fn): fn(value); an error skips fn and propagates.
template <class In, class F>
struct then_policy {
  F f;
  template <class P, class D>
  void run(result<In>&& in, P& p, D drop) noexcept {
    if (!in.has_value()) {
      drop();
      p.fail(in.error());
      return;
    }
    p.deliver([&] {
      at_scope_exit<D> dropped{drop};  // first: also runs if moving the input throws
      result<In> arg(std::move(in));
      return call_with(f, std::move(arg), std::is_void<In>());
    });
  }
};

/// then(token, fn): then(fn), unless `token` is cancelled when the
/// continuation starts with a value: fn is then dropped unrun (destroyed
/// with the rest of the policy) and the outcome is cancelled_error. An
/// error passes on as with then(fn), which would not have run fn either.
template <class In, class F>
struct cancellable_then_policy {
  then_policy<In, F> then;
  cancellation_token token;
  template <class P, class D>
  void run(result<In>&& in, P& p, D drop) noexcept {
    if (in.has_value() && token.is_cancelled()) {
      drop();
      p.fail(make_cancelled("weft: continuation cancelled before it started"));
      return;
    }
    then.run(std::move(in), p, drop);
  }
};

/// then_result(fn): fn(result<In>) sees values and errors alike.
template <class In, class F>
struct then_result_policy {
  F f;
  template <class P, class D>
  void run(result<In>&& in, P& p, D drop) noexcept {
    p.deliver([&] {
      at_scope_exit<D> dropped{drop};  // first: also runs if moving the input throws
      result<In> arg(std::move(in));
      return f(std::move(arg));
    });
  }
};

template <class In>
struct pass_value {
  result<In>* in;
  In operator()() { return std::move(*in).value(); }
};
template <>
struct pass_value<void> {
  result<void>* in;
  void operator()() {}
};

/// Stores `in` into `p` as it is.
template <class In, class P>
void pass_through(result<In>&& in, P& p) noexcept {
  if (in.has_value()) {
    p.deliver(pass_value<In>{&in});
  } else {
    p.fail(in.error());
  }
}

/// on_error<E>(fn): an E is handed to fn, whose value (or future) replaces
/// it; values and other errors pass through.
template <class In, class E, class F>
struct on_error_policy {
  F f;
  template <class P, class D>
  void run(result<In>&& in, P& p, D drop) noexcept {
    if (in.has_value()) {
      drop();
      pass_through(std::move(in), p);
      return;
    }
    try {
      std::rethrow_exception(in.error());
    } catch (E& e) {
      p.deliver([&] {
        at_scope_exit<D> dropped{drop};
        return f(e);
      });
    } catch (...) {
      drop();
      p.fail(std::current_exception());
    }
  }
};

/// finally(fn): fn() runs on every outcome; the outcome passes on, unless
/// fn throws, in which case its exception replaces the outcome.
template <class In, class F>
struct finally_policy {
  F f;
  template <class P, class D>
  void run(result<In>&& in, P& p, D drop) noexcept {
    std::exception_ptr thrown;
    {
      at_scope_exit<D> dropped{drop};
      try {
        f();
      } catch (...) {
        thrown = std::current_exception();
      }
    }
    if (thrown) {
      p.fail(std::move(thrown));
      return;
    }
    pass_through(std::move(in), p);
  }
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_DETAIL_CONTINUATION_HPP
