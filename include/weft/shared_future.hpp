// weft/shared_future.hpp: shared_future<T>, an outcome with many readers.
//
// future<T>::share() moves the outcome into a "hub" state that keeps a
// short list of waiters and continuations behind a mutex (held only to push
// or take the list, never while a continuation runs). Copies of a
// shared_future refer to the same hub; each may call get() and attach any
// number of continuations, which receive a copy of the value.
//
// Thread-safety: distinct shared_future objects (copies) may be used from
// any threads concurrently; one object is used by one thread at a time.
#ifndef WEFT_SHARED_FUTURE_HPP
#define WEFT_SHARED_FUTURE_HPP

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

template <class T>
class shared_hub final : public state<T>, public callback_node {
 public:
  // Two references: the first shared_future, and the link to the parent.
  // Not marked observed here: an error is seen once a reader get()s it or a
  // continuation takes it on; if neither happens it is reported (nothing is swallowed).
  explicit shared_hub(executor_ref ex) : state<T>(ex, 2) {}

  /// Attaches `cb`; fires it at once if the outcome is already in.
  void attach_shared(callback_node* cb) noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!this->ready()) {
        try {
          pending_.push_back(cb);
          return;
        } catch (...) {
          // Out of memory for the list: fall through and fire once ready.
        }
      }
    }
    while (!this->ready()) std::this_thread::yield();
    cb->fire(this);
  }

  void fire(state_base* parent) noexcept override { take_over(parent, false); }
  // The parent's task is returning: so is, in effect, this hub's, and its
  // continuations may be deferred too.
  void fire_deferrable(state_base* parent) noexcept override { take_over(parent, true); }

 protected:
  void attach_waiter(callback_node* w) noexcept override { attach_shared(w); }
  bool detach_waiter(callback_node* w) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(pending_.begin(), pending_.end(), w);
    if (it == pending_.end()) return false;
    pending_.erase(it);
    return true;
  }
  void after_wait() noexcept override {}

 private:
  void take_over(state_base* parent, bool deferrable) noexcept {
    auto* p = static_cast<state<T>*>(parent);
    try {
      p->forward_to(*this);
    } catch (...) {
      this->set_error(std::current_exception());
    }
    p->release();
    std::vector<callback_node*> ready_list;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_list.swap(pending_);
    }
    for (callback_node* cb : ready_list) {
      if (deferrable) {
        cb->fire_deferrable(this);
      } else {
        cb->fire(this);
      }
    }
    this->release();
  }


  std::mutex mutex_;
  std::vector<callback_node*> pending_;
};

template <class T>
const T& shared_value(state<T>& s, std::false_type) {
  return s.value_or_throw();
}
template <class T>
void shared_value(state<T>& s, std::true_type) {
  s.value_or_throw();
}

struct shared_access;

}  // namespace detail

/// An outcome that any number of readers may wait on, get, or continue from.
/// Every member except valid() throws future_error(no_state) when invalid.
template <class T>
class shared_future {
 public:
  using value_type = T;
  using get_result = typename std::conditional<std::is_void<T>::value, void, const detail::stored_t<T>&>::type;

  /// An invalid shared_future.
  shared_future() noexcept = default;
  /// Takes over `f` (same as f.share()).
  shared_future(future<T>&& f) : shared_future(f.share()) {}  // NOLINT: implicit like std::shared_future
  shared_future(const shared_future& o) noexcept : hub_(o.hub_) {
    if (hub_ != nullptr) hub_->add_ref();
  }
  shared_future(shared_future&& o) noexcept : hub_(o.hub_) { o.hub_ = nullptr; }
  shared_future& operator=(shared_future o) noexcept {
    std::swap(hub_, o.hub_);
    return *this;
  }
  ~shared_future() {
    if (hub_ != nullptr) hub_->release();
  }

  /// True while this refers to a shared state.
  bool valid() const noexcept { return hub_ != nullptr; }
  /// True once the outcome is in.
  bool is_ready() const {
    detail::throw_if_no_state(hub_);
    return hub_->ready();
  }
  /// Blocks until the outcome is in (suspending or helping on a pool worker), then
  /// returns a reference to the value (valid while any copy lives) or
  /// rethrows the error. Does not consume. Inside a task run by a
  /// weft::testing::simulation it throws std::logic_error instead of
  /// blocking (as future::get()).
  get_result get() const {
    wait();
    if (hub_->failed()) hub_->mark_observed();
    return detail::shared_value(*hub_, std::is_void<T>());
  }
  /// Blocks until the outcome is in (inside a simulation's task: throws
  /// std::logic_error instead, as get()).
  void wait() const {
    detail::throw_if_no_state(hub_);
    if (!hub_->ready()) hub_->wait();
  }
  /// Waits at most `d` (negative means zero); returns ready or timeout.
  /// As future::wait_for: the same as wait_until(steady_clock::now() + d).
  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return wait_until(std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
  }
  /// Waits until `t` at most; returns ready or timeout. Does not consume.
  /// Any thread may wait on its own copy while others wait on theirs.
  /// Throws future_error(no_state) if invalid.
  std::future_status wait_until(std::chrono::steady_clock::time_point t) const {
    detail::throw_if_no_state(hub_);
    if (hub_->ready() || hub_->wait_until(t)) return std::future_status::ready;
    return std::future_status::timeout;
  }
  /// Waits until `t` at most on any clock, as future::wait_until does: in
  /// steps on steady_clock, returning timeout only once Clock::now() has
  /// reached `t` (a clock that jumps or runs at another rate can make the
  /// wait longer, never shorter). Does not consume. Any thread may wait on
  /// its own copy while others wait on theirs. Throws
  /// future_error(no_state) if invalid, and what Clock::now() throws.
  template <class Clock, class Duration>
  std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& t) const {
    detail::throw_if_no_state(hub_);
    return detail::wait_until_on_clock(*hub_, t);
  }

  /// Runs `fn(copy of value)` on `ex` (default: the executor of the future
  /// this was shared from) once ready; errors skip `fn`. Does not consume.
  template <class F>
  auto then(F&& fn) const -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    detail::throw_if_no_state(hub_);
    using R = typename detail::then_call<typename std::decay<F>::type, T>::type;
    return attach<detail::then_policy<T, typename std::decay<F>::type>, R>(hub_->exec_, std::forward<F>(fn));
  }
  template <class F>
  auto then(executor& ex, F&& fn) const -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    using R = typename detail::then_call<typename std::decay<F>::type, T>::type;
    return attach<detail::then_policy<T, typename std::decay<F>::type>, R>(ex, std::forward<F>(fn));
  }
  /// As then(fn), bound to `token`: if the token is cancelled when the
  /// continuation starts with a value, `fn` is dropped unrun (destroyed
  /// before the returned future resolves) and the returned future fails
  /// with cancelled_error; an error skips `fn` and passes on. Does not
  /// consume. Throws future_error(no_state) if invalid, std::bad_alloc.
  template <class F>
  auto then(const cancellation_token& token, F&& fn) const
      -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    detail::throw_if_no_state(hub_);
    using Fn = typename std::decay<F>::type;
    return attach<detail::cancellable_then_policy<T, Fn>, typename detail::then_call<Fn, T>::type>(
        hub_->exec_, detail::then_policy<T, Fn>{std::forward<F>(fn)}, token);
  }
  /// As then(token, fn), but `fn` runs on `ex`, as do the returned
  /// future's later continuations.
  template <class F>
  auto then(executor& ex, const cancellation_token& token, F&& fn) const
      -> future<typename detail::unwrap<typename detail::then_call<typename std::decay<F>::type, T>::type>::type> {
    using Fn = typename std::decay<F>::type;
    return attach<detail::cancellable_then_policy<T, Fn>, typename detail::then_call<Fn, T>::type>(
        ex, detail::then_policy<T, Fn>{std::forward<F>(fn)}, token);
  }
  /// Runs `fn(result<T>)` (a copy) on every outcome.
  template <class F>
  auto then_result(F&& fn) const -> future<typename detail::unwrap<decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>::type> {
    detail::throw_if_no_state(hub_);
    using R = decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()));
    return attach<detail::then_result_policy<T, typename std::decay<F>::type>, R>(hub_->exec_, std::forward<F>(fn));
  }
  /// As then_result(fn), but `fn` runs on `ex`, as do the returned future's
  /// later continuations. Does not consume; copies may attach continuations
  /// from any threads at once. Throws future_error(no_state) if invalid,
  /// std::bad_alloc.
  template <class F>
  auto then_result(executor& ex, F&& fn) const -> future<typename detail::unwrap<decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()))>::type> {
    using R = decltype(std::declval<typename std::decay<F>::type&>()(std::declval<result<T>>()));
    return attach<detail::then_result_policy<T, typename std::decay<F>::type>, R>(ex, std::forward<F>(fn));
  }

 private:
  friend class future<T>;
  friend struct detail::shared_access;
  explicit shared_future(detail::shared_hub<T>* h) noexcept : hub_(h) {}

  template <class Policy, class R, class... A>
  future<typename detail::unwrap<R>::type> attach(detail::executor_ref ex, A&&... args) const {
    using out_t = typename detail::unwrap<R>::type;
    detail::throw_if_no_state(hub_);
    auto* child = new detail::continuation<T, out_t, Policy, true>(ex, Policy{std::forward<A>(args)...},
                                                                    detail::input_source<T, true>{ex});
    hub_->add_ref();  // held by the continuation until it has copied the value
    hub_->mark_observed();  // the continuation carries an error on
    hub_->attach_shared(child);
    return detail::future_access::adopt<out_t>(child);
  }

  detail::shared_hub<T>* hub_ = nullptr;
};

namespace detail {

/// A state that receives a copy of a shared_future's outcome, for readers
/// that take a state of their own per input and consume it (when_all and
/// its kin): the shared_future stays valid and its hub keeps the outcome
/// for every other copy. Made unlinked (shared_access::make_copy, the step
/// that may throw), then linked to the hub (shared_access::link, which
/// cannot), so a caller that fails in between frees it and leaves nothing
/// behind. The copy is made on the thread that completes the hub, as the
/// hub itself takes the outcome on; what the copy throws becomes its error.
template <class T>
class shared_copy final : public state<T>, public callback_node {
  static_assert(std::is_void<T>::value || std::is_copy_constructible<T>::value,
                "when_all, when_all_settled and when_any copy the value of a shared_future<T> input: "
                "T must be copy-constructible (or pass the future<T> itself, which is moved from)");

 public:
  // Two references: the reader's, and the link the hub fires. `ex` as the
  // states keep it (the hub's exec_).
  explicit shared_copy(decltype(state_base::exec_) ex) noexcept : state<T>(ex, 2) {}

  /// Frees a copy that was never linked. Never throws.
  void discard() noexcept {
    this->release();
    this->release();
  }

  void fire(state_base* hub) noexcept override {
    auto* h = static_cast<state<T>*>(hub);
    if (h->failed()) {
      this->set_error(h->error_ref());
    } else {
      std::exception_ptr error;
      try {
        this->set_value(static_cast<const typename state<T>::value_type&>(h->value_ref()));
      } catch (...) {
        error = std::current_exception();
      }
      // Published after the catch block, as producer::deliver does.
      if (error) this->set_error(std::move(error));
    }
    h->release();
    this->release();
  }
};

/// Frees an unlinked shared_copy (shared_copy_ptr's deleter). Never throws.
struct shared_copy_discard {
  template <class T>
  void operator()(shared_copy<T>* c) const noexcept {
    c->discard();
  }
};
/// An unlinked shared_copy, freed unless linked.
template <class T>
using shared_copy_ptr = std::unique_ptr<shared_copy<T>, shared_copy_discard>;

/// Private access to a shared_future's hub, for when_all and its kin.
/// Like the shared_future's own members: any thread, on its own copy.
struct shared_access {
  /// A copy of `s`'s outcome to be; its continuations default to `s`'s
  /// executor. `s` must be valid. Throws std::bad_alloc.
  template <class T>
  static shared_copy_ptr<T> make_copy(const shared_future<T>& s) {
    return shared_copy_ptr<T>(new shared_copy<T>(s.hub_->exec_));
  }
  /// Links `c` to `s`'s hub, which fires it once the outcome is in (at
  /// once if it is in), and returns the state that will hold the copy,
  /// with the reference `c` held. Never throws.
  template <class T>
  static state<T>* link(const shared_future<T>& s, shared_copy_ptr<T> c) noexcept {
    shared_copy<T>* copy = c.release();
    s.hub_->add_ref();         // held by the copy until it has copied the outcome
    s.hub_->mark_observed();   // the copy carries an error on
    s.hub_->attach_shared(copy);
    return copy;
  }
};

}  // namespace detail

template <class T>
shared_future<T> future<T>::share() {
  detail::throw_if_no_state(state_);
  auto* hub = new detail::shared_hub<T>(state_->exec_);
  detail::state<T>* parent = state_;
  state_ = nullptr;
  parent->attach(hub);
  return shared_future<T>(hub);
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_SHARED_FUTURE_HPP
