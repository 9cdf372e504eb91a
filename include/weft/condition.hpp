// weft/condition.hpp: a condition variable over an async_mutex
// (asyncio.Condition).
//
//   weft::async_mutex m;
//   weft::condition ready(m);
//   m.lock()
//       .then([&](weft::async_mutex::guard g) {
//         return ready.wait(std::move(g), [&] { return !items.empty(); });
//       })
//       .then([&](weft::async_mutex::guard g) { use(items); });  // under the lock
//
//   // elsewhere, holding the lock: items.push_back(x); ready.notify_one();
//
// wait() never blocks a thread. It takes the guard of the lock (by value:
// the caller gives the lock up), puts the waiter on the condition's list
// and only then unlocks, so a notify made by anyone who takes the lock
// after that reaches it: no wake-up is lost between checking the state and
// waiting. A notify takes waiters off the list, oldest first, and asks the
// mutex for each of them again, there and then (as async_mutex::lock():
// at once if it is free, otherwise FIFO behind its other waiters); the
// wait's future completes with the new guard. The futures continue on the
// mutex's executor.
//
// Cancellation (the token argument; timeout() / with_timeout() with its
// source) races the notify under the condition's lock, and one wins: a
// cancel that wins takes the waiter off the list, so a notify_one after it
// wakes the next waiter; a notify that wins makes the wait succeed, and the
// token no longer stops it (it still locks the mutex again). A cancelled
// wait fails with cancelled_error and gives back no guard: the lock was
// released when the wait began and is not taken again, as a future cannot
// hold a guard and an error at once. The same holds for every failure of a
// wait: the caller holds no lock after it.
//
// The mutex must outlive the condition. Destroying the condition fails
// the waiters still on its list with executor_shutdown ("weft::condition:
// destroyed while this wait() was waiting"); a waiter already notified
// goes on to lock the mutex (and fails with executor_shutdown if the mutex
// is destroyed before it gets it).
//
// Cost: a wait allocates one node, which holds its future's state; a
// re-lock that has to queue allocates as a lock() does, plus one step
// that hands the guard over. The predicate overload adds one object for
// its loop.
#ifndef WEFT_CONDITION_HPP
#define WEFT_CONDITION_HPP

#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "weft/async_mutex.hpp"
#include "weft/cancellation.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/semaphore.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// A condition's waiters. Not for users; runtime/condition.cpp.
class condition_core final : public wait_core {
 public:
  /// A condition over the mutex whose permit core is `mutex`; its waits
  /// continue on the mutex's executor.
  explicit condition_core(std::shared_ptr<semaphore_core> mutex);

  /// One wait of condition::wait(): lists a waiter, then releases the
  /// lock `g` holds (so a notify made after the release finds it), then
  /// arms `token`. When a notify takes the waiter, it locks the mutex again
  /// and the future completes with the new guard. Fails at once, with the
  /// lock released, if the token is cancelled already or the condition is
  /// gone. Throws std::bad_alloc (the lock is released then too).
  static future<async_mutex::guard> wait_once(const std::shared_ptr<condition_core>& self, async_mutex::guard g,
                                              const cancellation_token& token);
  /// A guard of the one permit of `mutex` the caller took already.
  static async_mutex::guard adopt(std::shared_ptr<semaphore_core> mutex) noexcept;
  /// Wakes up to `n` waiters, oldest first (all of them if `n` is
  /// (size_t)-1). A waiter whose future nobody holds does not count.
  void notify(std::size_t n) noexcept;

  /// The mutex's permit core, shared so a woken waiter can lock it again.
  const std::shared_ptr<semaphore_core> mutex_core_;
};

/// One step of condition::wait(g, pred): `pred()` under the lock; true
/// completes `done` with the guard, false waits once more and comes back.
/// Owns its loop alone (it is passed along, never shared), so the
/// predicate, with what it captured, is destroyed before `done` is set.
template <class Pred>
struct condition_loop {
  std::shared_ptr<condition_core> core;
  Pred pred;
  cancellation_token token;
  promise<async_mutex::guard> done;

  static void step(std::unique_ptr<condition_loop> self, async_mutex::guard g) noexcept {
    try {
      if (self->pred()) {
        promise<async_mutex::guard> done = std::move(self->done);
        self.reset();
        done.set_value(std::move(g));
        return;
      }
      std::shared_ptr<condition_core> core = self->core;
      cancellation_token token = self->token;
      // The returned future only carries what step() already handled.
      condition_core::wait_once(core, std::move(g), token)
          .then_result([loop = std::move(self)](result<async_mutex::guard> r) mutable noexcept {
            if (r) {
              step(std::move(loop), std::move(r).value());
            } else {
              promise<async_mutex::guard> done = std::move(loop->done);
              loop.reset();
              done.set_exception(r.error());
            }
          });
    } catch (...) {  // pred() threw, or no memory
      // The lock and the predicate go first: nobody who sees the error
      // finds either still held.
      g.unlock();
      if (self) {
        promise<async_mutex::guard> done = std::move(self->done);
        self.reset();
        done.set_exception(std::current_exception());
      }
    }
  }
};

}  // namespace detail

/// A condition variable for async_mutex: see the file comment.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls.
/// notify_one() and notify_all() need not hold the lock; to rule out a lost
/// wake-up, change the state the waiters test while holding it.
class condition {
 public:
  /// A condition over `m`, whose waits continue on `m`'s executor. `m`
  /// must outlive the condition. Throws std::bad_alloc.
  explicit condition(async_mutex& m);
  /// Fails the waiters on the list with executor_shutdown. Never throws.
  ~condition();
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  /// Gives up the lock `g` holds and waits for one notify, then locks the
  /// mutex again: the future's guard holds it. The waiter is listed before
  /// the lock is released, so a notify by whoever locks next reaches it.
  /// Like std::condition_variable, a wake-up says only that the state may
  /// have changed: test it again (or use the predicate overload). If
  /// `token` is cancelled before a notify takes this waiter, the future
  /// fails with cancelled_error (at once for a token cancelled already)
  /// and no lock is held; once a notify took it, the token no longer
  /// matters. Throws std::invalid_argument if `g` does not hold this
  /// condition's mutex (the guard is dropped then, and a lock it held is
  /// released), std::bad_alloc.
  future<async_mutex::guard> wait(async_mutex::guard g, const cancellation_token& token = cancellation_token()) {
    check(g, "weft::condition::wait: the guard must hold the lock of the condition's mutex");
    return detail::condition_core::wait_once(core_, std::move(g), token);
  }

  /// Waits until `pred()` is true: tests it now, under the lock `g`
  /// holds, and after each wake-up, with the lock held again; the future's
  /// guard holds the lock and `pred()` was true under it. `pred` (a
  /// callable returning something convertible to bool, moved into the
  /// wait) runs on the caller's thread for the first test and on the
  /// mutex's executor after; it is destroyed before the future completes.
  /// An exception from `pred` fails the future (no lock is held then);
  /// cancellation is as for wait(g, token), checked at each wait. Throws
  /// std::invalid_argument if `g` does not hold this condition's mutex,
  /// executor_shutdown if the mutex's executor was destroyed,
  /// std::bad_alloc.
  template <class Pred>
  future<async_mutex::guard> wait(async_mutex::guard g, Pred pred,
                                  const cancellation_token& token = cancellation_token()) {
    check(g, "weft::condition::wait: the guard must hold the lock of the condition's mutex");
    using loop_t = detail::condition_loop<typename std::decay<Pred>::type>;
    std::unique_ptr<loop_t> loop(
        new loop_t{core_, std::move(pred), token, promise<async_mutex::guard>(core_->exec_.get())});
    future<async_mutex::guard> f = loop->done.get_future();
    loop_t::step(std::move(loop), std::move(g));
    return f;
  }

  /// Wakes the oldest waiter, if any (a notify with nobody waiting is not
  /// kept for a later wait). Never throws.
  void notify_one() noexcept { core_->notify(1); }
  /// Wakes every waiter now listed; later waits wait for a later notify.
  /// Never throws.
  void notify_all() noexcept { core_->notify(static_cast<std::size_t>(-1)); }
  /// How many waits are listed now, not yet notified (a snapshot, for
  /// tests and monitoring; a notified waiter locking the mutex again is
  /// not counted). Never throws.
  std::size_t waiting() const noexcept { return core_->waiting(); }

 private:
  void check(const async_mutex::guard& g, const char* what) const;
  std::shared_ptr<detail::condition_core> core_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_CONDITION_HPP
