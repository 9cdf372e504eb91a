// weft/async_queue.hpp: a bounded multi-producer, multi-consumer queue whose
// waits are futures (asyncio.Queue with a maxsize).
//
//   weft::async_queue<job> jobs(64);
//   jobs.push(make_job()).then([] { /* queued */ });   // waits while full
//   jobs.pop().then([](job j) { run(j); });           // waits while empty
//   jobs.close();       // consumers drain what was pushed, then see
//                       // queue_closed: the end of the stream, no sentinel
//
// Neither push() nor pop() blocks a thread. push() is ready at once when
// there is room (or a pop() waits: the item goes straight to it), and
// otherwise waits, first in, first out, until a pop() frees a slot; pop()
// is ready at once when an item is there (and a waiting push() then moves
// its item into the freed slot), and otherwise waits, first in, first out,
// for the next push(). The futures continue on the queue's executor
// (default_pool() by default), never inline on the thread that served
// them. Items from one producer are popped in the order it pushed them
// (with one push() waiting behind another's, or each waited for before
// the next).
//
// close() ends the stream: later pushes fail with queue_closed (and their
// item is destroyed), pushes waiting for room fail with queue_closed (their
// items destroyed, never half-delivered), pops take what is left and then
// fail with queue_closed, as do pops waiting at close(). A cancelled or
// timed-out pop() (the token argument; timeout() / with_timeout() in
// <weft/timeout.hpp> with the token's source) never takes an item: the
// item goes to the next pop(). A cancelled push() leaves nothing queued.
// A pop() whose future was dropped before an item reached it takes none
// either. Destroying the queue fails the waiters with executor_shutdown
// and destroys the items still held.
#ifndef WEFT_ASYNC_QUEUE_HPP
#define WEFT_ASYNC_QUEUE_HPP

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/cancellation.hpp"
#include "weft/detail/shared_state.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

[[noreturn]] void throw_coordination_argument(const char* what);
/// A queue_closed with `what`, as an exception_ptr (std::bad_alloc's,
/// without memory for it). Never throws. In runtime/coordination.cpp.
std::exception_ptr make_queue_closed(const char* what) noexcept;
/// What a cancelled wait of an async_queue fails with.
extern const char* const queue_cancelled_what;

/// Releases a state this call made and has not handed out.
struct state_releaser {
  void operator()(state_base* s) const noexcept { s->release(); }
};

/// A pop() waiting for an item. The item is stored in the future's state
/// under the queue's lock, by the push that takes this node off the list;
/// grant() then publishes it, outside the lock. The value is T's; want_ is
/// 0 (a pusher's is 1: the queue's list_of_locked() tells them apart).
template <class T>
class pop_node final : public state_node<T> {
 public:
  explicit pop_node(const std::shared_ptr<wait_core>& core) : state_node<T>(core, 0, core->exec_) {}
  using state_node<T>::future_held;
  using state_node<T>::pending_state;

  bool grant() noexcept override {
    state<T>* s = this->take();
    s->complete(false);
    s->release();
    return true;
  }
};

/// A push() waiting for room, with its item. A pop that frees a slot moves
/// the item into it under the queue's lock, then grant()s outside it.
template <class T>
class push_node final : public state_node<void> {
 public:
  /// Throws std::bad_alloc (the item is then left with the caller).
  push_node(const std::shared_ptr<wait_core>& core, T&& item) : state_node<void>(core, 1, core->exec_) {
    ::new (static_cast<void*>(&item_)) T(std::move(item));
    has_item_ = true;
  }
  ~push_node() override { discard(); }

  /// Under the queue's lock: the item, to be moved out, then dropped.
  T& item() noexcept { return *reinterpret_cast<T*>(&item_); }
  /// Destroys the moved-from (or never delivered) item. Never throws.
  void discard() noexcept override {
    if (has_item_) {
      has_item_ = false;
      item().~T();
    }
  }
  bool grant() noexcept override {
    state<void>* s = take();
    if (s->shared()) s->set_value();
    s->release();
    return true;
  }

 private:
  typename std::aligned_storage<sizeof(T), alignof(T)>::type item_;
  bool has_item_ = false;
};

/// An async_queue's items and waiters. Not for users.
///
/// Everything here is guarded by mutex_; the lock is held for a few moves
/// of items and list links, never while a future is completed, a node is
/// destroyed or a continuation runs. Invariants (under the lock): poppers
/// (list_) wait only while no item is held, pushers (pushers_) only while
/// the ring is full, and neither after close() (shut_) or destruction
/// (closed_).
///
/// The ring of items grows on demand, doubling up to the capacity, so a
/// large capacity (an unbounded queue in all but name) costs nothing until
/// it is used.
template <class T>
class queue_core final : public wait_core {
 public:
  queue_core(std::size_t capacity, executor& ex) noexcept
      : wait_core(ex, queue_cancelled_what), capacity_(capacity) {}
  ~queue_core() override { clear_items(); }

  future<void> push(const std::shared_ptr<queue_core>& self, T&& item, const cancellation_token& token) {
    if (token.is_cancelled()) {
      return failed_wait<void>(exec_, make_cancelled("weft::async_queue::push: cancelled before the item was queued"));
    }
    // The ready future's state is made before the lock, so the lock is
    // held only for the moves; a push that waits frees it again.
    std::unique_ptr<state<void>, state_releaser> ready(new state<void>(exec_, 1));
    pop_node<T>* taker = nullptr;
    push_node<T>* node = nullptr;
    abandoned dead;  // released after the lock, even if an allocation below throws
    future<void> f;
    bool shut = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (shut_) {
        shut = true;
      } else if ((taker = live_popper_locked(dead)) != nullptr) {
        taker->pending_state()->emplace_value(std::move(item));
      } else if (count_ < capacity_) {
        emplace_back_locked(std::move(item));
      } else {
        node = new push_node<T>(self, std::move(item));
        f = node->get_future();  // before it is listed: a pop takes the state out of the node
        pushers_.push_back(node);
      }
    }
    dead.drop();
    if (taker != nullptr) taker->grant();
    if (node == nullptr && !shut) ready->emplace_value();
    return finish(std::move(ready), node, std::move(f), token,
                  shut ? "weft::async_queue::push: the queue is closed" : nullptr);
  }

  future<T> pop(const std::shared_ptr<queue_core>& self, const cancellation_token& token) {
    if (token.is_cancelled()) {
      return failed_wait<T>(exec_, make_cancelled("weft::async_queue::pop: cancelled before an item was taken"));
    }
    std::unique_ptr<state<T>, state_releaser> ready(new state<T>(exec_, 1));
    push_node<T>* filler = nullptr;
    pop_node<T>* node = nullptr;
    future<T> f;
    bool shut = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (count_ != 0) {
        T& front = slot(head_);
        ready->emplace_value(std::move(front));
        filler = pop_front_locked();
      } else if (shut_) {
        shut = true;
      } else {
        node = new pop_node<T>(self);
        f = node->get_future();  // before it is listed: a push takes the state out of the node
        list_.push_back(node);
      }
    }
    if (filler != nullptr) filler->grant();
    return finish(std::move(ready), node, std::move(f), token,
                  shut ? "weft::async_queue::pop: the queue is closed and drained" : nullptr);
  }

  bool try_push(T& item) noexcept {
    pop_node<T>* taker = nullptr;
    abandoned dead;
    bool done = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (shut_) {
        done = false;
      } else if ((taker = live_popper_locked(dead)) != nullptr) {
        taker->pending_state()->emplace_value(std::move(item));
      } else if (count_ < capacity_ && grow_if_full_locked()) {
        emplace_back_locked(std::move(item));
      } else {
        done = false;
      }
    }
    dead.drop();
    if (taker != nullptr) taker->grant();
    return done;
  }

  bool try_pop(T& out) {
    push_node<T>* filler = nullptr;
    std::unique_lock<std::mutex> lock(mutex_);
    if (count_ == 0) return false;
    // Moved out under the lock, assigned outside it: `out`'s old value is
    // destroyed by its assignment, which is user code.
    T item(std::move(slot(head_)));
    filler = pop_front_locked();
    lock.unlock();
    if (filler != nullptr) filler->grant();
    out = std::move(item);
    return true;
  }

  void close() noexcept {
    wait_node* poppers = nullptr;
    wait_node* pushers = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (shut_) return;
      shut_ = true;
      poppers = list_.take_all();
      pushers = pushers_.take_all();
    }
    fail_all(poppers, "weft::async_queue::pop: the queue was closed while this pop waited", false);
    fail_all(pushers, "weft::async_queue::push: the queue was closed while this push waited; the item was dropped",
             false);
  }

  /// The queue is destroyed: fails every waiter with executor_shutdown
  /// and destroys the items held (nothing else can reach them now).
  void destroy() noexcept {
    wait_node* poppers = nullptr;
    wait_node* pushers = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shut_ = true;
      closed_ = true;
      poppers = list_.take_all();
      pushers = pushers_.take_all();
    }
    clear_items();
    fail_all(poppers, "weft::async_queue: destroyed while this pop() was waiting", true);
    fail_all(pushers, "weft::async_queue: destroyed while this push() was waiting", true);
  }

  bool is_closed() const noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return shut_;
  }
  std::size_t size() const noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t waiting_pushers() const noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return pushers_.size();
  }

 private:
  using storage = typename std::aligned_storage<sizeof(T), alignof(T)>::type;

  wait_list& list_of_locked(wait_node& n) noexcept override { return n.want_ == 0 ? list_ : pushers_; }


  // The end of push() and pop(), outside the lock. A wait that was queued
  // (`node`): its future `f`, once the token is armed. Otherwise the ready
  // state, its value in already: failed with queue_closed(`closed_what`)
  // if that is not null, else completed.
  template <class V, class Node>
  static future<V> finish(std::unique_ptr<state<V>, state_releaser> ready, Node* node, future<V> f,
                          const cancellation_token& token, const char* closed_what) {
    if (node != nullptr) {
      ready.reset();
      node->arm(token);
      node->release();  // this call's reference
      return f;
    }
    if (closed_what != nullptr) {
      ready->set_error(make_queue_closed(closed_what));
    } else {
      ready->complete(false);
    }
    return future_access::adopt(ready.release());
  }

  T& slot(std::size_t i) noexcept { return *reinterpret_cast<T*>(&slots_[i]); }

  // Pops whose future nobody held when an item was to be handed to them,
  // taken off the list under the lock and completed after it (completing
  // a node may destroy it, which must not happen under the lock). Nothing
  // is stored in them: nobody could see it.
  struct abandoned {
    wait_node* first = nullptr;
    abandoned() = default;
    abandoned(const abandoned&) = delete;
    abandoned& operator=(const abandoned&) = delete;
    ~abandoned() { drop(); }
    void drop() noexcept {
      while (first != nullptr) {
        wait_node* next = first->next_;
        first->fail(std::exception_ptr());
        first = next;
      }
    }
  };

  // Takes the oldest pop() off the list whose future someone still holds;
  // those nobody holds are taken off too, into `dead`: an item given to
  // them would be lost.
  pop_node<T>* live_popper_locked(abandoned& dead) noexcept {
    while (!list_.empty()) {
      auto* n = static_cast<pop_node<T>*>(list_.front());
      list_.remove(n);
      if (n->future_held()) return n;
      n->next_ = dead.first;
      dead.first = n;
    }
    return nullptr;
  }

  // Room for one more item in the ring (count_ < capacity_): grows it if
  // every slot is taken. False, having changed nothing, if the allocation
  // failed.
  bool grow_if_full_locked() noexcept {
    if (count_ < slots_n_) return true;
    std::size_t n = slots_n_ < 8 ? 8 : slots_n_ * 2;
    if (n > capacity_ || n < slots_n_) n = capacity_;
    storage* fresh = new (std::nothrow) storage[n];
    if (fresh == nullptr) return false;
    for (std::size_t i = 0; i < count_; ++i) {
      T& from = slot(index(i));
      ::new (static_cast<void*>(&fresh[i])) T(std::move(from));
      from.~T();
    }
    slots_.reset(fresh);
    slots_n_ = n;
    head_ = 0;
    return true;
  }
  void emplace_back_locked(T&& item) {
    if (!grow_if_full_locked()) throw std::bad_alloc();
    ::new (static_cast<void*>(&slots_[index(count_)])) T(std::move(item));
    ++count_;
  }
  // The front item was moved out: destroys it, and if a push waits, moves
  // its item into the slot just freed. Returns that pusher, to grant().
  push_node<T>* pop_front_locked() noexcept {
    slot(head_).~T();
    if (++head_ == slots_n_) head_ = 0;
    --count_;
    if (pushers_.empty()) return nullptr;
    // Pushers wait only while the ring is full, so it holds capacity_
    // slots and the one freed is right behind the last item.
    auto* p = static_cast<push_node<T>*>(pushers_.front());
    pushers_.remove(p);
    ::new (static_cast<void*>(&slots_[index(count_)])) T(std::move(p->item()));
    ++count_;
    p->discard();
    return p;
  }
  std::size_t index(std::size_t offset) const noexcept {
    const std::size_t i = head_ + offset;
    return i >= slots_n_ ? i - slots_n_ : i;
  }
  void clear_items() noexcept {
    for (; count_ != 0; --count_) {
      slot(head_).~T();
      if (++head_ == slots_n_) head_ = 0;
    }
  }
  static void fail_all(wait_node* nodes, const char* what, bool shutdown) noexcept {
    if (nodes == nullptr) return;
    const std::exception_ptr e = shutdown ? make_shutdown(what) : make_queue_closed(what);
    while (nodes != nullptr) {
      wait_node* next = nodes->next_;
      nodes->fail(e);
      nodes = next;
    }
  }

  const std::size_t capacity_;
  std::unique_ptr<storage[]> slots_;
  std::size_t slots_n_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  wait_list pushers_;
  bool shut_ = false;
};

}  // namespace detail

/// A bounded multi-producer, multi-consumer queue whose push() and pop()
/// return futures: see the file comment.
///
/// T must be nothrow move-constructible (items move under the queue's
/// lock, where a throw would leave one half-moved) and nothrow
/// destructible, and not over-aligned. T's move constructor and the
/// destructor of a moved-from T run under that lock: they must not call
/// into the same queue.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls on the
/// same queue.
template <class T>
class async_queue {
  static_assert(std::is_nothrow_move_constructible<T>::value,
                "weft::async_queue<T>: T must be nothrow move-constructible");
  static_assert(std::is_nothrow_destructible<T>::value, "weft::async_queue<T>: T must be nothrow destructible");
  static_assert(alignof(T) <= alignof(std::max_align_t), "weft::async_queue<T>: T must not be over-aligned");
  static_assert(!std::is_reference<T>::value && !std::is_void<T>::value,
                "weft::async_queue<T>: T must be an object type");

 public:
  /// An open, empty queue holding at most `capacity` items, whose futures
  /// continue on `ex` (which should outlive the waits; a future that
  /// reaches a destroyed executor fails with executor_shutdown). Memory for
  /// the items is taken as they come, so a large capacity costs nothing
  /// up front. Throws std::invalid_argument if `capacity` is 0,
  /// std::bad_alloc.
  explicit async_queue(std::size_t capacity, executor& ex = detail::default_executor()) {
    if (capacity == 0) {
      detail::throw_coordination_argument("weft::async_queue::async_queue: capacity must be at least 1");
    }
    core_ = std::make_shared<detail::queue_core<T>>(capacity, ex);
  }
  /// Fails the waiting push() and pop() calls with executor_shutdown
  /// (the waiting pushes' items are destroyed) and destroys the items
  /// still held. Never throws.
  ~async_queue() { core_->destroy(); }
  async_queue(const async_queue&) = delete;
  async_queue& operator=(const async_queue&) = delete;

  /// Queues `value`: ready at once if a pop() waits (the item goes to the
  /// oldest) or there is room, otherwise completed (on the queue's
  /// executor) once every earlier waiting push() was served and a pop()
  /// freed a slot. Fails with queue_closed if the queue is closed, or is
  /// closed while this waits (the item is then destroyed, once). If
  /// `token` is cancelled while this waits, fails with cancelled_error and
  /// the item is destroyed, never queued; a token cancelled already fails
  /// it at once. Throws std::bad_alloc (the item is then not queued).
  future<void> push(T value, const cancellation_token& token = cancellation_token()) {
    return core_->push(core_, std::move(value), token);
  }

  /// The next item: ready at once if one is held (and then the oldest
  /// waiting push() moves its item into the freed slot), otherwise
  /// completed (on the queue's executor) by the first push() after every
  /// earlier waiting pop() was served. Once the queue is closed and every
  /// item was taken, fails with queue_closed (as does a pop() waiting at
  /// close()). If `token` is cancelled while this waits, fails with
  /// cancelled_error and takes nothing (the item goes to the next pop());
  /// a token cancelled already fails it at once. A pop() whose future is
  /// dropped before an item reaches it takes none. Throws std::bad_alloc.
  future<T> pop(const cancellation_token& token = cancellation_token()) { return core_->pop(core_, token); }

  /// Queues `value` now if a pop() waits or there is room, and returns
  /// true (`value` was moved from); otherwise (full, or closed) returns
  /// false and leaves `value` untouched. Never queues a waiter. Never
  /// throws.
  bool try_push(T&& value) noexcept { return core_->try_push(value); }
  /// try_push() of a copy of `value`. Throws what copying a T throws.
  bool try_push(const T& value) {
    T copy(value);
    return core_->try_push(copy);
  }

  /// Moves the oldest item into `out` and returns true if one is held
  /// (then the oldest waiting push() moves its item into the freed slot);
  /// otherwise returns false and leaves `out` alone: the queue is empty,
  /// or closed and drained (see is_closed()). Throws what T's move
  /// assignment to `out` throws (the item is then lost with the
  /// exception's unwinding; nothing else changes).
  bool try_pop(T& out) { return core_->try_pop(out); }

  /// Closes the queue: pushes from now on fail with queue_closed, the
  /// pushes waiting now fail with queue_closed (their items destroyed),
  /// pops take what is held and then fail with queue_closed, and the pops
  /// waiting now (nothing is held then) fail with queue_closed. Closing a
  /// closed queue does nothing. Never throws.
  void close() noexcept { core_->close(); }
  /// True once close() was called. Never throws.
  bool is_closed() const noexcept { return core_->is_closed(); }

  /// The items held now (a snapshot: other threads may change it at
  /// once). Never throws.
  std::size_t size() const noexcept { return core_->size(); }
  /// The most items the queue holds, as constructed. Never throws.
  std::size_t capacity() const noexcept { return core_->capacity(); }
  /// How many push() calls wait for room now (a snapshot). Never throws.
  std::size_t waiting_pushers() const noexcept { return core_->waiting_pushers(); }
  /// How many pop() calls wait for an item now (a snapshot). A pop whose
  /// future was dropped still counts until the next push (or close())
  /// takes it off the list. Never throws.
  std::size_t waiting_poppers() const noexcept { return core_->waiting(); }

 private:
  std::shared_ptr<detail::queue_core<T>> core_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_ASYNC_QUEUE_HPP
