// The non-template core of the shared state: blocking waits and the report
// of errors nobody observed.
#include "weft/detail/shared_state.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <thread>

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "thread_context.hpp"
#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

executor& default_executor() { return default_pool(); }

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

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op | FUTEX_PRIVATE_FLAG, val, timeout,
                 nullptr, 0);
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
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

  bool spin() noexcept {
    for (int i = 0; i < spin_rounds; ++i) {
      if (word_.load(std::memory_order_acquire) == done) return true;
      cpu_relax();
    }
    return word_.load(std::memory_order_acquire) == done;
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
  static constexpr int spin_rounds = 2000;
  std::atomic<std::uint32_t> word_{waiting};
};

// A pool task blocked in get(): its worker helps. The worker waits on a
// task_group of its own whose only task is never run; while waiting, oneTBB
// has it execute other tasks of the arena. The outcome's arrival destroys
// that task unrun, which releases the group and ends the wait.
//
// Why help rather than suspend (tbb::task::suspend): a suspended task keeps
// a stack of its own, and oneTBB resumes it only when its worker runs out of
// newer work, so recursive code that blocks (fib with get()) piled up one
// suspended stack per call and exhausted the address-space maps at ~30,000.
// Helping nests waits on one stack, bounded by the recursion depth.
class helping_waiter final : public callback_node {
 public:
  explicit helping_waiter(tbb::task_handle h) noexcept : handle_(std::move(h)) {}
  void fire(state_base*) noexcept override {
    // Take the handle out first: once the group is released the waiting
    // worker may return and destroy *this.
    tbb::task_handle release_on_scope_exit = std::move(handle_);
  }

 private:
  tbb::task_handle handle_;
};

}  // namespace

void state_base::wait() {
  if (ready()) return;
  thread_context* ctx = this_thread_context();
  if (ctx->pool != nullptr) {
    // Tasks run while helping must not queue behind an inline executor loop
    // that this blocked task has open: that loop resumes only after the wait.
    inline_frame* const open_loop = ctx->trampoline;
    ctx->trampoline = nullptr;
    tbb::task_group group;
    helping_waiter w(group.defer([] {}));
    attach_waiter(&w);
    // A nested wait in oneTBB skips the arena's FIFO queue, where every task
    // submitted from outside the pool sits, so a worker helping here would
    // never run such a task, and if it is the one this wait needs, the pool
    // deadlocks (tests/deadlock_test.cpp). task_arena::execute re-allows FIFO
    // tasks for its scope, also when called from inside the same arena.
    tbb::task_arena here(tbb::task_arena::attach{});
    here.execute([&group] { group.wait(); });
    this_thread_context()->trampoline = open_loop;
  } else {
    parking_waiter w;
    attach_waiter(&w);
    w.block();
  }
  after_wait();
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) {
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
