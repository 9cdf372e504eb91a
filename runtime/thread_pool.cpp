// thread_pool: the facade over pool_core (pool_core.hpp), construction,
// and shutdown with its drain.
#include "weft/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <oneapi/tbb/global_control.h>

#include "executor_registry.hpp"
#include "pool_core.hpp"

namespace weft {
inline namespace v1 {
namespace detail {
namespace {

// oneTBB's global market caps how many workers all arenas share (by default
// one per hardware thread, minus one). A pool of N must really get N
// workers, so weft raises the cap to cover every pool alive at once. Only
// raised, never lowered: idle TBB workers sleep and cost nothing.
class concurrency_budget {
 public:
  void reserve(std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ += n;
    const std::size_t want = std::max<std::size_t>(in_use_ + 1, std::thread::hardware_concurrency());
    if (want > granted_) {
      auto next = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, want);
      control_ = std::move(next);  // the old control dies after the new one exists
      granted_ = want;
    }
  }
  void unreserve(std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ -= n;
  }

 private:
  std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::size_t granted_ = 0;
  std::unique_ptr<tbb::global_control> control_;
};

concurrency_budget& budget() {
  static auto* b = new concurrency_budget;  // outlives every pool, even static ones
  return *b;
}

}  // namespace

void reserve_concurrency(std::size_t n) { budget().reserve(n); }
void unreserve_concurrency(std::size_t n) noexcept { budget().unreserve(n); }

void pool_core::shutdown(shutdown_mode mode) {
  // First, while the pool still accepts its own workers' tasks: what the
  // services fail (pending sleeps, waiters) continues during the drain.
  services.shutdown();
  if (mode == shutdown_mode::cancel) cancelling.store(true, std::memory_order_release);
  {
    // Both under the lock: a thread that sees is_shutdown() and then
    // submits takes the lock after this and is refused.
    std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
    inbox.closed = true;
    shut.store(true, std::memory_order_release);
  }
  if (is_own_worker()) return;  // waiting here would wait for ourselves
  // An outside submission that kicked a drainer may still be inside
  // oneTBB's enqueue, touching the arena; let it leave.
  for (;;) {
    {
      std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
      if (inbox.kicks_in_flight == 0) break;
    }
    std::this_thread::yield();
  }
  std::lock_guard<std::mutex> lock(drain_mutex);
  // TSan cannot see that the delegate (which may run on a worker) starts
  // after arena.execute() was called and ends before it returns, nor that
  // group.wait() returns only after every task's last touch of the pool:
  // pass these edges on explicitly.
  // The delegate's first read is of its closure, on this thread's stack,
  // so the edge into it goes through a fixed address.
  // The closure is built before the release, or its own initialisation
  // would not be covered by it. It captures `self`, not `this`: clang
  // loads a captured `this` in the lambda's prologue, before the acquire.
  static char execute_edge;
  const auto drain = [self = this] {
    detail::tsan_acquire(&execute_edge);
    // A task may submit to any slot's group, also to one already waited
    // for in this pass, so pass again until the counters balance. The
    // last pass waits out the groups' own bookkeeping, which a task does
    // after its completion is counted.
    do {
      self->run_stranded_inbox();
      self->wait_all_groups();
    } while (!self->quiescent());
    self->wait_all_groups();
    // A thread outside the pool that enqueued a resume may still be inside
    // oneTBB's enqueue, touching the arena, after the resumed task ended.
    while (self->resumes_in_flight.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    detail::tsan_acquire(self);
    detail::tsan_release(self);
  };
  detail::tsan_release(&execute_edge);
  joined_from_outside() = true;  // tasks this thread runs in there must not rename it
  arena.execute(drain);
  joined_from_outside() = false;
  detail::tsan_acquire(this);
  closed.store(true, std::memory_order_release);
}

}  // namespace detail

thread_pool::thread_pool() : impl_(std::make_shared<detail::pool_core>(std::max(1u, std::thread::hardware_concurrency()))) {
  impl_->owner.store(this, std::memory_order_relaxed);
  impl_->registration = detail::executor_registry::registration_of(*this);
}

thread_pool::thread_pool(std::size_t threads) {
  if (threads == 0 || threads > 4096) {
    throw std::invalid_argument("weft::thread_pool: the threads argument (" + std::to_string(threads) +
                                ") must be between 1 and 4096");
  }
  impl_ = std::make_shared<detail::pool_core>(threads);
  impl_->owner.store(this, std::memory_order_relaxed);
  impl_->registration = detail::executor_registry::registration_of(*this);
}

thread_pool::~thread_pool() {
  // The services first, while the pool still accepts work from outside:
  // the continuations of the futures they fail run in the drain below.
  if (impl_) impl_->services.shutdown();
  // Then, from now on a continuation bound to this pool that arrives from
  // outside fails with executor_shutdown ("destroyed") instead of reaching
  // a facade about to be freed. Its own workers still reach the pool
  // (execute_on_own_pool) while the drain runs.
  retire();
  if (!impl_) return;
  if (impl_->is_own_worker()) {
    // Destroyed by one of its own tasks: that task is part of the drain, so
    // the drain finishes on another thread, which then frees the pool.
    impl_->shutdown(shutdown_mode::drain);
    impl_->owner.store(nullptr, std::memory_order_relaxed);
    std::shared_ptr<detail::pool_core> keep = std::move(impl_);
    std::thread([keep]() mutable {
      keep->shutdown(shutdown_mode::drain);
      keep.reset();
    }).detach();
    return;
  }
  impl_->shutdown(shutdown_mode::drain);
}

void thread_pool::execute(unique_task task) { impl_->submit(task, false); }

void thread_pool::defer(unique_task task) { impl_->submit(task, true); }

void thread_pool::shutdown(shutdown_mode mode) { impl_->shutdown(mode); }

bool thread_pool::is_shutdown() const noexcept {
  return impl_->shut.load(std::memory_order_acquire);
}

std::size_t thread_pool::size() const noexcept { return impl_->threads; }

pool_stats thread_pool::stats() const noexcept { return impl_->stats(); }

bool thread_pool::running_in_this_thread() const noexcept { return impl_->is_own_worker(); }

service_registry& thread_pool::services() noexcept { return impl_->services; }


namespace detail {

bool execute_on_own_pool(std::uint64_t registration, unique_task& task, bool defer) {
  pool_core* pool = current_pool();
  if (pool == nullptr || pool->registration != registration) return false;
  pool->submit(task, defer);
  return true;
}

const void* local_pool_of(const executor& ex) noexcept {
  pool_core* pool = current_pool();
  return pool != nullptr && pool->owner.load(std::memory_order_relaxed) == &ex ? static_cast<const void*>(pool) : nullptr;
}

void flush_held() noexcept {
  held_task& h = this_thread_held();
  if (!h.task) return;
  // Still on the worker that held it, inside the task that held it: the
  // task counts as submitted from its slot already.
  unique_task task = std::move(h.task);
  pool_core* pool = h.pool;
  slot& mine = pool->my_slot();
  try {
    pool->spawn(mine, task);
  } catch (...) {
    // No memory for a deque entry: run it here instead of dropping it. It
    // is a task of this pool on this pool's worker, nested in the task
    // that is about to block.
    if (task) pool->run(task, pool_core::started_by::drainer);
  }
}

}  // namespace detail

namespace detail {
executor& default_executor() { return default_pool(); }
}  // namespace detail

thread_pool& default_pool() {
  static thread_pool* pool = [] {
    auto* p = new thread_pool();  // never destroyed; see header
    detail::executor_registry::mark_immortal(*p);
    // Its references carry its address now and never reach
    // execute_on_own_pool(); the freed slot must not match either.
    p->impl_->registration = 0;
    return p;
  }();
  return *pool;
}

}  // namespace v1
}  // namespace weft
