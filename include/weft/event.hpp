// weft/event.hpp: an asynchronous event (asyncio.Event).
//
//   weft::event ready;
//   ready.wait().then([] { start(); });   // runs once ready.set() is called
//   ready.set();                          // wakes every waiter, once each
//
// wait() never blocks a thread: it returns a future<void> that is ready at
// once while the event is set, and otherwise completes when set() is
// called; a set() before anyone waits is not lost. The future continues on
// the event's executor (default_pool() by default), never inline on the
// thread that called set(). clear() makes later waits wait again; waiters
// that set() already woke stay woken. A cancelled or timed-out wait (the
// token argument; timeout() / with_timeout() with its source) leaves the
// list at once. Destroying the event fails its waiters with
// executor_shutdown ("weft::event: destroyed while this wait() was
// waiting").
#ifndef WEFT_EVENT_HPP
#define WEFT_EVENT_HPP

#include <cstddef>
#include <memory>

#include "weft/cancellation.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// An event's flag and waiters. Not for users; runtime/coordination.cpp.
class event_core final : public wait_core {
 public:
  explicit event_core(executor& ex) noexcept;
  future<void> wait(const std::shared_ptr<event_core>& self, const cancellation_token& token);
  void set() noexcept;
  void clear() noexcept;
  bool is_set() const noexcept;

 private:
  bool set_ = false;  // guarded by mutex_
};

}  // namespace detail

/// An asynchronous event: see the file comment.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls.
class event {
 public:
  /// A cleared event whose waits continue on `ex` (which should outlive
  /// them; a wait that reaches a destroyed executor fails with
  /// executor_shutdown). Throws std::bad_alloc.
  explicit event(executor& ex = detail::default_executor());
  /// Fails the waiters with executor_shutdown. Never throws.
  ~event();
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the event: every waiter now queued is woken, once, and later
  /// waits are ready at once until clear(). Setting a set event does
  /// nothing. Never throws.
  void set() noexcept { core_->set(); }
  /// Clears the event: later waits wait for the next set(). Never throws.
  void clear() noexcept { core_->clear(); }
  /// True while the event is set (a snapshot). Never throws.
  bool is_set() const noexcept { return core_->is_set(); }

  /// A future that completes when the event is set (ready now if it is).
  /// If `token` is cancelled first, it fails with cancelled_error (at once
  /// for a token cancelled already) and the wait leaves the list. Throws
  /// std::bad_alloc.
  future<void> wait(const cancellation_token& token = cancellation_token()) { return core_->wait(core_, token); }

  /// How many wait() calls wait now (a snapshot, for tests and
  /// monitoring). Never throws.
  std::size_t waiting() const noexcept { return core_->waiting(); }

 private:
  std::shared_ptr<detail::event_core> core_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_EVENT_HPP
