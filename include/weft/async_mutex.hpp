// weft/async_mutex.hpp: an asynchronous mutex (asyncio.Lock).
//
//   weft::async_mutex m;
//   m.lock().then([](weft::async_mutex::guard g) {
//     update_shared_state();        // holds the lock until this continuation
//   });                             // ends and `g` is destroyed
//
// lock() never blocks a thread: it returns a future<guard> that is ready
// at once when the mutex is free and nobody waits, and otherwise completes
// when the guard ahead of it is dropped. Waiters are served in FIFO order,
// and try_lock() never takes the mutex while anyone waits. The future
// continues on the mutex's executor (default_pool() by default), never
// inline on the thread that unlocked. A cancelled or timed-out lock() (the
// token argument; timeout() / with_timeout() with its source) takes
// nothing. A guard may outlive its mutex. Destroying the mutex fails its
// waiters with executor_shutdown ("weft::async_mutex: destroyed while this
// lock() was waiting").
//
// Not recursive: a lock() made while holding the guard waits for that
// guard, like any other.
#ifndef WEFT_ASYNC_MUTEX_HPP
#define WEFT_ASYNC_MUTEX_HPP

#include <cstddef>
#include <memory>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/semaphore.hpp"

namespace weft {
inline namespace v1 {

class condition;
namespace detail {
class condition_core;
}  // namespace detail

/// An asynchronous mutex: see the file comment. It is a semaphore of one
/// permit underneath.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls. A
/// guard may be released on any thread (it is not tied to one, as the
/// continuation holding it may run anywhere).
class async_mutex {
 public:
  /// Ownership of the mutex: unlocked when destroyed, assigned to, or
  /// unlock()ed. Move-only; an empty guard (default-constructed,
  /// moved-from, unlocked, or a failed try_lock()) owns nothing.
  ///
  /// Thread-safety: one guard object is used by one thread at a time.
  class guard {
   public:
    /// An empty guard. Never throws.
    guard() noexcept = default;
    guard(guard&&) noexcept = default;
    /// Unlocks what *this owned, then takes over `o`'s ownership.
    guard& operator=(guard&&) noexcept = default;
    /// Unlocks if it owns the mutex. Never throws.
    ~guard() = default;

    /// Unlocks now (a no-op on an empty guard): the oldest waiter gets the
    /// mutex. Never throws.
    void unlock() noexcept { held_.release(); }
    /// True while this guard owns the mutex. Never throws.
    bool owns_lock() const noexcept { return held_.count() != 0; }
    /// owns_lock(). Never throws.
    explicit operator bool() const noexcept { return owns_lock(); }

   private:
    friend class detail::permit_node<guard>;
    friend future<guard> detail::acquire_permits<guard>(const std::shared_ptr<detail::semaphore_core>&,
                                                        std::ptrdiff_t, const cancellation_token&, const char*);
    friend class async_mutex;
    friend class condition;
    friend class detail::condition_core;
    explicit guard(detail::held_permits h) noexcept : held_(std::move(h)) {}
    detail::held_permits held_;
  };

  /// An unlocked mutex whose lock() futures continue on `ex` (which should
  /// outlive the waits). Throws std::bad_alloc.
  explicit async_mutex(executor& ex = detail::default_executor());
  /// Fails the queued lock() calls with executor_shutdown; a guard still
  /// held stays valid. Never throws.
  ~async_mutex();
  async_mutex(const async_mutex&) = delete;
  async_mutex& operator=(const async_mutex&) = delete;

  /// A future of the guard: ready now if the mutex is free and nobody
  /// waits, otherwise completed (on the mutex's executor) once every
  /// earlier lock() was served and the mutex is free. If `token` is
  /// cancelled first, it fails with cancelled_error and takes nothing (at
  /// once for a token cancelled already); a lock() that was granted keeps
  /// its guard even if the token is cancelled later. Throws std::bad_alloc.
  future<guard> lock(const cancellation_token& token = cancellation_token()) {
    return detail::acquire_permits<guard>(core_, 1, token,
                                          "weft::async_mutex::lock: cancelled before the mutex was granted");
  }

  /// The mutex now if it is free and nobody waits, otherwise an empty guard
  /// (test it with `if (g)`); never queues. Never throws.
  guard try_lock() noexcept {
    if (!core_->try_take(1)) return guard();
    return guard(detail::held_permits(core_, 1));
  }

  /// True while a guard owns the mutex (a snapshot). Never throws.
  bool is_locked() const noexcept { return core_->available() == 0; }
  /// How many lock() calls wait now (a snapshot). Never throws.
  std::size_t waiting() const noexcept { return core_->waiting(); }

 private:
  friend class condition;
  std::shared_ptr<detail::semaphore_core> core_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_ASYNC_MUTEX_HPP
