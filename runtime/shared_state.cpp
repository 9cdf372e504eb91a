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

#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "sanitizers.hpp"
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

bool state_base::try_run_inline(const void*) noexcept { return false; }

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op | FUTEX_PRIVATE_FLAG, val, timeout,
                 nullptr, 0);
}

// How long a blocked thread spins before it parks: under a futex wait/wake
// round trip (16-21 us here), above a cross-core hand-off (~0.6 us), so a
// reply that comes quickly is caught without a syscall and a slow one costs
// little extra.
constexpr std::chrono::nanoseconds spin_budget{8000};

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

// A pool task blocked in get() is suspended (oneTBB resumable tasks): the
// worker goes back to its dispatch loop and runs other tasks, and the
// outcome's arrival resumes the task, on whichever worker picks it up.
//
// Suspension has a cost that helping does not: a suspended task keeps a
// stack of its own, and oneTBB resumes it only when a worker runs out of
// newer work. Recursive code that blocks (fib written with get()) had
// ~13,000 tasks suspended at once at fib(22) and crashed at fib(25) when
// the process ran out of memory maps. So at most max_suspended tasks are
// suspended at once in the process; past that, a blocked worker helps:
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
constexpr int max_suspended = tsan_build ? 0 : 256;

// How many awaited tasks may run inline nested on one stack before a waiter
// suspends instead: recursive code (fib) nests as deep as its recursion, and
// each level costs a few hundred bytes of stack on top of the task's own.
constexpr int max_inline_depth = 64;

// How many awaited tasks a worker runs inline (see inline_claims()) before
// it suspends once instead, which lets its dispatch loop pop the finished
// entries: at ~150 bytes each, 8,192 bound them to ~1.2 MB per worker. Not
// lower: a suspension costs tens of microseconds here (oneTBB may make a
// fresh coroutine stack for it), and at 1,024 the suspensions this forced
// took 40% of fib(25)'s time (66 against 40 ns per call).
constexpr unsigned max_inline_claims = 8192;
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
  explicit resuming_waiter(thread_pool::impl* pool) noexcept : pool_(pool) {}
  void fire(state_base*) noexcept override {
    // Copy first: once resumed, the waiting task may return and free *this.
    // The pool outlives the call: it cannot finish a drain while one of
    // its tasks is suspended.
    tbb::task::suspend_point sp = sp_;
    thread_pool::impl* pool = pool_;
    if (this_thread_context()->pool != pool) {
      try {
        resume_in_arena(pool, sp);
        return;
      } catch (...) {  // no memory for the task: resume from here after all
      }
    }
    tbb::task::resume(sp);
  }
  tbb::task::suspend_point sp_ = nullptr;

 private:
  thread_pool::impl* const pool_;
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

// Deeper than this, arrivals are put off (see arrive_or_defer()): a few
// hundred bytes of stack per level.
constexpr unsigned max_nested_arrivals = 32;

}  // namespace

void arrive_or_defer(deferred_arrival& a) noexcept {
  thread_context* ctx = this_thread_context();
  if (ctx->arrival_depth >= max_nested_arrivals) {
    a.next_ = nullptr;
    if (ctx->deferred_tail != nullptr) {
      ctx->deferred_tail->next_ = &a;
    } else {
      ctx->deferred_head = &a;
    }
    ctx->deferred_tail = &a;
    return;
  }
  ++ctx->arrival_depth;
  a.arrive();
  // Looked up again: the arrival may have run a task that waited in get()
  // and resumed on another worker, where wait() restored this stack's
  // context.
  ctx = this_thread_context();
  if (--ctx->arrival_depth == 0) run_deferred_arrivals();
}

bool arrival_must_wait() noexcept { return this_thread_context()->arrival_depth >= max_nested_arrivals; }

void run_deferred_arrivals() noexcept {
  for (;;) {
    thread_context* ctx = this_thread_context();
    deferred_arrival* a = ctx->deferred_head;
    if (a == nullptr) return;
    ctx->deferred_head = a->next_;
    if (ctx->deferred_head == nullptr) ctx->deferred_tail = nullptr;
    ++ctx->arrival_depth;
    a->arrive();  // may free `a`
    --this_thread_context()->arrival_depth;
  }
}

void enter_task(const void* task, const state_base* producer) noexcept {
  thread_context* ctx = this_thread_context();
  if (ctx->direct_task == task) ctx->direct_producer = producer;
  // From here the task's own code runs: nothing it submits is held, also
  // when it runs nested in the end of another task (an inline executor's
  // or a user's executor's task fired from there).
  ctx->at_end = false;
}

void state_base::fire_at_end() noexcept {
  thread_context* ctx = this_thread_context();
  const bool outer = ctx->at_end;
  // Only the end of the task the pool started: a weft task nested inside
  // user code (an inline executor inside a pool task) ends while that code
  // goes on.
  const bool direct = ctx->direct_producer == this;
  ctx->at_end = direct;
  callback_->fire(this);
  // Looked up again: the callback may have run a task that waited in get()
  // and resumed on another worker (see arrive_or_defer()).
  ctx = this_thread_context();
  ctx->at_end = outer;
  // A state completes once; another one allocated at its address later in
  // this task (by code in the completion) must not count as its end.
  if (direct) ctx->direct_producer = nullptr;
}

void state_base::wait() {
  if (ready()) return;
  // An arrival put off below this frame may be what completes this state;
  // nothing would run it while this stack blocks. Nor would anything run
  // a task this thread holds (a destructor run at a task's end may wait).
  run_deferred_arrivals();
  flush_held();
  if (ready()) return;
  thread_context* ctx = this_thread_context();
  if (ctx->pool == nullptr) {
    parking_waiter w;
    attach_waiter(&w);
    w.block();
    after_wait();
    return;
  }
  if (ctx->inline_depth < max_inline_depth && inline_claims() < max_inline_claims &&
      pool_accepts_inline(ctx->pool)) {
    // The awaited task may still sit unstarted in this pool: run it here.
    // It is a fresh task of the pool (no inline executor loop of ours open
    // for it), and it may suspend and come back on another worker, so the
    // context is restored on whichever thread this returns on.
    const thread_context saved = *ctx;
    ctx->trampoline = nullptr;
    ++ctx->inline_depth;
    // The task starts its own count of nested arrivals, so the arrivals it
    // puts off run before it returns (the list is empty here: see above).
    ctx->arrival_depth = 0;
    const bool ran = try_run_inline(saved.pool);
    *this_thread_context() = saved;
    if (ran) ++inline_claims();
    // Ready also when the queued task won the claim and has finished since;
    // not yet when the task returned a future it now forwards from.
    if (ready()) return;
    ctx = this_thread_context();
  }
  // While this task waits, its worker runs other tasks: they must not see
  // this task's context (its pool, or an inline executor loop it has open,
  // which resumes only after the wait).
  const thread_context saved = *ctx;
  *ctx = thread_context();
  // The inbox drainer running this task must not hold the pool's outside
  // submissions back while it waits: they may be what it waits for.
  if (saved.duty != nullptr) resign_inbox_duty(saved.duty);
  // Relaxed: a plain budget; nothing is published through it.
  if (suspended_now.fetch_add(1, std::memory_order_relaxed) < max_suspended) {
    resuming_waiter w(saved.pool);
    tbb::task::suspend([this, &w, &saved](tbb::task::suspend_point sp) {
      w.sp_ = sp;
      // An outcome already in fires the waiter right here, on this thread,
      // which is still in the pool's arena: let it resume directly.
      this_thread_context()->pool = saved.pool;
      attach_waiter(&w);
      this_thread_context()->pool = nullptr;
    });
    suspended_now.fetch_sub(1, std::memory_order_relaxed);
  } else {
    suspended_now.fetch_sub(1, std::memory_order_relaxed);
    ctx->pool = saved.pool;  // helped tasks set and restore it themselves
    // Helped tasks run nested on this stack: inline runs inside them count
    // against the same depth.
    ctx->inline_depth = saved.inline_depth;
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
    tsan_acquire(&w);
  }
  // A resumed task may be on another worker: restore the context there.
  *this_thread_context() = saved;
  after_wait();
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  run_deferred_arrivals();  // as in wait()
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
