// weft/promise.hpp: promise<T>, the producer end of a future.
//
// A promise is satisfied exactly once: set_value or set_exception a second
// time throws future_error(already_satisfied), also when the calls race
// from several threads (exactly one wins). A promise destroyed before it
// was satisfied breaks its future with broken_promise, if anyone can still
// see it (a future, a continuation or a waiter). Continuations of
// the future run on the executor the promise was given (default_pool()),
// never on the thread that calls set_value.
//
// Memory ordering: everything done before set_value/set_exception
// happens-before the future's get() returns and its continuations start.
//
// Thread-safety: set_value, set_exception and set_result may be called on
// one promise from any number of threads at once, and with one call of
// get_future (as with std::promise); two get_future calls, moving,
// assigning and destroying it may not race with anything. Its future may be used concurrently from another thread.
// set_value makes no system call unless a thread is parked in get().
#ifndef WEFT_PROMISE_HPP
#define WEFT_PROMISE_HPP

#include <exception>
#include <utility>

#include "weft/future.hpp"

namespace weft {
inline namespace v1 {

/// The write end of a future<T>.
template <class T>
class promise {
 public:
  /// A promise whose future runs continuations on `ex`.
  /// Throws std::bad_alloc.
  explicit promise(executor& ex = detail::default_executor()) : state_(new detail::state<T>(ex, 1)) {}

  promise(promise&& o) noexcept : state_(o.state_), retrieved_(o.retrieved_) { o.state_ = nullptr; }
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = o.state_;
      retrieved_ = o.retrieved_;
      o.state_ = nullptr;
    }
    return *this;
  }
  /// Exchanges the shared states of *this and `o`, and whether each future
  /// was retrieved, as std::promise::swap; no future is broken. Neither
  /// promise may be in use by another thread meanwhile. Never throws.
  void swap(promise& o) noexcept {
    std::swap(state_, o.state_);
    std::swap(retrieved_, o.retrieved_);
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;

  /// Breaks the future with broken_promise if the promise is not yet
  /// satisfied and someone can still observe it (a future, a continuation
  /// or a waiter holds the state). A future dropped before is no reader:
  /// then nothing is stored and nothing is reported.
  ~promise() { abandon(); }

  /// The future of this promise. Throws future_error(already_retrieved) on
  /// a second call, future_error(no_state) on a moved-from promise.
  future<T> get_future() {
    detail::throw_if_no_state(state_);
    if (retrieved_) throw future_error(future_errc::already_retrieved);
    retrieved_ = true;
    state_->add_ref();
    return detail::future_access::adopt(state_);
  }

  /// Stores the value (constructed from `args`) and wakes the future.
  /// Any number of threads may race to set: exactly one wins, every other
  /// throws future_error(already_satisfied), as does any later call. Also
  /// throws what constructing the value throws (the promise stays
  /// unsatisfied then; a setter that raced it may already have been told
  /// already_satisfied).
  template <class... A>
  void set_value(A&&... args) {
    detail::state<T>* s = claim();
    // Nothing of *this is touched from here: once the value is published, a
    // woken reader may destroy this promise (it often lives on the
    // reader's stack).
    try {
      s->set_value(std::forward<A>(args)...);
    } catch (...) {  // constructing the value threw: nothing was published
      s->give_back_set();
      throw;
    }
  }

  /// Stores `e` (which must not be null: std::invalid_argument). Races
  /// with other setters as set_value() does: the losers throw
  /// future_error(already_satisfied).
  void set_exception(std::exception_ptr e) {
    if (!e) throw std::invalid_argument("weft::promise::set_exception: the exception_ptr argument 'e' is null");
    claim()->set_error(std::move(e));
  }

  /// Stores the outcome held by `r`.
  void set_result(result<T> r) { set_result_impl(std::move(r), std::is_void<T>()); }

  /// True while the promise has a shared state (false once moved from).
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::state<T>* claim() const {
    detail::throw_if_no_state(state_);
    if (!state_->claim_set()) throw future_error(future_errc::already_satisfied);
    return state_;
  }
  void set_result_impl(result<T>&& r, std::false_type) {
    if (r.has_value()) {
      set_value(std::move(r).value());
    } else {
      set_exception(r.error());
    }
  }
  void set_result_impl(result<T>&& r, std::true_type) {
    if (r.has_value()) {
      set_value();
    } else {
      set_exception(r.error());
    }
  }
  void abandon() noexcept {
    if (state_ == nullptr) return;
    // With no other reference (the future never taken, or dropped, with
    // nothing attached) nobody can observe the break, so there is nothing
    // to tell (and nothing for the unhandled-error handler).
    if (state_->shared() && state_->claim_set()) state_->set_error(std::make_exception_ptr(broken_promise()));
    state_->release();
    state_ = nullptr;
  }

  detail::state<T>* state_;
  // Not in the state word: get_future() may race with the setters, not
  // with itself (as with std::promise), and a plain flag spares it a
  // read-modify-write.
  bool retrieved_ = false;
};

/// a.swap(b), for `using std::swap; swap(a, b);` as with std::promise.
/// Neither promise may be in use by another thread meanwhile. Never throws.
template <class T>
void swap(promise<T>& a, promise<T>& b) noexcept {
  a.swap(b);
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_PROMISE_HPP
