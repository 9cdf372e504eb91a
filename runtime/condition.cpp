// condition: waiters on a wait_core, woken by notify and then locking the
// mutex again through its permit core. See include/weft/condition.hpp.
#include "weft/condition.hpp"

#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {
constexpr const char* cancelled_what = "weft::condition::wait: cancelled before a notify reached this wait";
constexpr const char* destroyed_what = "weft::condition: destroyed while this wait() was waiting";
}  // namespace

condition_core::condition_core(std::shared_ptr<semaphore_core> mutex)
    : wait_core(mutex->exec_.get(), cancelled_what), mutex_core_(std::move(mutex)) {}

namespace {

using guard = async_mutex::guard;

/// One reference to a waiter's state, dropped once (whichever way the
/// re-lock ends, or if its forwarding step is destroyed unrun).
class state_ref {
 public:
  explicit state_ref(state<guard>* s) noexcept : s_(s) {}
  state_ref(state_ref&& o) noexcept : s_(o.s_), delivered_(o.delivered_) { o.s_ = nullptr; }
  state_ref& operator=(state_ref&&) = delete;
  /// Dropped undelivered (only when memory ran out on the way): the
  /// waiter must not wait forever, so it fails.
  ~state_ref() {
    if (s_ == nullptr) return;
    if (!delivered_ && s_->shared()) s_->set_error(std::make_exception_ptr(future_error(future_errc::broken_promise)));
    s_->release();
  }

  /// True if someone still holds the waiter's future.
  bool shared() const noexcept { return s_->shared(); }

  /// Completes the waiter with `r`, unless nobody holds its future any
  /// more: then a guard in `r` is dropped here, unlocking the mutex.
  void deliver(result<guard> r) noexcept {
    if (s_ == nullptr || delivered_) return;
    delivered_ = true;
    if (!s_->shared()) return;
    if (r) {
      s_->set_value(std::move(r).value());
    } else {
      s_->set_error(r.error());
    }
  }

 private:
  state<guard>* s_;
  bool delivered_ = false;
};

/// Takes the mutex for a notified waiter whose state `ref` holds: at once
/// if it is free, otherwise as a lock() queued behind the mutex's other
/// waiters, without a token: once a notify chose this waiter the wait
/// succeeds, so a notify_one is never spent on a waiter that then gives up.
void relock(const std::shared_ptr<semaphore_core>& mutex, state_ref ref) noexcept {
  if (mutex->try_take(1)) {
    ref.deliver(condition_core::adopt(mutex));
    return;
  }
  try {
    future<guard> f = acquire_permits<guard>(mutex, 1, cancellation_token(), cancelled_what);
    if (f.is_ready()) {
      try {
        ref.deliver(f.get());
      } catch (...) {
        ref.deliver(std::current_exception());
      }
      return;
    }
    // Inline: this only hands the guard over, on the thread that unlocked;
    // the waiter's own continuations still run on its executor.
    f.then_result(inline_executor(), [ref = std::move(ref)](result<guard> r) mutable noexcept {
      ref.deliver(std::move(r));
    });
  } catch (...) {  // no memory: if ref moved into the step, the step failed the waiter
    ref.deliver(std::current_exception());
  }
}

/// A waiter of a condition.
class condition_node final : public state_node<guard> {
 public:
  explicit condition_node(const std::shared_ptr<condition_core>& core) : state_node<guard>(core, 0, core->exec_) {}

  bool grant() noexcept override {
    // Copied before take(), which may destroy this node.
    const std::shared_ptr<semaphore_core> mutex = static_cast<condition_core&>(*core_).mutex_core_;
    state_ref ref(take());
    // Nobody to wake: the notify goes on to the next waiter.
    if (!ref.shared()) return false;
    relock(mutex, std::move(ref));
    return true;
  }
};

}  // namespace

guard condition_core::adopt(std::shared_ptr<semaphore_core> mutex) noexcept {
  return guard(held_permits(std::move(mutex), 1));
}

future<guard> condition_core::wait_once(const std::shared_ptr<condition_core>& self, guard g,
                                        const cancellation_token& token) {
  if (token.is_cancelled()) {
    std::exception_ptr e = make_cancelled(cancelled_what);
    // Unlocked before the failure is published: whoever sees it must find
    // the lock released (`g` itself dies only with the caller's
    // expression).
    g.unlock();
    return failed_wait<guard>(self->exec_, std::move(e));
  }
  auto* node = new condition_node(self);
  future<guard> f = node->get_future();  // before it is listed: a notify takes the state out of the node
  const char* gone = nullptr;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    gone = self->closed_what_locked();
    if (gone == nullptr) self->push_locked(node);
  }
  if (gone != nullptr) {  // a loop's next turn, after the condition was destroyed
    g.unlock();  // as for a cancelled token
    node->fail(make_shutdown(gone));
    node->release();
    return f;
  }
  // Only now, with the waiter listed: whoever takes the lock next and
  // notifies reaches it, which is the whole point of a condition.
  g.unlock();
  node->arm(token);
  node->release();  // this call's reference
  return f;
}

void condition_core::notify(std::size_t n) noexcept {
  const bool all = n == static_cast<std::size_t>(-1);
  // A woken waiter's continuation may run inline (inline_executor) and
  // destroy the condition; this loop still needs the core.
  std::shared_ptr<wait_core> keep;
  while (n != 0) {
    wait_node* taken = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (all) {
        taken = list_.take_all();
      } else {
        wait_node** last = &taken;
        for (std::size_t k = 0; k < n && !list_.empty(); ++k) {
          wait_node* w = list_.front();
          list_.remove(w);
          *last = w;
          last = &w->next_;
        }
      }
    }
    if (taken == nullptr) return;
    if (!keep) keep = taken->core_;
    std::size_t woken = 0;
    while (taken != nullptr) {
      wait_node* next = taken->next_;
      if (taken->grant()) ++woken;
      taken = next;
    }
    // notify_all wakes those listed when it was called, no later ones. A
    // waiter whose future was dropped is nobody to wake: notify_one goes on
    // to the next.
    if (all) return;
    n -= woken;
  }
}

}  // namespace detail

condition::condition(async_mutex& m) : core_(std::make_shared<detail::condition_core>(m.core_)) {}

condition::~condition() { core_->close(detail::destroyed_what); }

void condition::check(const async_mutex::guard& g, const char* what) const {
  if (!g.owns_lock() || g.held_.core() != core_->mutex_core_.get()) throw std::invalid_argument(what);
}

}  // namespace v1
}  // namespace weft
