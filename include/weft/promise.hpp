// weft/promise.hpp: promise<T>, the producer end of a future.
//
// A promise is satisfied exactly once: set_value or set_exception a second
// time throws future_error(already_satisfied). A promise destroyed before
// it was satisfied breaks its future with broken_promise. Continuations of
// the future run on the executor the promise was given (default_pool()),
// never on the thread that calls set_value.
//
// Memory ordering: everything done before set_value/set_exception
// happens-before the future's get() returns and its continuations start.
//
// Thread-safety: a promise object is used by one thread at a time (like any
// value); its future may be used concurrently from another thread.
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
  explicit promise(executor& ex = detail::default_executor()) : state_(new detail::state<T>(&ex, 1)) {}

  promise(promise&& o) noexcept : state_(o.state_), retrieved_(o.retrieved_), satisfied_(o.satisfied_) {
    o.state_ = nullptr;
  }
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = o.state_;
      retrieved_ = o.retrieved_;
      satisfied_ = o.satisfied_;
      o.state_ = nullptr;
    }
    return *this;
  }
  /// Exchanges the shared states (and whether each future was retrieved,
  /// each promise satisfied) of *this and `o`, as std::promise::swap; no
  /// future is broken. Neither promise may be in use by another thread
  /// meanwhile. Never throws.
  void swap(promise& o) noexcept {
    std::swap(state_, o.state_);
    std::swap(retrieved_, o.retrieved_);
    std::swap(satisfied_, o.satisfied_);
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;

  /// Breaks the future with broken_promise if it was retrieved and the
  /// promise is not yet satisfied.
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
  /// Throws future_error(already_satisfied) if already satisfied, or what
  /// constructing the value throws (the promise stays unsatisfied then).
  template <class... A>
  void set_value(A&&... args) {
    check_unsatisfied();
    // Marked first: once the value is published, a woken reader may destroy
    // this promise (it often lives on the reader's stack), so nothing of
    // *this may be touched afterwards.
    satisfied_ = true;
    try {
      state_->set_value(std::forward<A>(args)...);
    } catch (...) {  // constructing the value threw: nothing was published
      satisfied_ = false;
      throw;
    }
  }

  /// Stores `e` (which must not be null: std::invalid_argument).
  /// Throws future_error(already_satisfied) if already satisfied.
  void set_exception(std::exception_ptr e) {
    if (!e) throw std::invalid_argument("weft::promise::set_exception: the exception_ptr argument 'e' is null");
    check_unsatisfied();
    satisfied_ = true;
    state_->set_error(std::move(e));
  }

  /// Stores the outcome held by `r`.
  void set_result(result<T> r) { set_result_impl(std::move(r), std::is_void<T>()); }

  /// True while the promise has a shared state (false once moved from).
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  void check_unsatisfied() const {
    detail::throw_if_no_state(state_);
    if (satisfied_) throw future_error(future_errc::already_satisfied);
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
    // Without a retrieved future nobody can observe the break, so there is
    // nothing to tell (and nothing for the unhandled-error handler).
    if (!satisfied_ && retrieved_) state_->set_error(std::make_exception_ptr(broken_promise()));
    state_->release();
    state_ = nullptr;
  }

  detail::state<T>* state_;
  bool retrieved_ = false;
  bool satisfied_ = false;
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
