// The non-template part of cancellation: the list of registrations behind
// a source, its spin lock, cancel(), and the wait of a callback destroyed
// while its function runs on another thread.
//
// The word (cancel_state::word_) holds `cancelled`, `locked` and
// `has_nodes`. Only the holder of `locked` changes the word while it is
// set, so an unlock is a plain store of the flags it computed. cancel()
// sets `cancelled` with one compare-and-swap when `has_nodes` is clear;
// otherwise it takes the lock in the same compare-and-swap and runs the
// nodes one at a time: unlist the first under the lock, unlock, run it,
// relock. A registration (add()) that finds `cancelled` lists nothing,
// and its owner runs the function itself, so each function runs exactly
// once: listed before the cancel (run by the canceller) or not at all
// (run by its owner).
//
// A node's phase says where its function is: `listed`, then `running`
// (both set under the lock), then `done`, set by the canceller after the
// function returned. A destroyer that finds its node running on another
// thread spins for a few microseconds (budgets.hpp, spin_budget) and then
// marks it `parked` and sleeps on a futex; the canceller wakes it only if
// it finds `parked`, so cancel() makes no system call for a node nobody
// waits on.
#include "weft/cancellation.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <thread>

#include "budgets.hpp"
#include "thread_context.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op | FUTEX_PRIVATE_FLAG, val, nullptr, nullptr, 0);
}

// The lock is held for a few instructions, so a waiter spins; past a few
// dozen pauses the holder was probably preempted (two cores shared by
// many threads), and spinning on would only keep it off the core.
class backoff {
 public:
  void pause() noexcept {
    if (++spins_ < 64) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }

 private:
  unsigned spins_ = 0;
};

// A linked state's registration in its parent: cancelling the parent
// cancels the child. The child is alive while this runs: its last source
// copy's destructor removes this node first, and remove() waits for a run
// in progress on another thread (see cancel_state::drop_source()).
void link_op(void* fn, bool run) {
  if (run) static_cast<cancel_state*>(fn)->cancel();
}

void run_reporting(cancel_node* n) noexcept {
  try {
    n->op(n->fn, true);
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
}

// A destroyer waits for the node's function, running on another thread.
void wait_done(cancel_node* n) noexcept {
  // Acquire on every load that may see `done`: pairs with the canceller's
  // release exchange, so the function's effects happen-before the
  // destructor returns.
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (n->phase.load(std::memory_order_acquire) == cancel_node::done) return;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > spin_budget) break;
  }
  std::uint32_t expected = cancel_node::running;
  if (!n->phase.compare_exchange_strong(expected, cancel_node::parked, std::memory_order_acquire,
                                        std::memory_order_acquire)) {
    return;  // done meanwhile
  }
  while (n->phase.load(std::memory_order_acquire) != cancel_node::done) {
    futex(&n->phase, FUTEX_WAIT, cancel_node::parked);
  }
}

}  // namespace

cancel_state* cancel_state::make() { return new cancel_state(); }

cancel_state* cancel_state::make_linked(cancel_state* parent) {
  cancel_state* s = new cancel_state();
  if (parent == nullptr) return s;
  s->link_.op = &link_op;
  s->link_.fn = s;
  if (parent->is_cancelled()) {
    s->cancel();  // no callback can be registered yet: one compare-and-swap
    return s;
  }
  parent->add_ref();
  if (parent->add(&s->link_)) {
    // No other thread can see `s` yet; drop_source() reads parent_ after
    // the acq_rel decrement that ends the last copy.
    s->parent_ = parent;
  } else {
    parent->release();  // cancelled in between
    s->cancel();
  }
  return s;
}

bool cancel_state::can_be_cancelled() const noexcept {
  // Relaxed is enough for the count: a true answer is a hint (the last
  // copy may die right after), and a false one stays false (no copy can
  // be made once none is left).
  return is_cancelled() || sources_.load(std::memory_order_relaxed) != 0;
}

void cancel_state::release() noexcept {
  // acq_rel: every owner's writes happen-before the delete. A count of 1
  // seen with acquire means the caller is the only owner left (a reference
  // is only made from one already held), so the last release skips the
  // read-modify-write.
  if (refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void cancel_state::drop_source() noexcept {
  // acq_rel: the thread that ends the last copy sees parent_ (written
  // before the state was shared) and every earlier copy's work.
  if (sources_.fetch_sub(1, std::memory_order_acq_rel) == 1) detach_from_parent();
  release();
}

void cancel_state::detach_from_parent() noexcept {
  if (parent_ == nullptr) return;
  // Waits if the parent is running the link on another thread: that run
  // cancels this state, which must stay alive until it returns (this
  // copy's reference keeps it). From inside the link's own run (a child's
  // callback destroying the child's last source) it returns at once, and
  // the parent's canceller does not touch the node again.
  parent_->remove(&link_);
  parent_->release();
  parent_ = nullptr;
}

std::uint32_t cancel_state::lock_any() const noexcept {
  backoff b;
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & locked) != 0) {
      b.pause();
      w = word_.load(std::memory_order_relaxed);
      continue;
    }
    // Acquire: the list as the previous holder left it (its unlock is a
    // release store).
    if (word_.compare_exchange_weak(w, w | locked, std::memory_order_acquire, std::memory_order_relaxed)) return w;
  }
}

void cancel_state::unlock(std::uint32_t was) const noexcept {
  // Release: publishes the list to the next holder. A plain store: nobody
  // else writes the word while it is locked.
  word_.store((was & cancelled) | (head_ != nullptr ? has_nodes : 0u), std::memory_order_release);
}

bool cancel_state::add(cancel_node* n) noexcept {
  backoff b;
  // Acquire on the loads and on a failed exchange: a caller told "cancelled"
  // runs its function at once and must see what preceded cancel().
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    if ((w & cancelled) != 0) return false;
    if ((w & locked) != 0) {
      b.pause();
      w = word_.load(std::memory_order_acquire);
      continue;
    }
    if (word_.compare_exchange_weak(w, w | locked, std::memory_order_acquire, std::memory_order_acquire)) break;
  }
  n->next = head_;
  n->prev_next = &head_;
  if (head_ != nullptr) head_->prev_next = &n->next;
  head_ = n;
  // Relaxed: read under the lock only, until cancel() publishes `done`.
  n->phase.store(cancel_node::listed, std::memory_order_relaxed);
  unlock(w);
  return true;
}

void cancel_state::remove(cancel_node* n) noexcept {
  const std::uint32_t w = lock_any();
  if (n->prev_next != nullptr) {
    *n->prev_next = n->next;
    if (n->next != nullptr) n->next->prev_next = n->prev_next;
    n->next = nullptr;
    n->prev_next = nullptr;
    n->phase.store(cancel_node::idle, std::memory_order_relaxed);
    unlock(w);
    return;
  }
  // cancel() unlisted it: its function is running or has returned.
  const std::uint32_t phase = n->phase.load(std::memory_order_acquire);
  if (phase != cancel_node::done && canceller_ == std::this_thread::get_id()) {
    // Running, and on this thread: we are inside the function itself
    // (cancel() runs one node at a time, and nothing else of this thread
    // runs while it does). Waiting would never end; tell the canceller
    // not to touch the node once the function returns.
    *running_destroyed_ = true;
    unlock(w);
    return;
  }
  unlock(w);
  if (phase != cancel_node::done) wait_done(n);
}

std::size_t cancel_state::listed_nodes() const noexcept {
  const std::uint32_t w = lock_any();
  std::size_t n = 0;
  for (const cancel_node* p = head_; p != nullptr; p = p->next) ++n;
  unlock(w);
  return n;
}

bool cancel_state::cancel() noexcept {
  backoff b;
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    // Relaxed is enough to lose: a caller that returns false reads nothing.
    if ((w & cancelled) != 0) return false;
    if ((w & locked) != 0) {
      b.pause();
      w = word_.load(std::memory_order_relaxed);
      continue;
    }
    if ((w & has_nodes) == 0) {
      // Nothing listed: setting the bit is the whole cancel, and a later
      // add() sees it. Release: what preceded cancel() is visible to
      // whoever sees the bit (is_cancelled(), add()).
      if (word_.compare_exchange_weak(w, w | cancelled, std::memory_order_release, std::memory_order_relaxed)) {
        return true;
      }
      continue;
    }
    // acq_rel: release as above; acquire for the list, as lock_any().
    if (word_.compare_exchange_weak(w, w | cancelled | locked, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      break;
    }
  }
  run_nodes();
  return true;
}

// Called with the lock held and `cancelled` set; returns with it released.
// No node is listed after the first lock: add() refuses once cancelled.
//
// A function may destroy the source and every token and callback that kept
// this state alive (the caller's reference included). So before a node
// whose function will be followed by more work on the state (relocking for
// the next node), the loop takes a reference of its own; the last node is
// run with nothing of the state touched afterwards, and a cancel with one
// callback pays for no reference at all.
void cancel_state::run_nodes() noexcept {
  canceller_ = std::this_thread::get_id();
  bool destroyed = false;
  bool holding = false;
  for (;;) {
    cancel_node* n = head_;
    if (n == nullptr) break;
    head_ = n->next;
    if (head_ != nullptr) head_->prev_next = &head_;
    n->next = nullptr;
    n->prev_next = nullptr;
    n->phase.store(cancel_node::running, std::memory_order_relaxed);  // read under the lock
    destroyed = false;
    running_destroyed_ = &destroyed;
    // Nothing can be listed any more, so when this is the last node the
    // loop ends without touching the state again.
    const bool last = head_ == nullptr;
    if (!last && !holding) {
      // Alive: no function has run yet, and the caller holds a reference.
      add_ref();
      holding = true;
    }
    unlock(cancelled);
    run_reporting(n);
    if (!destroyed) {
      // Release: the function's effects happen-before a destroyer's return
      // (its acquire load of `done`). The exchange tells whether it sleeps.
      // Nothing of the node is touched after it but its address, and a
      // futex wake on a stale address is harmless.
      if (n->phase.exchange(cancel_node::done, std::memory_order_release) == cancel_node::parked) {
        futex(&n->phase, FUTEX_WAKE, 1);
      }
    }
    if (last) {
      // running_destroyed_ is left pointing at `destroyed`: it is read only
      // while a node is running on this thread, and none is any more.
      if (holding) release();
      return;
    }
    lock_any();
  }
  // The list was emptied by destroyers while a function ran.
  running_destroyed_ = nullptr;
  unlock(cancelled);
  if (holding) release();
}

void throw_cancelled(const char* what) { throw cancelled_error(what); }

bool is_cancelled_error(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const cancelled_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::exception_ptr make_cancelled(const char* what) noexcept {
  try {
    return std::make_exception_ptr(cancelled_error(what));
  } catch (...) {
    return std::current_exception();  // std::bad_alloc
  }
}

}  // namespace detail

void cancellation_callback::attach(detail::cancel_state* s) noexcept {
  if (!s->is_cancelled()) {
    s->add_ref();  // for remove() in the destructor
    if (s->add(&node_)) {
      state_ = s;
      return;
    }
    s->release();  // cancelled in between
  }
  detail::run_reporting(&node_);
}

cancellation_callback::~cancellation_callback() {
  if (state_ != nullptr) {
    state_->remove(&node_);
    state_->release();
  }
  node_.op(node_.fn, false);
}

}  // namespace v1
}  // namespace weft
