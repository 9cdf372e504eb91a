// weft/detail/wait_list.hpp: the waiters of a coordination primitive
// (semaphore, event, async_mutex, condition, async_queue), not for users.
//
// A primitive keeps its state and its waiters in a wait_core, under one
// small mutex held for a few instructions (never while user code or a
// continuation runs). Each pending wait is a wait_node on the heap: the
// shared state of the future handed out, a place in the core's intrusive
// FIFO list, and the cancellation_callback that takes it off the list when
// its token is cancelled. Who completes a node is decided under the core's
// lock by one flag, `queued`: whoever takes it off the list (a grant, a
// cancel, the primitive's destructor) completes it, so a cancel that loses
// to a grant leaves the grant alone and a cancel that wins consumes nothing.
//
// A node has two references: the list's (dropped by whoever took the node
// off the list, once it has completed it) and the enqueuing call's (dropped
// once the callback is registered). The last one destroys the node, which
// deregisters the callback (waiting for it if it runs on another thread),
// so what a waiter captured is gone once it was woken and its enqueuing
// call returned, and the callback never outlives its node.
#ifndef WEFT_DETAIL_WAIT_LIST_HPP
#define WEFT_DETAIL_WAIT_LIST_HPP

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/shared_state.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

class wait_core;

/// An executor_shutdown with `what`, as an exception_ptr (std::bad_alloc's,
/// without memory for it): what a primitive's destructor fails its waiters
/// with. Never throws. In runtime/coordination.cpp.
std::exception_ptr make_shutdown(const char* what) noexcept;

/// A future on `ex` that failed with `e` (not null): a wait that ends at
/// once. make_exceptional_future() without the executor lookup, as a
/// primitive holds an executor_ref and must not throw for a destroyed one
/// (the future reports that when it continues). Throws std::bad_alloc.
template <class T>
future<T> failed_wait(executor_ref ex, std::exception_ptr e) {
  auto* s = new state<T>(ex, 1);
  s->set_error(std::move(e));
  return future_access::adopt(s);
}

/// One pending wait. Its list fields are guarded by the core's mutex.
class wait_node {
 public:
  wait_node(const wait_node&) = delete;
  wait_node& operator=(const wait_node&) = delete;

  /// Registers the cancellation of `t` (a default token registers nothing).
  /// Called once, after the node was listed, outside the core's lock: a
  /// token cancelled already takes the node off the list at once. Never
  /// throws (the callback's callable is one pointer, stored inline).
  void arm(const cancellation_token& t) noexcept {
    if (!t.can_be_cancelled()) return;
    ::new (static_cast<void*>(&registration_)) cancellation_callback(t, on_cancel{this});
    armed_ = true;
  }

  /// Drops one reference; the last destroys the node. acq_rel: whatever
  /// either owner did happens-before the destructor.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Taken off the list: gives the waiter its value (what that is belongs
  /// to the primitive). Returns false, having completed nothing, if nobody
  /// holds the future any more, so the primitive can take back what it
  /// granted. Drops the list's reference first (the node may be gone when
  /// the future resolves). Never throws.
  virtual bool grant() noexcept = 0;
  /// Taken off the list: fails the waiter with `e` (nothing is stored if
  /// nobody holds the future). Drops the list's reference. Never throws.
  virtual void fail(std::exception_ptr e) noexcept = 0;

  // Guarded by the core's mutex.
  wait_node* prev_ = nullptr;
  wait_node* next_ = nullptr;  // also links a batch of nodes taken off the list
  bool queued_ = false;

  /// What the waiter asks for (permits); fixed at construction.
  const std::ptrdiff_t want_;
  /// Keeps the core alive as long as a node can reach it.
  const std::shared_ptr<wait_core> core_;

 protected:
  wait_node(std::shared_ptr<wait_core> core, std::ptrdiff_t want) noexcept : want_(want), core_(std::move(core)) {}
  /// Deregisters the callback first: if it runs on another thread, waits
  /// for it (it only takes the core's lock); if this is its own thread,
  /// the node is being destroyed from inside it, which cancellation_callback
  /// allows.
  virtual ~wait_node() {
    if (armed_) reinterpret_cast<cancellation_callback*>(&registration_)->~cancellation_callback();
  }

 private:
  struct on_cancel {
    wait_node* node;
    void operator()() const noexcept;
  };

  std::atomic<unsigned> refs_{2};
  bool armed_ = false;
  typename std::aligned_storage<sizeof(cancellation_callback), alignof(cancellation_callback)>::type registration_;
};

/// A wait_node whose future is a future<T>. The node holds one reference
/// to the state until it completes it, the future the other.
template <class T>
class state_node : public wait_node {
 public:
  /// The future of this wait: call once, before the node is listed (a
  /// grant or a cancel takes the state out of the node). Never throws.
  future<T> get_future() noexcept { return future_access::adopt(state_); }

  void fail(std::exception_ptr e) noexcept final {
    // What the wait carried goes before anyone can see the failure.
    discard();
    state<T>* s = take();
    // Nobody can see the failure: storing it would only report it as
    // unhandled.
    if (s->shared()) s->set_error(std::move(e));
    s->release();
  }

 protected:
  /// Throws std::bad_alloc.
  state_node(std::shared_ptr<wait_core> core, std::ptrdiff_t want, executor_ref ex)
      : wait_node(std::move(core), want), state_(new state<T>(ex, 2)) {}
  ~state_node() override {
    if (state_ != nullptr) state_->release();
  }

  /// Under the core's lock, before the node was taken off the list: true
  /// while someone other than the node holds the future's state (the
  /// future, or a continuation on it), so a value stored now can be seen.
  /// Once false it stays false: nobody else can reach the state.
  bool future_held() const noexcept { return state_->shared(); }
  /// The state, for a primitive that stores the value under its lock and
  /// completes it with take() later. Never null before take().
  state<T>* pending_state() const noexcept { return state_; }
  /// Called by fail() first: a node that carries something (a queued item)
  /// destroys it here, before the failure is published. Never throws.
  virtual void discard() noexcept {}

  /// Takes the state out and drops the list's reference: the node (and the
  /// callback registration) may be gone when this returns.
  state<T>* take() noexcept {
    state<T>* s = state_;
    state_ = nullptr;
    release();
    return s;
  }

 private:
  state<T>* state_;
};

/// An intrusive FIFO of wait_nodes. Not thread-safe: the core's mutex
/// guards it.
class wait_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  wait_node* front() const noexcept { return head_; }
  std::size_t size() const noexcept { return size_; }

  void push_back(wait_node* n) noexcept {
    n->prev_ = tail_;
    n->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    n->queued_ = true;
    ++size_;
  }
  void remove(wait_node* n) noexcept {
    if (n->prev_ != nullptr) {
      n->prev_->next_ = n->next_;
    } else {
      head_ = n->next_;
    }
    if (n->next_ != nullptr) {
      n->next_->prev_ = n->prev_;
    } else {
      tail_ = n->prev_;
    }
    n->prev_ = n->next_ = nullptr;
    n->queued_ = false;
    --size_;
  }
  /// Takes every node off; returns them linked through next_, oldest first.
  wait_node* take_all() noexcept {
    wait_node* all = head_;
    for (wait_node* n = head_; n != nullptr; n = n->next_) n->queued_ = false;
    head_ = tail_ = nullptr;
    size_ = 0;
    return all;
  }

 private:
  wait_node* head_ = nullptr;
  wait_node* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// The state a primitive shares with its waiters (and, for a semaphore,
/// with its permits), behind a std::shared_ptr so that none of them
/// outlives it. The mutex guards the list, `closed_` and what the derived
/// class keeps (an event's flag; a semaphore's word while waiters are
/// queued); it is never held while a future is completed, a node destroyed
/// or user code runs.
class wait_core {
 public:
  wait_core(const wait_core&) = delete;
  wait_core& operator=(const wait_core&) = delete;
  virtual ~wait_core() = default;

  /// The registration's function: takes `n` off the list if it is still
  /// there and fails it with cancelled_error, then lets the primitive wake
  /// whoever that unblocks (after_cancel()). A node already granted keeps
  /// its outcome. Never throws.
  void cancel(wait_node* n) noexcept;

  /// The primitive is destroyed: fails every waiter with
  /// executor_shutdown(`what`); later waits are impossible (the primitive
  /// is gone). Never throws.
  void close(const char* what) noexcept;

  /// Lists `n` (under the lock). The node must be fresh.
  void push_locked(wait_node* n) noexcept { list_.push_back(n); }

  /// How many waits are queued now (a snapshot). Never throws.
  std::size_t waiting() const noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return list_.size();
  }

  /// Under the lock: the message close() was given, or null while the
  /// primitive lives. A wait that reaches a closed core (a condition's
  /// waiter locking again a mutex destroyed since) fails with it instead
  /// of queueing where nothing would grant it.
  const char* closed_what_locked() const noexcept { return closed_ ? closed_what_ : nullptr; }

  mutable std::mutex mutex_;
  /// Where the waiters' futures continue. Fixed at construction.
  const executor_ref exec_;

 protected:
  /// `cancelled_what`: the message of the cancelled_error a cancelled
  /// waiter fails with (a string literal naming the primitive).
  wait_core(executor& ex, const char* cancelled_what) noexcept : exec_(ex), cancelled_what_(cancelled_what) {}

  /// Under the lock, after a cancel took a node off the list: the nodes
  /// that can go now (linked through next_, taken off the list), or null.
  virtual wait_node* after_cancel_locked() noexcept { return nullptr; }
  /// Outside the lock: completes the nodes after_cancel_locked() returned.
  virtual void wake(wait_node* /*nodes*/) noexcept {}
  /// Under the lock, in close(), once the list was emptied.
  virtual void on_closed_locked() noexcept {}
  /// Under the lock: the list `n` is queued on. list_, unless the
  /// primitive keeps two kinds of waiters (async_queue's pushers).
  virtual wait_list& list_of_locked(wait_node& /*n*/) noexcept { return list_; }

  wait_list list_;
  bool closed_ = false;

 private:
  const char* const cancelled_what_;
  const char* closed_what_ = nullptr;  // guarded by mutex_; set with closed_
};

inline void wait_node::on_cancel::operator()() const noexcept { node->core_->cancel(node); }

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_DETAIL_WAIT_LIST_HPP
