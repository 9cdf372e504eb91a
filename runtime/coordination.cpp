// The coordination primitives' shared waiter handling (wait_core), the
// semaphore's count (semaphore_core), and async_queue's errors. See
// include/weft/detail/wait_list.hpp.
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "weft/async_mutex.hpp"
#include "weft/async_queue.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/semaphore.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

void throw_coordination_argument(const char* what) { throw std::invalid_argument(what); }

std::exception_ptr make_shutdown(const char* what) noexcept {
  try {
    return std::make_exception_ptr(executor_shutdown(what));
  } catch (...) {  // no memory for it: that is the error then
    return std::current_exception();
  }
}

std::exception_ptr make_queue_closed(const char* what) noexcept {
  try {
    return std::make_exception_ptr(queue_closed(what));
  } catch (...) {  // as make_shutdown()
    return std::current_exception();
  }
}

const char* const queue_cancelled_what = "weft::async_queue: cancelled while waiting; nothing was queued or taken";

void wait_core::cancel(wait_node* n) noexcept {
  // n holds the last reference to this core, maybe: failing n may destroy
  // it, and this function goes on after that.
  const std::shared_ptr<wait_core> keep = n->core_;
  wait_node* woken = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Granted, failed or closed already: the one that took it off the list
    // completes it, and the cancel changes nothing.
    if (!n->queued_) return;
    list_of_locked(*n).remove(n);
    woken = after_cancel_locked();
  }
  // May destroy n, and with it the callback this runs in (allowed from
  // inside its own function); nothing of n is touched afterwards.
  n->fail(make_cancelled(cancelled_what_));
  wake(woken);
}

void wait_core::close(const char* what) noexcept {
  wait_node* all = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    closed_what_ = what;
    all = list_.take_all();
    on_closed_locked();
  }
  if (all == nullptr) return;
  const std::exception_ptr e = make_shutdown(what);
  while (all != nullptr) {
    wait_node* next = all->next_;
    all->fail(e);
    all = next;
  }
}

void semaphore_core::give_back_to_waiters(std::ptrdiff_t n) noexcept {
  wait_node* woken = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // acq_rel: release publishes the holder's work to whoever is granted.
    word_.fetch_add(2 * n, std::memory_order_acq_rel);
    woken = grantable_locked();
  }
  wake(woken);
}

void semaphore_core::add(std::ptrdiff_t n, std::ptrdiff_t max, const char* who) {
  if (n < 0) throw std::invalid_argument(who);
  if (n == 0) return;
  wait_node* woken = nullptr;
  {
    // The lock keeps the waiters bit still; the lock-free paths may still
    // move the count while it is clear, hence the compare-and-swap.
    std::lock_guard<std::mutex> lock(mutex_);
    std::ptrdiff_t w = word_.load(std::memory_order_relaxed);  // the CAS checks it
    do {
      if (n > max - (w >> 1)) throw std::invalid_argument(who);
    } while (!word_.compare_exchange_weak(w, w + 2 * n, std::memory_order_acq_rel, std::memory_order_relaxed));
    if ((w & waiters) != 0) woken = grantable_locked();
  }
  wake(woken);
}

void semaphore_core::on_closed_locked() noexcept {
  // Nobody waits any more: permits given back after this are counted on
  // the lock-free path.
  word_.fetch_and(~waiters, std::memory_order_acq_rel);
}

wait_node* semaphore_core::grantable_locked() noexcept {
  if (closed_) return nullptr;
  wait_node* first = nullptr;
  wait_node** last = &first;
  // With waiters queued (the bit set) only this lock's holder changes the
  // word, so the count read here stays true until the fetch_sub.
  while (!list_.empty() && list_.front()->want_ <= (word_.load(std::memory_order_relaxed) >> 1)) {
    wait_node* n = list_.front();
    list_.remove(n);
    // acq_rel: acquire pairs with the give_back() that freed the permits.
    word_.fetch_sub(2 * n->want_, std::memory_order_acq_rel);
    *last = n;
    last = &n->next_;
  }
  if (list_.empty()) word_.fetch_and(~waiters, std::memory_order_acq_rel);
  return first;
}

void semaphore_core::wake(wait_node* nodes) noexcept {
  // A waiter whose future was dropped takes nothing: its permits come back
  // here and go to the next waiters, in a loop rather than through the
  // permit's destructor, so a long line of abandoned waits does not nest.
  if (nodes == nullptr) return;
  // A continuation run inline by a grant may destroy the semaphore, and
  // the last permit with it, while this loop still needs the core.
  const std::shared_ptr<wait_core> keep = nodes->core_;
  while (nodes != nullptr) {
    std::ptrdiff_t back = 0;
    while (nodes != nullptr) {
      wait_node* next = nodes->next_;
      const std::ptrdiff_t want = nodes->want_;
      if (!nodes->grant()) back += want;
      nodes = next;
    }
    if (back == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    word_.fetch_add(2 * back, std::memory_order_acq_rel);
    nodes = grantable_locked();
  }
}

namespace {

/// A wait of an event.
class event_node final : public state_node<void> {
 public:
  explicit event_node(const std::shared_ptr<event_core>& core) : state_node<void>(core, 0, core->exec_) {}
  bool grant() noexcept override {
    state<void>* s = take();
    if (s->shared()) s->set_value();
    s->release();
    return true;
  }
};

}  // namespace

event_core::event_core(executor& ex) noexcept : wait_core(ex, "weft::event::wait: cancelled before the event was set") {}

future<void> event_core::wait(const std::shared_ptr<event_core>& self, const cancellation_token& token) {
  state<void>* ready = nullptr;
  if (token.is_cancelled()) {
    return failed_wait<void>(exec_, make_cancelled("weft::event::wait: cancelled before the event was set"));
  }
  event_node* node = nullptr;
  future<void> f;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!set_) {
      node = new event_node(self);
      f = node->get_future();  // before it is listed: set() takes the state out of the node
      push_locked(node);
    }
  }
  if (node == nullptr) {
    ready = new state<void>(exec_, 1);
    ready->set_value();
    return future_access::adopt(ready);
  }
  node->arm(token);
  node->release();  // this call's reference
  return f;
}

void event_core::set() noexcept {
  wait_node* all = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    set_ = true;
    all = list_.take_all();
  }
  while (all != nullptr) {
    wait_node* next = all->next_;
    all->grant();
    all = next;
  }
}

void event_core::clear() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  set_ = false;
}

bool event_core::is_set() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return set_;
}

}  // namespace detail

semaphore::semaphore(std::ptrdiff_t count, executor& ex) {
  if (count < 0 || count > max()) {
    detail::throw_coordination_argument("weft::semaphore: count must not be negative, nor above semaphore::max()");
  }
  core_ = std::make_shared<detail::semaphore_core>(
      count, ex, "weft::semaphore::acquire: cancelled before the permits were granted");
}

semaphore::~semaphore() { core_->close("weft::semaphore: destroyed while this acquire() was waiting"); }

event::event(executor& ex) : core_(std::make_shared<detail::event_core>(ex)) {}

event::~event() { core_->close("weft::event: destroyed while this wait() was waiting"); }

async_mutex::async_mutex(executor& ex)
    : core_(std::make_shared<detail::semaphore_core>(1, ex,
                                                     "weft::async_mutex::lock: cancelled before the mutex was granted")) {}

async_mutex::~async_mutex() { core_->close("weft::async_mutex: destroyed while this lock() was waiting"); }

}  // namespace v1
}  // namespace weft
