// weft/cancellation.hpp: cancellation sources, tokens and callbacks.
//
// A cancellation_source owns the right to cancel; the tokens it hands out
// observe it; a cancellation_callback runs a function when its token is
// cancelled. async(ex, token, f), fut.then(token, fn) and offload(token, f)
// take tokens, so one cancel() calls off every piece of work bound to them
// (asyncio's task.cancel(), and asyncio.CancelledError is cancelled_error).
//
// The design, and why it is cheap:
// - One heap object per source (a detail::cancel_state), shared by the
//   source's copies, its tokens and the callbacks registered on them. A
//   default-constructed token has none and costs nothing.
// - A registered callback is a node of an intrusive doubly-linked list that
//   lives in the cancellation_callback object itself: registering allocates
//   nothing (a callable of up to 4 pointers is stored inline; a larger one
//   is allocated once, when the callback is constructed).
// - The list is guarded by a spin lock that is one bit of the state's
//   atomic word, next to the "cancelled" bit; each registration and each
//   deregistration holds it for a few instructions. cancel() with no
//   callback registered is one compare-and-swap.
// - cancel() runs the callbacks on its own thread, one at a time, without
//   the lock. Destroying a callback whose function is running on another
//   thread waits for that function to return: it spins for a few
//   microseconds and only then sleeps, so cancel() makes a system call for
//   a callback only when its destroyer is actually asleep waiting for it.
//
// Errors: a callback's function that throws has its exception passed to
// report_unhandled_error() (errors.hpp); the other callbacks still run.
//
// C++14; the only dependencies are <atomic>, <thread> and errors.hpp.
#ifndef WEFT_CANCELLATION_HPP
#define WEFT_CANCELLATION_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {

class cancellation_source;
class cancellation_token;
class cancellation_callback;

namespace detail {

class cancel_state;

/// One registration in a cancel_state's list: a cancellation_callback's,
/// or a linked source's link to its parent. Lives in its owner, never on
/// the heap of its own. Not for users.
struct cancel_node {
  // The phases of a node. `listed` and `running` are set with the state's
  // lock held; `done` and `parked` are the hand-off between cancel() and a
  // destroyer waiting for a running function (see cancel_state::remove()).
  static constexpr std::uint32_t idle = 0, listed = 1, running = 2, done = 3, parked = 4;

  /// Runs the function at `fn` (run true) or destroys it (run false).
  /// Running may throw; destroying must not.
  void (*op)(void* fn, bool run) = nullptr;
  void* fn = nullptr;
  cancel_node* next = nullptr;
  cancel_node** prev_next = nullptr;  // the pointer that points at this node; null when not listed
  std::atomic<std::uint32_t> phase{idle};
};

/// The state a source, its copies, its tokens and its callbacks share.
/// The word holds three bits: cancelled, locked (the spin lock guarding the
/// list) and has_nodes (the list is not empty, so cancel() must lock it).
/// The reference count and the count of source copies are words of their
/// own, so an unlock is a plain store. Not for users: the members that take
/// the lock are in runtime/cancellation.cpp.
class cancel_state {
 public:
  static constexpr std::uint32_t cancelled = 1u, locked = 2u, has_nodes = 4u;

  /// A fresh state with one reference and one source. Throws std::bad_alloc.
  static cancel_state* make();
  /// A fresh state linked to `parent` (may be null: then as make()): it is
  /// cancelled when `parent` is. Throws std::bad_alloc.
  static cancel_state* make_linked(cancel_state* parent);

  /// Acquire: pairs with cancel()'s release, so what the cancelling
  /// thread did before cancel() is visible to whoever sees the bit.
  bool is_cancelled() const noexcept { return (word_.load(std::memory_order_acquire) & cancelled) != 0; }
  bool can_be_cancelled() const noexcept;

  // Relaxed: a new reference is made from one the caller holds, which
  // keeps the state alive; only the last release needs ordering.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept;
  /// A new source copy (the caller holds one). Relaxed, as add_ref().
  void add_source() noexcept {
    sources_.fetch_add(1, std::memory_order_relaxed);
    add_ref();
  }
  /// A source copy is gone; the last one detaches a linked state from its
  /// parent. Drops the copy's reference.
  void drop_source() noexcept;

  /// cancellation_source::cancel(): sets `cancelled` and runs the listed
  /// nodes on this thread, newest first. Never throws.
  bool cancel() noexcept;
  /// Lists `n` (its op and fn set) unless the state is cancelled; false
  /// then, and `n` is not listed. Never throws.
  bool add(cancel_node* n) noexcept;
  /// Unlists `n`; if its function is running on another thread, waits for
  /// it to return; from inside that very function (same thread), returns
  /// at once. Never throws.
  void remove(cancel_node* n) noexcept;
  /// The number of nodes listed now (a walk under the lock).
  std::size_t listed_nodes() const noexcept;

 private:
  cancel_state() noexcept = default;
  ~cancel_state() = default;
  std::uint32_t lock_any() const noexcept;
  void unlock(std::uint32_t flags) const noexcept;
  void run_nodes() noexcept;
  void detach_from_parent() noexcept;

  mutable std::atomic<std::uint32_t> word_{0};
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::uint32_t> sources_{1};
  // Guarded by the lock bit of word_:
  cancel_node* head_ = nullptr;
  std::thread::id canceller_;          // the thread that runs the nodes
  bool* running_destroyed_ = nullptr;  // set when the running node is destroyed by its own function
  // A linked state's registration in its parent (its fn is this state).
  // Listed from make_linked() until the last source copy is gone.
  cancel_node link_;
  cancel_state* parent_ = nullptr;  // holds a reference while linked
};

/// Throws cancelled_error with `what`.
[[noreturn]] void throw_cancelled(const char* what);
/// True if `e` holds a cancelled_error (what task groups and retry do not
/// count as a failure). Never throws.
bool is_cancelled_error(const std::exception_ptr& e) noexcept;
/// A cancelled_error with `what`, as an exception_ptr (std::bad_alloc's,
/// without memory for it). Never throws.
std::exception_ptr make_cancelled(const char* what) noexcept;

}  // namespace detail

/// Observes a cancellation_source: whether it was cancelled, and a place to
/// register cancellation_callbacks. A default-constructed token is never
/// cancelled and costs nothing (no state, no allocation).
///
/// Copies observe the same source. Thread-safety: every member but
/// assignment and destruction may be called on one token from several
/// threads at once; copies, and the source, may be used from any threads.
class cancellation_token {
 public:
  /// A token that can never be cancelled. Never throws.
  cancellation_token() noexcept = default;
  cancellation_token(const cancellation_token& o) noexcept : state_(o.state_) {
    if (state_ != nullptr) state_->add_ref();
  }
  cancellation_token(cancellation_token&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
  cancellation_token& operator=(cancellation_token o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  ~cancellation_token() {
    if (state_ != nullptr) state_->release();
  }

  /// True once the source was cancelled (directly, or through the parent
  /// of a linked source). What the cancelling thread did before cancel()
  /// is visible to a thread that saw true. Never throws.
  bool is_cancelled() const noexcept { return state_ != nullptr && state_->is_cancelled(); }

  /// True if the token is cancelled or may still be: a source copy is
  /// alive. False for a default-constructed token, and for one whose
  /// sources are all gone uncancelled (nothing can cancel it any more; a
  /// linked source detaches from its parent when its last copy dies).
  /// Never throws.
  bool can_be_cancelled() const noexcept { return state_ != nullptr && state_->can_be_cancelled(); }

  /// Throws cancelled_error if is_cancelled().
  void throw_if_cancelled() const {
    if (is_cancelled()) detail::throw_cancelled("weft: operation cancelled");
  }

  /// For debugging and tests: how many callbacks are registered on the
  /// source now (cancellation_callbacks, and the links of live linked
  /// sources). Walks the list under the source's lock: O(n). 0 for a
  /// default-constructed token. Never throws.
  std::size_t registered_callbacks() const noexcept { return state_ != nullptr ? state_->listed_nodes() : 0; }

 private:
  friend class cancellation_source;
  friend class cancellation_callback;
  explicit cancellation_token(detail::cancel_state* s) noexcept : state_(s) {}  // adopts a reference

  detail::cancel_state* state_ = nullptr;
};

/// Owns the right to cancel. Copies share one state: cancel() through any
/// copy cancels them all, and every token any of them handed out.
///
/// Thread-safety: every member but assignment and destruction may be
/// called on one source from several threads at once (cancel() included);
/// copies may be used from any threads.
class cancellation_source {
 public:
  /// An independent source, not cancelled. Throws std::bad_alloc.
  cancellation_source() : state_(detail::cancel_state::make()) {}

  /// A linked child of `parent`'s source: cancelled when the parent is
  /// (at once, if the parent is cancelled already), and cancellable on its
  /// own without cancelling the parent. The link is a registration in the
  /// parent, removed when the child's last source copy is destroyed, so
  /// short-lived children leave nothing behind on a long-lived parent. A
  /// default-constructed `parent` gives an independent source.
  /// Throws std::bad_alloc.
  explicit cancellation_source(const cancellation_token& parent)
      : state_(detail::cancel_state::make_linked(parent.state_)) {}

  cancellation_source(const cancellation_source& o) noexcept : state_(o.state_) {
    if (state_ != nullptr) state_->add_source();
  }
  /// Leaves `o` empty: cancel() on it returns false, its token() is a
  /// default token.
  cancellation_source(cancellation_source&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
  cancellation_source& operator=(cancellation_source o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  /// The last copy of a linked source detaches it from its parent; if the
  /// parent is running the link's callback on another thread at that
  /// moment (cancelling this child), waits for it to return.
  ~cancellation_source() {
    if (state_ != nullptr) state_->drop_source();
  }

  /// Cancels: true only for the call that did it; a later call (or one
  /// racing the winner) is a no-op returning false. The winner runs every
  /// registered callback on the calling thread, each exactly once, newest
  /// registration first, before it returns; a loser returns at once, maybe
  /// before the winner's callbacks have finished. A callback that throws
  /// is reported to report_unhandled_error() and the others still run.
  /// Never throws. False on an empty (moved-from) source.
  bool cancel() noexcept { return state_ != nullptr && state_->cancel(); }

  /// True once cancelled. Never throws.
  bool is_cancelled() const noexcept { return state_ != nullptr && state_->is_cancelled(); }

  /// A token observing this source (a default token for an empty source).
  /// Never throws.
  cancellation_token token() const noexcept {
    if (state_ == nullptr) return cancellation_token();
    state_->add_ref();
    return cancellation_token(state_);
  }

 private:
  detail::cancel_state* state_;
};

/// Runs a function when a token is cancelled: an RAII registration. Not
/// copyable or movable: the registration is a node inside this object.
///
/// - Constructed on a token that is cancelled already: runs the function
///   at once, on the constructing thread, exactly once.
/// - Otherwise registered: the thread that cancels the source runs it,
///   exactly once, unless the callback is destroyed first.
/// - Destroyed: deregistered. If the function is running on another thread
///   right then, the destructor waits until it has returned; after the
///   destructor, the function never runs. Destroyed from inside its own
///   function (on the cancelling thread), it does not wait (that would be
///   a deadlock); the function's object is destroyed then, so the function
///   must not touch its own captures after destroying its callback.
/// - A function that throws: the exception goes to report_unhandled_error()
///   (errors.hpp), also when it runs at once in the constructor, and other
///   callbacks still run. The constructor throws only what copying or
///   moving `f` in throws, and std::bad_alloc for a callable larger than
///   four pointers.
/// - Do not, inside a callback's function, wait for a thread that is
///   destroying that same callback, nor destroy a callback while holding a
///   lock its function takes: each would wait for the other forever.
///
/// Thread-safety: constructed and destroyed by one thread each; any number
/// of callbacks may be registered, destroyed and cancelled concurrently.
class cancellation_callback {
 public:
  /// Registers `f` (a callable taking no arguments) on `t`; see the class
  /// comment. A default-constructed `t` registers nothing: `f` never runs.
  template <class F, class Fn = typename std::decay<F>::type,
            typename std::enable_if<!std::is_same<Fn, cancellation_callback>::value, int>::type = 0>
  cancellation_callback(const cancellation_token& t, F&& f) {
    static_assert(std::is_same<decltype(std::declval<Fn&>()(), void()), void>::value,
                  "cancellation_callback: f must be callable with no arguments");
    store<Fn>(std::forward<F>(f), fits<Fn>());
    // A default token is never cancelled: f is kept (and destroyed with
    // this object) but never runs.
    if (t.state_ != nullptr) attach(t.state_);
  }

  /// Deregisters, waiting for the function if it runs on another thread
  /// (see the class comment), then destroys the function. Never throws.
  ~cancellation_callback();

  cancellation_callback(const cancellation_callback&) = delete;
  cancellation_callback& operator=(const cancellation_callback&) = delete;
  cancellation_callback(cancellation_callback&&) = delete;
  cancellation_callback& operator=(cancellation_callback&&) = delete;

 private:
  static constexpr std::size_t inline_size = 4 * sizeof(void*);
  using storage = typename std::aligned_storage<inline_size, alignof(std::max_align_t)>::type;

  template <class Fn>
  using fits = std::integral_constant<bool, sizeof(Fn) <= inline_size && alignof(Fn) <= alignof(std::max_align_t)>;

  template <class Fn>
  static void inline_op(void* fn, bool run) {
    if (run) {
      (*static_cast<Fn*>(fn))();
    } else {
      static_cast<Fn*>(fn)->~Fn();
    }
  }
  template <class Fn>
  static void heap_op(void* fn, bool run) {
    if (run) {
      (*static_cast<Fn*>(fn))();
    } else {
      delete static_cast<Fn*>(fn);
    }
  }
  template <class Fn, class F>
  void store(F&& f, std::true_type) {
    node_.fn = ::new (static_cast<void*>(&buf_)) Fn(std::forward<F>(f));
    node_.op = &inline_op<Fn>;
  }
  template <class Fn, class F>
  void store(F&& f, std::false_type) {
    node_.fn = new Fn(std::forward<F>(f));
    node_.op = &heap_op<Fn>;
  }

  // Registers the node on `s` (taking a reference), or runs the function
  // now if `s` is cancelled (reporting what it throws). Never throws.
  void attach(detail::cancel_state* s) noexcept;

  detail::cancel_node node_;
  detail::cancel_state* state_ = nullptr;  // set while registered
  storage buf_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_CANCELLATION_HPP
