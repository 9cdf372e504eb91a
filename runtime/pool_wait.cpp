// What a task of the pool does when it blocks in get(): the pool's side of
// state_base::wait() (worker::wait), and resuming a suspended task.
#include <atomic>

#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "pool_core.hpp"
#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {
namespace detail {
namespace {

// A pool task blocked in get() is suspended (oneTBB resumable tasks): the
// worker goes back to its dispatch loop and runs other tasks, and the
// outcome's arrival resumes the task, on whichever worker picks it up.
//
// Suspension has a cost that helping does not: a suspended task keeps a
// stack of its own, and oneTBB resumes it only when a worker runs out of
// newer work. Recursive code that blocks (fib written with get()) had
// ~13,000 tasks suspended at once at fib(22) and crashed at fib(25) when
// the process ran out of memory maps. So at most max_suspended tasks
// (budgets.hpp) are suspended at once in the process; past that, a blocked
// worker helps:
// it waits on a task_group of its own whose only task is never run, and
// oneTBB has it execute other tasks meanwhile, nested on its stack.
//
// Helping alone has the opposite flaw: a task the waiter picks up runs on
// the waiter's stack, so if that task waits for something the waiter does
// after its get() returns, neither can move (tests/deadlock_test.cpp). With
// suspension first, that needs more than max_suspended blocked tasks.
//
// ThreadSanitizer cannot follow oneTBB's switch to a coroutine stack (it
// crashed unwinding one), so a TSan build only helps.
std::atomic<int> suspended_now{0};

// Resumes a suspended task. From a worker of the task's own pool it resumes
// directly; from anywhere else (a thread outside the pool, a worker of
// another pool) it enqueues the resume into the task's arena. oneTBB wakes
// an arena's workers reliably for enqueued work, but a resume from outside
// the arena could leave the task stranded while the worker bound to it
// slept (seen here: 0.2 s, once 20 s, until another thread joined the
// arena; oneTBB issue 1909 describes the binding).
class resuming_waiter final : public callback_node {
 public:
  explicit resuming_waiter(pool_core* pool) noexcept : pool_(pool) {}
  void fire(state_base*) noexcept override {
    // Copy first: once resumed, the waiting task may return and free *this.
    // The pool outlives the call: it cannot finish a drain while one of
    // its tasks is suspended.
    tbb::task::suspend_point sp = sp_;
    pool_core* pool = pool_;
    if (this_thread_context()->pool != pool) {
      try {
        pool->resume_in_arena(sp);
        return;
      } catch (...) {  // no memory for the task: resume from here after all
      }
    }
    tbb::task::resume(sp);
  }
  tbb::task::suspend_point sp_ = nullptr;

 private:
  pool_core* const pool_;
};

class helping_waiter final : public callback_node {
 public:
  explicit helping_waiter(tbb::task_handle h) noexcept : handle_(std::move(h)) {}
  void fire(state_base*) noexcept override {
    // Take the handle out first: once the group is released the waiting
    // worker may return and destroy *this. Destroying the never-run task
    // releases the group, an edge TSan does not see.
    tbb::task_handle release_on_scope_exit = std::move(handle_);
    tsan_release(this);
  }

 private:
  tbb::task_handle handle_;
};

}  // namespace

void pool_core::wait(state_base& s) {
  thread_context* ctx = this_thread_context();
  if (ctx->inline_depth < max_inline_depth && inline_claims() < max_inline_claims && accepts_inline()) {
    // The awaited task may still sit unstarted in this pool: run it here.
    // It is a fresh task of the pool (no inline executor loop of ours open
    // for it), and it may suspend and come back on another worker, so the
    // context is restored on whichever thread this returns on.
    bool ran;
    {
      const whole_context_scope scope;
      // The task opens a trampoline frame of its own, so what it puts off
      // runs before it returns (this stack's frame was drained by
      // state_base::wait()).
      ctx->trampoline = nullptr;
      ctx->deferring = false;  // the inline task is not the end of ours
      ++ctx->inline_depth;
      ran = wait_access::try_run_inline(s, static_cast<const void*>(this));
    }
    if (ran) ++inline_claims();
    // Ready also when the queued task won the claim and has finished since;
    // not yet when the task returned a future it now forwards from.
    if (s.ready()) return;
    ctx = this_thread_context();
  }
  // While this task waits, its worker runs other tasks: they must not see
  // this task's context (its pool, or an inline executor loop it has open,
  // which resumes only after the wait).
  const whole_context_scope scope;
  const thread_context& saved = scope.saved();
  *ctx = thread_context();
  // The inbox drainer running this task must not hold the pool's outside
  // submissions back while it waits: they may be what it waits for.
  if (saved.duty != nullptr) saved.duty->pool->resign(*saved.duty);
  // Relaxed: a plain budget; nothing is published through it.
  if (suspended_now.fetch_add(1, std::memory_order_relaxed) < max_suspended) {
    resuming_waiter w(this);
    tbb::task::suspend([this, &s, &w](tbb::task::suspend_point sp) {
      w.sp_ = sp;
      // An outcome already in fires the waiter right here, on this thread,
      // which is still in the pool's arena: let it resume directly.
      this_thread_context()->pool = this;
      wait_access::attach_waiter(s, &w);
      this_thread_context()->pool = nullptr;
    });
    suspended_now.fetch_sub(1, std::memory_order_relaxed);
  } else {
    suspended_now.fetch_sub(1, std::memory_order_relaxed);
    ctx->pool = this;  // helped tasks set and restore it themselves
    // Helped tasks run nested on this stack: inline runs inside them count
    // against the same depth.
    ctx->inline_depth = saved.inline_depth;
    tbb::task_group group;
    helping_waiter w(group.defer([] {}));
    wait_access::attach_waiter(s, &w);
    // A nested wait in oneTBB skips the arena's FIFO queue, where every task
    // submitted from outside the pool sits, so a worker helping here would
    // never run such a task, and if it is the one this wait needs, the pool
    // deadlocks (tests/deadlock_test.cpp). task_arena::execute re-allows FIFO
    // tasks for its scope, also when called from inside the same arena.
    tbb::task_arena here(tbb::task_arena::attach{});
    here.execute([&group] { group.wait(); });
    tsan_acquire(&w);
  }
  // The scope restores the context on whichever worker a resumed task is.
  wait_access::after_wait(s);
}


void pool_core::resume_in_arena(void* suspend_point) {
  auto* sp = static_cast<tbb::task::suspend_point>(suspend_point);
  // Counted before the push and uncounted after oneTBB's enqueue returns
  // (its last touch of the arena). Relaxed increment: it happens-before
  // the resumed task's completion (through the push and the worker taking
  // the task), which happens-before the drain's quiescent() read, so the
  // drain's later load sees it or the decrement. The decrement's release
  // pairs with the drain's acquire.
  resumes_in_flight.fetch_add(1, std::memory_order_relaxed);
  struct uncount {
    std::atomic<std::uint32_t>& in_flight;
    ~uncount() { in_flight.fetch_sub(1, std::memory_order_release); }
  } guard{resumes_in_flight};
  arena.enqueue([sp] { tbb::task::resume(sp); });
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
