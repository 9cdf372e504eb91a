// weft/semaphore.hpp: an asynchronous counting semaphore (asyncio.Semaphore).
//
//   weft::semaphore slots(3);                       // at most 3 at once
//   slots.acquire().then([](weft::semaphore::permit p) {
//     return fetch();                                // p is released when the
//   });                                              // continuation ends
//
// acquire() never blocks a thread: it returns a future<permit> that is
// ready at once when permits are free and nobody waits, and otherwise
// completes when release() (or a permit going out of scope) hands them
// over. The future continues on the semaphore's executor (default_pool()
// by default), never inline on the thread that released.
//
// Fairness is strict FIFO: a waiter is served only once every waiter
// queued before it is, so one asking for many permits is not starved by a
// stream of small requests, and try_acquire() never takes permits while
// anyone waits. A cancelled or timed-out waiter (see the token argument,
// and timeout() / with_timeout() in <weft/timeout.hpp> with the token's
// source) consumes nothing, and if it was at the head, the waiters behind
// it that now fit are served at once.
//
// Lifetime: permits may outlive the semaphore (they share its count, and
// dropping one then only returns it to the count nobody can take from).
// Destroying the semaphore fails the waiters still queued with
// executor_shutdown ("weft::semaphore: destroyed while this acquire() was
// waiting").
#ifndef WEFT_SEMAPHORE_HPP
#define WEFT_SEMAPHORE_HPP

#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/shared_state.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// A semaphore's count and waiters. Not for users; the members that take
/// the lock are in runtime/coordination.cpp.
///
/// The count lives in one atomic word, `word_` = free permits * 2, plus
/// bit 0, set while a waiter is queued. With the bit clear nobody waits, so
/// taking and giving back permits is one compare-and-swap, without the
/// lock. With the bit set, the word changes only under the lock (the lock-
/// free paths leave it alone), so the FIFO order of the waiters is decided
/// there. The bit is set and cleared under the lock only, with the list:
/// set when the first waiter is queued, cleared when the list empties.
class semaphore_core final : public wait_core {
 public:
  semaphore_core(std::ptrdiff_t count, executor& ex, const char* cancelled_what) noexcept
      : wait_core(ex, cancelled_what), word_(count * 2) {}

  /// Takes `n` if nobody waits and they are free; never queues. No lock.
  bool try_take(std::ptrdiff_t n) noexcept {
    // Relaxed: only a starting guess; the compare-and-swap checks it.
    std::ptrdiff_t w = word_.load(std::memory_order_relaxed);
    // acq_rel on success: the acquire half pairs with the release of the
    // give_back() that freed these permits, so what the last holder did
    // under them is visible to the next (every change of the word is
    // acq_rel, which keeps the argument one line).
    while ((w & waiters) == 0 && (w >> 1) >= n) {
      if (word_.compare_exchange_weak(w, w - 2 * n, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  /// Under the lock: try_take(), or else marks the word as having a waiter
  /// (the caller then queues one). True if it took the permits.
  bool take_or_mark_locked(std::ptrdiff_t n) noexcept {
    std::ptrdiff_t w = word_.load(std::memory_order_relaxed);  // the CAS checks it
    for (;;) {
      if ((w & waiters) != 0) return false;  // the list is not empty: queue behind it
      const std::ptrdiff_t next = (w >> 1) >= n ? w - 2 * n : (w | waiters);
      // acq_rel: as try_take() when taking; publishing the bit needs no more.
      if (word_.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return (next & waiters) == 0;
      }
    }
  }
  /// Under the lock: clears the waiters bit if nobody is queued (a waiter
  /// marked by take_or_mark_locked() was not queued after all).
  void unmark_if_empty_locked() noexcept {
    if (list_.empty()) word_.fetch_and(~waiters, std::memory_order_acq_rel);
  }
  /// Returns `n` permits (a permit dropped or released) and serves the
  /// waiters they satisfy. Never throws.
  void give_back(std::ptrdiff_t n) noexcept {
    std::ptrdiff_t w = word_.load(std::memory_order_relaxed);  // the CAS checks it
    // acq_rel: release publishes what the holder did to the next taker.
    while ((w & waiters) == 0) {
      if (word_.compare_exchange_weak(w, w + 2 * n, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
    }
    give_back_to_waiters(n);
  }
  /// semaphore::release(n): as give_back(), but throws
  /// std::invalid_argument (naming `who`) if n is negative or the count
  /// would pass `max`.
  void add(std::ptrdiff_t n, std::ptrdiff_t max, const char* who);
  /// The free permits now (a snapshot). Never throws.
  std::ptrdiff_t available() const noexcept { return word_.load(std::memory_order_acquire) >> 1; }

 private:
  static constexpr std::ptrdiff_t waiters = 1;

  wait_node* after_cancel_locked() noexcept override { return grantable_locked(); }
  void wake(wait_node* nodes) noexcept override;
  void give_back_to_waiters(std::ptrdiff_t n) noexcept;
  void on_closed_locked() noexcept override;
  // Takes off the list, oldest first, the waiters the free permits
  // satisfy, stopping at the first that does not fit (FIFO); subtracts
  // what they take, and clears the waiters bit if the list empties.
  wait_node* grantable_locked() noexcept;

  std::atomic<std::ptrdiff_t> word_;
};

/// `n` permits taken from a semaphore_core, given back when destroyed:
/// what semaphore::permit and async_mutex::guard hold. Move-only.
class held_permits {
 public:
  held_permits() noexcept = default;
  held_permits(std::shared_ptr<semaphore_core> core, std::ptrdiff_t n) noexcept : core_(std::move(core)), n_(n) {}
  held_permits(held_permits&& o) noexcept : core_(std::move(o.core_)), n_(o.n_) { o.n_ = 0; }
  held_permits& operator=(held_permits&& o) noexcept {
    if (this != &o) {
      release();
      core_ = std::move(o.core_);
      n_ = o.n_;
      o.n_ = 0;
    }
    return *this;
  }
  held_permits(const held_permits&) = delete;
  held_permits& operator=(const held_permits&) = delete;
  ~held_permits() { release(); }

  void release() noexcept {
    if (!core_) return;
    std::shared_ptr<semaphore_core> core = std::move(core_);
    const std::ptrdiff_t n = n_;
    n_ = 0;
    core->give_back(n);
  }
  /// Empties *this without giving the permits back. Never throws.
  void forget() noexcept {
    core_.reset();
    n_ = 0;
  }
  std::ptrdiff_t count() const noexcept { return n_; }
  /// The core these permits belong to (null when empty). Never throws.
  const semaphore_core* core() const noexcept { return core_.get(); }

 private:
  std::shared_ptr<semaphore_core> core_;
  std::ptrdiff_t n_ = 0;
};

/// A queued acquire whose future is a future<P> (P: semaphore::permit or
/// async_mutex::guard, made from held_permits).
template <class P>
class permit_node final : public state_node<P> {
 public:
  permit_node(const std::shared_ptr<semaphore_core>& core, std::ptrdiff_t n)
      : state_node<P>(core, n, core->exec_) {}

  bool grant() noexcept override {
    // Copied before take(), which may destroy this node.
    std::shared_ptr<semaphore_core> core = std::static_pointer_cast<semaphore_core>(this->core_);
    const std::ptrdiff_t n = this->want_;
    state<P>* s = this->take();
    if (!s->shared()) {  // the future was dropped: the caller takes the permits back
      s->release();
      return false;
    }
    s->set_value(P(held_permits(std::move(core), n)));
    s->release();
    return true;
  }
};

/// semaphore::acquire() and async_mutex::lock(). Throws std::bad_alloc.
template <class P>
future<P> acquire_permits(const std::shared_ptr<semaphore_core>& core, std::ptrdiff_t n,
                          const cancellation_token& token, const char* cancelled_what) {
  if (token.is_cancelled()) {
    return failed_wait<P>(core->exec_, make_cancelled(cancelled_what));
  }
  permit_node<P>* node = nullptr;
  future<P> f;
  const char* gone = nullptr;
  if (!core->try_take(n)) {
    std::lock_guard<std::mutex> lock(core->mutex_);
    gone = core->closed_what_locked();
    if (gone == nullptr && !core->take_or_mark_locked(n)) {
      try {
        node = new permit_node<P>(core, n);
      } catch (...) {
        core->unmark_if_empty_locked();  // queued nothing after all
        throw;
      }
      f = node->get_future();  // before it is listed: a grant takes the state out of the node
      core->push_locked(node);
    }
  }
  if (gone != nullptr) {  // the primitive was destroyed: nothing would grant a queued wait
    return failed_wait<P>(core->exec_, make_shutdown(gone));
  }
  if (node == nullptr) {
    held_permits held(core, n);  // given back if the allocation below throws
    auto* s = new state<P>(core->exec_, 1);
    s->set_value(P(std::move(held)));
    return future_access::adopt(s);
  }
  node->arm(token);
  node->release();  // this call's reference
  return f;
}

[[noreturn]] void throw_coordination_argument(const char* what);

}  // namespace detail

/// An asynchronous counting semaphore: see the file comment.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls on the
/// same semaphore. Permits are separate objects (see permit).
class semaphore {
 public:
  /// `n` permits taken from a semaphore and given back when the permit is
  /// destroyed, assigned to, or release()d. Move-only; an empty permit
  /// (default-constructed, moved-from, released, or a failed
  /// try_acquire()) holds none. It may outlive its semaphore.
  ///
  /// Thread-safety: one permit object is used by one thread at a time.
  class permit {
   public:
    /// An empty permit. Never throws.
    permit() noexcept = default;
    permit(permit&&) noexcept = default;
    /// Gives back what *this held, then takes over `o`'s permits.
    permit& operator=(permit&&) noexcept = default;
    /// Gives the permits back. Never throws.
    ~permit() = default;

    /// Gives the permits back now (a no-op on an empty permit): the
    /// oldest waiters they satisfy are served. Never throws.
    void release() noexcept { held_.release(); }
    /// Empties the permit without giving its permits back: they are
    /// consumed (the semaphore as a counter, with release(n)). Never throws.
    void forget() noexcept { held_.forget(); }
    /// How many permits this holds (0 when empty). Never throws.
    std::ptrdiff_t count() const noexcept { return held_.count(); }
    /// True when this holds permits. Never throws.
    explicit operator bool() const noexcept { return held_.count() != 0; }

   private:
    friend class detail::permit_node<permit>;
    friend future<permit> detail::acquire_permits<permit>(const std::shared_ptr<detail::semaphore_core>&,
                                                          std::ptrdiff_t, const cancellation_token&, const char*);
    friend class semaphore;
    explicit permit(detail::held_permits h) noexcept : held_(std::move(h)) {}
    detail::held_permits held_;
  };

  /// The most permits one semaphore counts, and one acquire() may ask for.
  /// (A quarter of the range: the count is kept doubled, and permits
  /// handed back beyond max() by release(n) must not overflow it.)
  static constexpr std::ptrdiff_t max() noexcept { return std::numeric_limits<std::ptrdiff_t>::max() / 4; }

  /// A semaphore with `count` free permits, whose futures continue on `ex`
  /// (which should outlive the waits; a future that reaches a destroyed
  /// executor fails with executor_shutdown). Throws std::invalid_argument
  /// if `count` is negative or above max(), std::bad_alloc.
  explicit semaphore(std::ptrdiff_t count, executor& ex = detail::default_executor());
  /// Fails the queued waiters with executor_shutdown; permits still held
  /// stay valid. Never throws.
  ~semaphore();
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// A future of a permit for `n` permits: ready now if nobody waits and
  /// `n` are free, otherwise completed (on the semaphore's executor) once
  /// every earlier waiter was served and `n` are free. If `token` is
  /// cancelled first, the future fails with cancelled_error and nothing
  /// is taken; a token cancelled already fails it at once. A wait that
  /// was granted keeps its permit even if the token is cancelled later.
  /// Throws std::invalid_argument if `n` < 1 or `n` > max(), std::bad_alloc.
  future<permit> acquire(std::ptrdiff_t n = 1, const cancellation_token& token = cancellation_token()) {
    check_count(n, "weft::semaphore::acquire: n must be at least 1 and at most semaphore::max()");
    return detail::acquire_permits<permit>(core_, n, token,
                                           "weft::semaphore::acquire: cancelled before the permits were granted");
  }
  /// acquire(1, token).
  future<permit> acquire(const cancellation_token& token) { return acquire(1, token); }

  /// `n` permits now if nobody waits and they are free, otherwise an empty
  /// permit (test it with `if (p)`); never queues, never takes permits from
  /// under a waiter. Throws std::invalid_argument if `n` < 1 or `n` > max().
  permit try_acquire(std::ptrdiff_t n = 1) {
    check_count(n, "weft::semaphore::try_acquire: n must be at least 1 and at most semaphore::max()");
    if (!core_->try_take(n)) return permit();
    return permit(detail::held_permits(core_, n));
  }

  /// Adds `n` permits that no permit object held: the semaphore as a
  /// counter, where a producer release()s and a consumer acquire()s and
  /// forget()s its permit. Serves the waiters the new permits satisfy,
  /// oldest first; release(0) does nothing. Throws std::invalid_argument if
  /// `n` is negative or the free count would pass max().
  void release(std::ptrdiff_t n = 1) {
    core_->add(n, max(), "weft::semaphore::release: n must not be negative, nor take the count past semaphore::max()");
  }

  /// The free permits now. A snapshot: other threads may change it at
  /// once. Never throws.
  std::ptrdiff_t available() const noexcept { return core_->available(); }
  /// How many acquire() calls wait now (a snapshot, for tests and
  /// monitoring). Never throws.
  std::size_t waiting() const noexcept { return core_->waiting(); }

 private:
  static void check_count(std::ptrdiff_t n, const char* what) {
    if (n < 1 || n > max()) detail::throw_coordination_argument(what);
  }
  std::shared_ptr<detail::semaphore_core> core_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_SEMAPHORE_HPP
