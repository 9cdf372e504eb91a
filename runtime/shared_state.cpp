// The non-template core of the shared state: the report of errors nobody
// observed, the completion at a task's end, and blocking waits. A wait
// knows no pool: on a thread that runs a scheduler's task it blocks through
// that scheduler's worker (thread_context.hpp; the pool's is in
// pool_wait.cpp), elsewhere it spins briefly and parks on a futex; inside a
// simulation's task it throws instead (thread_context::refusal).
#include "weft/detail/shared_state.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <thread>

#include "budgets.hpp"
#include "thread_context.hpp"
#include "trampoline.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

state_base::~state_base() {
  // The final release() was acq_rel, so the producer's and consumers'
  // writes to the word are visible here.
  const std::uint32_t s = state_.load(std::memory_order_relaxed);
  if ((s & has_error) != 0 && (s & observed) == 0) report_unhandled_error(error_);
}

void state_base::attach_waiter(callback_node* w) noexcept { attach(w, has_callback); }

bool state_base::detach_waiter(callback_node*) noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  while ((s & has_result) == 0) {
    // Acquire on failure is not needed: a failed CAS only tells us the
    // producer got there first, and then we wait for the fire.
    if (state_.compare_exchange_weak(s, s & ~has_callback, std::memory_order_relaxed)) return true;
  }
  return false;
}

void state_base::after_wait() noexcept { rearm(); }

bool state_base::try_run_inline(const void*) noexcept { return false; }

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op | FUTEX_PRIVATE_FLAG, val, timeout,
                 nullptr, 0);
}

// A thread outside the pool blocked in get(): it spins a little (a wake-up
// through the kernel costs ~20 us here, a spin round trip ~0.6 us), then
// parks on a futex.
class parking_waiter final : public callback_node {
 public:
  static constexpr std::uint32_t waiting = 0, done = 1, parked = 2;

  void fire(state_base*) noexcept override {
    // Release: the outcome is written; pairs with the acquire loads below.
    // Nothing of *this is touched after the exchange except its address,
    // and a futex wake on a stale address is harmless.
    if (word_.exchange(done, std::memory_order_release) == parked) futex(&word_, FUTEX_WAKE, 1, nullptr);
  }

  // Spins for a bounded time, not a bounded count: one `pause` costs 10 to
  // 140 cycles depending on the CPU, and 2,000 of them took longer here
  // than the futex round trip they were meant to save.
  bool spin() noexcept {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      for (int i = 0; i < 16; ++i) {
        if (word_.load(std::memory_order_acquire) == done) return true;
        cpu_relax();
      }
      if (std::chrono::steady_clock::now() - start > spin_budget) return word_.load(std::memory_order_acquire) == done;
    }
  }

  void block() noexcept {
    if (spin()) return;
    // Fails when already done (the loop ends at once) or already parked
    // (after a timed wait gave up too late).
    std::uint32_t expected = waiting;
    word_.compare_exchange_strong(expected, parked, std::memory_order_acquire);
    while (word_.load(std::memory_order_acquire) != done) futex(&word_, FUTEX_WAIT, parked, nullptr);
  }

  /// Returns false on timeout (the word is then still `waiting`/`parked`).
  bool block_until(std::chrono::steady_clock::time_point deadline) noexcept {
    if (spin()) return true;
    std::uint32_t expected = waiting;
    word_.compare_exchange_strong(expected, parked, std::memory_order_acquire);
    for (;;) {
      if (word_.load(std::memory_order_acquire) == done) return true;
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return false;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts;
      ts.tv_sec = static_cast<time_t>(ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
      futex(&word_, FUTEX_WAIT, parked, &ts);
    }
  }

 private:

  std::atomic<std::uint32_t> word_{waiting};
};

}  // namespace

void enter_task(const void* task, const state_base* producer) noexcept {
  thread_context* ctx = this_thread_context();
  if (ctx->direct_task == task) ctx->direct_producer = producer;
  // From here the task's own code runs, also when it runs nested in the end
  // of another task (an inline executor's task fired from there): its
  // submissions are not the end of a task.
  ctx->deferring = false;
}

void state_base::fire_task_end() noexcept {
  thread_context* ctx = this_thread_context();
  // Only the end of the task the pool started: a weft task nested inside
  // user code (an inline executor inside a pool task) ends while that code
  // goes on, and what it fires is executed as usual.
  if (ctx->direct_producer != this) {
    callback_->fire(this);
    return;
  }
  // A state completes once; another one allocated at its address later in
  // this task (by code in the completion) must not count as its end.
  ctx->direct_producer = nullptr;
  const context_scope<bool> scope(ctx, &thread_context::deferring);
  ctx->deferring = true;
  callback_->fire_deferrable(this);
}

void state_base::wait() {
  if (ready()) return;
  // An arrival or an inline task put off below this frame may be what
  // completes this state; nothing would run it while this stack blocks.
  // Nor would anything run a task this thread holds (a destructor run at a
  // task's end may wait).
  drain_trampoline();
  flush_held();
  if (ready()) return;
  // The one place a wait blocks for good: the refusal costs a load of the
  // context this path reads anyway, and nothing on the paths that return.
  thread_context* ctx = this_thread_context();
  if (ctx->refusal != nullptr) ctx->refusal->refuse();
  if (worker* w = ctx->pool) {
    w->wait(*this);
    return;
  }
  parking_waiter w;
  attach_waiter(&w);
  w.block();
  after_wait();
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  drain_trampoline();  // as in wait()
  flush_held();
  if (ready()) return true;
  if (deadline <= std::chrono::steady_clock::now()) return false;
  parking_waiter w;
  attach_waiter(&w);
  if (!w.block_until(deadline)) {
    if (detach_waiter(&w)) return false;
    // The outcome arrived as we gave up: the fire is under way; let it end
    // before `w` goes out of scope.
    w.block();
  }
  after_wait();
  return true;
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
