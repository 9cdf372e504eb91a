// weft/detail/shared_state.hpp: the state a promise and its future share.
//
// One heap object per future. It holds the outcome (value or exception), the
// executor later continuations default to, a reference count, and one
// callback slot. The slot holds either the next continuation (whose own
// state *is* the callback node, so `then` costs one allocation) or a
// blocked waiter on its stack.
//
// State word (state_), producer and consumer race on it with one RMW each:
//
//            producer: fetch_or(has_result)        consumer: fetch_or(has_callback)
//   start ─────────────────────────────► result ─────────────────────────────► done
//     │                                                          (consumer fires the callback)
//     │  consumer: fetch_or(has_callback)
//     └──────────────────────────────► callback ───────────────────────────► done
//                                          producer: fetch_or(has_result)
//                                          (producer fires the callback)
//
// Whoever makes the second transition fires the callback, exactly once, and
// with no lock held. After `done`, only the consumer touches the word again
// (to clear has_callback when a waiter re-arms the slot, or to set observed).
#ifndef WEFT_DETAIL_SHARED_STATE_HPP
#define WEFT_DETAIL_SHARED_STATE_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/result.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

class state_base;

/// Something to notify when a state becomes ready. fire() (or
/// fire_deferrable()) is called exactly once per attach, on the thread that
/// completed the second transition, with no lock held. It must not throw.
class callback_node {
 public:
  virtual void fire(state_base* ready) noexcept = 0;
  /// fire(), when the state was completed by the task now returning on this
  /// thread (see state_base::complete_task()): a continuation may hand
  /// itself to its executor with executor::defer() instead of execute().
  virtual void fire_deferrable(state_base* ready) noexcept { fire(ready); }

 protected:
  callback_node() = default;
  ~callback_node() = default;
};

/// The type-independent part of every shared state. The non-template core
/// (blocking waits, error reporting) lives in runtime/shared_state.cpp.
class state_base {
  friend struct wait_access;

 public:
  static constexpr std::uint32_t has_result = 1u;
  static constexpr std::uint32_t has_callback = 2u;
  static constexpr std::uint32_t has_error = 4u;
  static constexpr std::uint32_t observed = 8u;   // someone consumed the outcome
  static constexpr std::uint32_t forwarding = 16u;  // producer waits on an inner future
  static constexpr std::uint32_t claimed = 32u;  // an async task's run was taken (see claim())
  static constexpr std::uint32_t satisfying = 64u;  // a promise's setter took the right to set (claim_set())

  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  // Relaxed: a new reference is always made from an existing one, which
  // already keeps the object alive; only the final release needs ordering.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }

  // acq_rel: every write by any owner happens-before the destructor. A
  // count of 1 seen with acquire means we are the only owner left (nobody
  // can add a reference without holding one), so the last release usually
  // skips the read-modify-write.
  void release() noexcept {
    if (refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete this;
    }
  }

  /// True once the outcome is stored. Acquire pairs with complete()'s
  /// release, so the outcome may be read after it returns true.
  bool ready() const noexcept { return (state_.load(std::memory_order_acquire) & has_result) != 0; }
  bool failed() const noexcept { return (state_.load(std::memory_order_acquire) & has_error) != 0; }
  /// The stored error; read only after ready() returned true.
  const std::exception_ptr& error_ref() const noexcept { return error_; }

  /// Producer: publishes the outcome written just before, and fires the
  /// callback if one is attached. The producer must not touch the state's
  /// outcome afterwards. acq_rel: release publishes the outcome to the
  /// consumer; acquire sees the consumer's callback_ store.
  void complete(bool error) noexcept {
    const std::uint32_t old =
        state_.fetch_or(has_result | (error ? has_error : 0u), std::memory_order_acq_rel);
    if ((old & has_callback) != 0) callback_->fire(this);
  }

  /// complete(), by weft's own producers as the last act of the task that
  /// produced the outcome, once its user code has returned. If a pool
  /// started that very task (enter_task()), the continuation this fires is
  /// deferred, not executed (callback_node::fire_deferrable(),
  /// executor::defer()): its pool may run it next on this worker, as
  /// oneTBB runs the task a task returns, instead of through the deque. It
  /// still runs on its executor, after the current task. Never throws.
  void complete_task(bool error) noexcept {
    const std::uint32_t old =
        state_.fetch_or(has_result | (error ? has_error : 0u), std::memory_order_acq_rel);
    if ((old & has_callback) != 0) fire_task_end();
  }
  /// complete(), inside a callback_node::fire_deferrable() that completes
  /// this state on the spot (a fan-in's last input arriving at the end of
  /// the task that produced it): the callback is fired deferrable too.
  /// Never throws.
  void complete_deferrable(bool error) noexcept {
    const std::uint32_t old =
        state_.fetch_or(has_result | (error ? has_error : 0u), std::memory_order_acq_rel);
    if ((old & has_callback) != 0) callback_->fire_deferrable(this);
  }
  /// Consumer: attaches `cb` (one at a time); a continuation also marks the
  /// outcome observed, a waiter does not. Fires `cb` right away if the
  /// outcome is already there. acq_rel mirrors complete(): release publishes
  /// callback_, acquire sees the outcome.
  void attach(callback_node* cb, std::uint32_t bits = has_callback | observed) noexcept {
    callback_ = cb;
    const std::uint32_t old = state_.fetch_or(bits, std::memory_order_acq_rel);
    if ((old & has_result) != 0) cb->fire(this);
  }

  /// Consumer, after a waiter fired: frees the slot for the next attach.
  /// Relaxed: the outcome is in, so the producer no longer writes the word.
  void rearm() noexcept { state_.fetch_and(~has_callback, std::memory_order_relaxed); }

  /// Takes the right to run the task that produces this state: true for
  /// exactly one caller (the pool's task or a waiter running it inline).
  /// acq_rel: the winner sees everything written before the state was
  /// published, the loser learns only that it lost.
  bool claim() noexcept { return (state_.fetch_or(claimed, std::memory_order_acq_rel) & claimed) == 0; }

  /// A promise's setter: takes the right to store the outcome; true for
  /// exactly one of any number of racing callers (setters may race, as
  /// with std::promise: exactly one wins). acq_rel: the winner sees what an earlier
  /// winner's give_back_set() undid; a loser stores nothing.
  bool claim_set() noexcept { return (state_.fetch_or(satisfying, std::memory_order_acq_rel) & satisfying) == 0; }
  /// A claim_set() winner whose value constructor threw: nothing was
  /// stored, so the right goes back. Release pairs with claim_set().
  void give_back_set() noexcept { state_.fetch_and(~satisfying, std::memory_order_release); }
  /// True if a reference other than the caller's exists, that is, if
  /// someone (a future, a continuation, a waiter) could still observe an
  /// outcome stored now. Acquire: a count of 1 means every other owner has
  /// released (and so finished with the state).
  bool shared() const noexcept { return refs_.load(std::memory_order_acquire) > 1; }

  /// Consumer: marks the outcome as seen (get() on a ready future).
  void mark_observed() noexcept { state_.fetch_or(observed, std::memory_order_relaxed); }

  /// Consumer: blocks until ready. On a weft pool worker, an unstarted task
  /// of the same pool that produces this state runs inline; otherwise the
  /// task is suspended, or past a budget the worker helps (runs other tasks
  /// until the outcome is in). Elsewhere the thread spins briefly, then
  /// parks on a futex. Inside a task that a weft::testing::simulation runs
  /// it throws std::logic_error instead of blocking (nothing could complete
  /// the state while that thread waits).
  void wait();
  /// As wait(), up to `deadline`; returns ready(). On a pool worker this
  /// blocks the worker (bounded by the deadline).
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  // Where continuations run unless given another; consumer-owned. A
  // registration, not an address: the executor may be destroyed first.
  executor_ref exec_;

 protected:
  state_base(executor_ref ex, std::uint32_t refs) noexcept : exec_(ex), refs_(refs), state_(0) {}
  virtual ~state_base();

  // Fires the callback, deferrable if this state is the one produced by the
  // task a pool started on this thread (out of line: the runtime records it).
  void fire_task_end() noexcept;
  // A waiter's slot. The shared_future hub keeps a list instead of one slot.
  virtual void attach_waiter(callback_node* w) noexcept;
  virtual bool detach_waiter(callback_node* w) noexcept;  // true if it will not fire
  virtual void after_wait() noexcept;
  // A waiter on a worker of `pool`: runs the producing task right here if
  // it was queued on that pool and has not started. True if it ran.
  virtual bool try_run_inline(const void* pool) noexcept;

  std::exception_ptr error_;
  std::atomic<std::uint32_t> refs_;
  std::atomic<std::uint32_t> state_;
  callback_node* callback_ = nullptr;
};

/// What a scheduler's worker (the runtime's worker::wait) may do with a
/// state it blocks on: the waiter slot and the inline run of the task that
/// produces it. Not for users.
struct wait_access {
  static void attach_waiter(state_base& s, callback_node* w) noexcept { s.attach_waiter(w); }
  static void after_wait(state_base& s) noexcept { s.after_wait(); }
  static bool try_run_inline(state_base& s, const void* pool) noexcept { return s.try_run_inline(pool); }
};

struct unit {};
template <class T>
using stored_t = typename std::conditional<std::is_void<T>::value, unit, T>::type;

/// The outcome storage for a T. The producer writes it once before
/// complete(); the consumer reads it after ready().
template <class T>
class state : public state_base {
 public:
  using value_type = stored_t<T>;

  explicit state(executor_ref ex, std::uint32_t refs = 2) noexcept : state_base(ex, refs) {}

  template <class... A>
  void set_value(A&&... a) {
    emplace_value(std::forward<A>(a)...);
    complete(false);
  }
  /// Constructs the value without publishing it: the producer calls one
  /// of the complete() family next.
  template <class... A>
  void emplace_value(A&&... a) {
    ::new (static_cast<void*>(&value_)) value_type(std::forward<A>(a)...);
  }
  void set_error(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    complete(true);
  }
  /// As set_value() and set_error(), through complete_deferrable() when
  /// `deferrable` (the input that completes this state arrived at the end
  /// of the task that produced it: fan-ins, timeouts).
  template <class... A>
  void set_value_deferrable_if(bool deferrable, A&&... a) {
    emplace_value(std::forward<A>(a)...);
    if (deferrable) {
      complete_deferrable(false);
    } else {
      complete(false);
    }
  }
  void set_error_deferrable_if(bool deferrable, std::exception_ptr e) noexcept {
    error_ = std::move(e);
    if (deferrable) {
      complete_deferrable(true);
    } else {
      complete(true);
    }
  }
  /// As set_value() and set_error(), through complete_task(): for the
  /// last act of the task that produced the outcome.
  template <class... A>
  void set_value_from_task(A&&... a) {
    ::new (static_cast<void*>(&value_)) value_type(std::forward<A>(a)...);
    complete_task(false);
  }
  void set_error_from_task(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    complete_task(true);
  }
  /// Moves the result into `other` (for unwrapping and sharing).
  void forward_to(state<T>& other) {
    if (failed()) {
      other.set_error(error_);
    } else {
      other.set_value(std::move(value_ref()));
    }
  }

  value_type& value_ref() noexcept { return *reinterpret_cast<value_type*>(&value_); }

  /// Consumer: throws the stored error, or returns the value for moving out.
  value_type& value_or_throw() {
    if (failed()) std::rethrow_exception(error_);
    return value_ref();
  }

 protected:
  ~state() override {
    // Acquire was done by the final release(); has_result|has_error are stable.
    const std::uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & has_result) != 0 && (s & has_error) == 0) value_ref().~value_type();
  }

 private:
  typename std::aligned_storage<sizeof(value_type), alignof(value_type)>::type value_;
};

/// result<T> built from a ready state, moving or copying the value.
template <class T>
result<T> take_result(state<T>& s, std::false_type /*is void*/) {
  if (s.failed()) return result<T>(s.error_ref());
  return result<T>(std::move(s.value_ref()));
}
template <class T>
result<T> take_result(state<T>& s, std::true_type) {
  if (s.failed()) return result<T>(s.error_ref());
  return result<T>();
}
template <class T>
result<T> copy_result(state<T>& s, std::false_type) {
  if (s.failed()) return result<T>(s.error_ref());
  return result<T>(static_cast<const T&>(s.value_ref()));
}
template <class T>
result<T> copy_result(state<T>& s, std::true_type) {
  return take_result(s, std::true_type());
}

/// The default executor for promises and continuations: default_pool().
executor& default_executor();

/// The pool the calling thread is a worker of, if `ex` is that pool (a task
/// it submits there lands in this thread's own deque); null otherwise.
/// An opaque tag, only compared. Thread-safe.
const void* local_pool_of(const executor& ex) noexcept;

/// An outcome arriving where weft runs no user code: a fan-in's input (see
/// fan_in) or an unwrapped future's inner outcome (see producer), either of
/// which may complete the next and so on. arrive_or_defer() may put it off.
/// Intrusive: a stack's put-off arrivals are a list through `next_`.
class deferred_arrival {
 public:
  virtual void arrive() noexcept = 0;
  deferred_arrival* next_ = nullptr;

 protected:
  deferred_arrival() = default;
  ~deferred_arrival() = default;
};

/// Runs a.arrive() now, or, with 32 arrivals already nested on the calling
/// stack, puts it off until the outermost of them returns. wait() runs the
/// put-off arrivals of its stack before it blocks, so a get() never waits
/// for an arrival queued below it. Never throws.
void arrive_or_defer(deferred_arrival& a) noexcept;

/// True if arrive_or_defer() called now would put its arrival off (which
/// must then outlive the call). Never throws.
bool arrival_must_wait() noexcept;

/// Called by weft's own task types (`task`, stored inline in a unique_task)
/// as they start the code behind `producer`: if a pool started this very
/// task, `producer`'s completion at the task's end may have its pool
/// continuation deferred (see complete_task()); a task run
/// nested inside other code (an inline or user executor) never does.
/// Never throws.
void enter_task(const void* task, const state_base* producer) noexcept;

/// A Step (a deferred_arrival) that lives on the heap and frees itself once
/// it has arrived.
template <class Step>
struct heap_arrival final : Step {
  template <class... A>
  explicit heap_arrival(A&&... a) noexcept : Step(std::forward<A>(a)...) {}
  void arrive() noexcept override {
    Step::arrive();
    delete this;
  }
};

/// Builds a Step from `a...` and hands it to arrive_or_defer(): on the
/// stack when it runs at once, on the heap when it is put off (deep
/// nesting only, so a rare allocation rather than room in every state).
/// Without memory for it, it runs now, one level deeper after all.
/// Step's constructor and arrive() must not throw. Never throws.
template <class Step, class... A>
void arrive_bounded(A&&... a) noexcept {
  if (!arrival_must_wait()) {
    Step step(std::forward<A>(a)...);
    arrive_or_defer(step);  // runs it now
    return;
  }
  auto* step = new (std::nothrow) heap_arrival<Step>(a...);
  if (step == nullptr) {
    Step now(std::forward<A>(a)...);
    now.arrive();
    return;
  }
  arrive_or_defer(*step);
}

/// Throws future_error(no_state).
[[noreturn]] void throw_no_state();

/// Throws future_error(no_state) when `p` is null. Inline, so the compiler
/// sees that a null `p` never reaches the code after the check.
inline void throw_if_no_state(const void* p) {
  if (p == nullptr) throw_no_state();
}

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_DETAIL_SHARED_STATE_HPP
