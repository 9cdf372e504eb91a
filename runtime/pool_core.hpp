// The compute pool's core (what thread_pool's facade holds): a oneTBB
// task_arena, a task_group per arena slot, the inbox for submissions from
// outside, held continuations, and what a worker does when a task blocks.
// Private to the runtime; only the pool's own files include it:
//
//   pool_core.hpp    the class: submit (execute), run a task, hold the
//                    next one, spawn into a worker's deque (inline: the
//                    hot path)
//   inbox.cpp        outside submissions: drainers, lingering, resigning
//   pool_wait.cpp    a blocked task: inline claim, suspend, help
//   thread_pool.cpp  the facade, construction, shutdown and drain
//
// A task submitted from a worker of the pool is spawned with group.run()
// into that worker's local deque; it belongs to the tbb::task_group of the
// worker's arena slot. A task submitted from any other thread goes to the
// pool's inbox, a FIFO queue under a spin lock, and drainer tasks (enqueued to
// the arena, in the group of slot 0) run what it holds. A drain waits for
// every group until the counters show no task in flight.
//
// Why an inbox and not one arena.enqueue per task: oneTBB's enqueue costs a
// task allocation and a push onto its shared FIFO lanes per task, and idle
// workers spin on those lanes, taking CPU from the submitter; a post from
// outside cost ~1 us, three times an ad-hoc mutex+condvar pool. Through the
// inbox a post is a lock, a push and an unlock, and oneTBB sees one drainer
// per busy worker, not one task per post. A spin lock (oneTBB's, which
// yields after a short spin), not a std::mutex: the critical sections are a
// few instructions, and a contended std::mutex put submitter and drainers to
// sleep in the kernel (~390 ns per post against ~150 with the spin lock).
#ifndef WEFT_RUNTIME_POOL_CORE_HPP
#define WEFT_RUNTIME_POOL_CORE_HPP

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include <oneapi/tbb/spin_mutex.h>
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "budgets.hpp"
#include "sanitizers.hpp"
#include "thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/service.hpp"
#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

// oneTBB's global market caps how many workers all arenas share; a pool of
// N must really get N. (thread_pool.cpp)
void reserve_concurrency(std::size_t n);
void unreserve_concurrency(std::size_t n) noexcept;

// Set while a thread that is not a oneTBB worker runs tasks inside an arena
// (the drain in shutdown() joins the arena); such a thread keeps its name.
inline bool& joined_from_outside() noexcept {
  static __attribute__((tls_model("initial-exec"))) thread_local bool joined = false;
  return joined;
}

// Names a oneTBB worker "weft-N" the first time it runs a weft task. (A
// task_scheduler_observer would do it on arena entry, but its registration
// is memory oneTBB frees on a worker, a hand-off TSan reports and weft
// cannot annotate.)
inline void name_worker_once() {
  static __attribute__((tls_model("initial-exec"))) thread_local bool named = false;
  if (named || joined_from_outside()) return;
  named = true;
  static std::atomic<unsigned> worker_names{0};
  const std::string name = "weft-" + std::to_string(worker_names.fetch_add(1, std::memory_order_relaxed));
  pthread_setname_np(pthread_self(), name.c_str());
}

// its counters and the task_group its submissions belong to, padded so
// workers do not fight over one cache line (padding, not alignas: C++14's
// operator new ignores over-alignment).
//
// A group per slot, not one for the pool: a group counts its tasks in one
// word, which the submitter increments and whoever runs the task
// decrements. One shared word was a cache line every worker wrote for
// every task, a third of the time of fine-grained work; per slot, the word
// is touched by another thread only when a task is stolen.
struct slot {
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> completed{0};
  // Isolated: nothing cancels a pool's tasks through oneTBB, and a bound
  // context would chain itself to whichever task first used it.
  tbb::task_group_context context{tbb::task_group_context::isolated};
  tbb::task_group group{context};
  char padding[64];
};

class pool_core;

// The drainer an inbox task runs in, on the drainer's stack; reached
// through thread_context::duty by a task that blocks.
struct inbox_duty {
  pool_core* pool;
  bool resigned = false;  // only the stack that owns it reads or writes it
};

class pool_core final : public worker {
 public:
  explicit pool_core(std::size_t n)
      : threads(n),
        arena(static_cast<int>(n), 0),
        slots(new slot[n + 1]) {
    reserve_concurrency(n);
    arena.initialize();
  }

  ~pool_core() { unreserve_concurrency(threads); }

#ifdef WEFT_TSAN
  // TSan does not see oneTBB's synchronisation (its fences are not
  // modelled, and the library is not instrumented). Two hand-offs matter:
  // a body moved into a TBB task and run by a worker (release at the end of
  // the last move, acquire when it runs), and TBB's small-object pool
  // handing a freed task's memory to a new task on another thread (release
  // when a body dies, acquire when one is born at that address). Every body
  // reaches TBB as the same task type (always through defer), so a body
  // always sits at the same offset of a recycled block.
  struct tsan_handoff {
    tsan_handoff() noexcept { detail::tsan_acquire(this); }
    tsan_handoff(const tsan_handoff&) noexcept { detail::tsan_acquire(this); }
    ~tsan_handoff() { detail::tsan_release(this); }
    void publish() noexcept { detail::tsan_release(this); }
    void receive() noexcept { detail::tsan_acquire(this); }
  };
#else
  struct tsan_handoff {
    void publish() noexcept {}
    void receive() noexcept {}
  };
#endif

  // Runs on a worker: the body of every task of this pool.
  struct task_body : tsan_handoff {
    pool_core* pool;
    mutable unique_task task;

    task_body(pool_core* p, unique_task t) noexcept : pool(p), task(std::move(t)) {}
    task_body(task_body&& o) noexcept : tsan_handoff(), pool(o.pool), task(std::move(o.task)) { publish(); }
    task_body(const task_body&) = delete;
    task_body& operator=(const task_body&) = delete;

    // An empty task marks a drainer of the inbox (execute() refuses empty
    // tasks, so no submitted task is empty); one task type keeps the TSan
    // hand-off above at one offset.
    void operator()() const {
      const_cast<task_body*>(this)->receive();
      if (task) {
        pool->run(task, started_by::dispatch_loop);
        pool->run_held();
      } else {
        pool->drain_inbox();
      }
    }
  };

  slot& my_slot() noexcept {
    const int idx = tbb::this_task_arena::current_thread_index();
    const std::size_t i = idx >= 0 && static_cast<std::size_t>(idx) < threads ? static_cast<std::size_t>(idx) + 1 : 0;
    return slots[i];
  }

  // Adds `delta` (one, or minus one to take back a count whose task never
  // reached oneTBB) to a counter of `s`. A worker's slot has one writer at a
  // time (oneTBB gives each thread in an arena a slot of its own, and hands
  // a slot to the next thread with synchronisation of its own), so a load
  // and a store do, without the full fence of a locked add: with three
  // counters and the group's own count, those fences were most of the cost
  // of a small task. Slot 0 is shared by every thread outside the pool and
  // needs the read-modify-write.
  void bump(slot& s, std::atomic<std::uint64_t> slot::*counter, std::memory_order order,
            std::uint64_t delta = 1) noexcept {
    std::atomic<std::uint64_t>& c = s.*counter;
    if (&s == &slots[0]) {
      c.fetch_add(delta, order);
    } else {
      c.store(c.load(std::memory_order_relaxed) + delta, order);
    }
  }

  enum class started_by {
    dispatch_loop,  // oneTBB's dispatch loop (or a helping wait) popped it
    hold,  // the task before it on this worker held it (see hold())
    last_hold,  // the same, as the last of a run of max_held_run
    drainer,  // an inbox drainer, which runs one inbox task after another
  };

  void run(unique_task& task, started_by by) noexcept {
    name_worker_once();
    // Relaxed: `started` is a statistic only. (`submitted` and `completed`
    // also end a drain; see quiescent().)
    bump(my_slot(), &slot::started, std::memory_order_relaxed);
    {
      const context_scope<worker*, const void*, const void*> scope(&thread_context::pool, &thread_context::direct_task,
                                                                   &thread_context::direct_producer);
      thread_context* ctx = scope.context();
      worker* const outer = scope.saved<0>();
      ctx->pool = this;
      // Only a task that returns to the dispatch loop (through run_held())
      // may hold the next: a nested one returns to its waiter's code.
      const bool may_hold = outer == nullptr && (by == started_by::dispatch_loop || by == started_by::hold);
      ctx->direct_task = may_hold ? detail::unique_task_access::target(task) : nullptr;
      ctx->direct_producer = nullptr;
      // Started from the dispatch loop, which has popped every entry above
      // this one, the finished ones of inline runs included.
      if (by == started_by::dispatch_loop && outer == nullptr) detail::inline_claims() = 0;
      if (cancelling.load(std::memory_order_acquire)) {
        task.abandon(shutdown_error());
      } else {
        try {
          task();
        } catch (...) {
          report_unhandled_error(std::current_exception());
        }
      }
    }  // the context is restored, on whichever worker the task ended
    // Release: what this task submitted is counted before its completion
    // is; quiescent() relies on it.
    bump(my_slot(), &slot::completed, std::memory_order_release);
    detail::tsan_release(this);  // the last touch of the pool by this task; see shutdown()
  }

  // Runs what the task that just returned on this thread held, and what
  // that holds in turn: a chain of continuations runs as a loop on one
  // worker, with no trip through the deque per link. After max_held_run in
  // a row (budgets.hpp) the next goes through the deque again, so oneTBB's
  // dispatch loop gets its turn. Looked up on every round: a held task may
  // block in get() and come back on another worker.

  void run_held() noexcept {
    for (int ran = 1;; ++ran) {
      detail::held_task& h = detail::this_thread_held();
      if (!h.task) return;
      unique_task task = std::move(h.task);  // leaves the slot empty
      h.pool->run(task, ran < detail::max_held_run ? started_by::hold : started_by::last_hold);
    }
  }

  bool is_own_worker() const noexcept { return detail::this_thread_context()->pool == this; }

  // A task of this pool blocks on `s` (worker::wait; runtime/pool_wait.cpp):
  // runs the awaited task inline if it is queued unstarted in this pool,
  // else suspends the task, else (past max_suspended) helps.
  void wait(state_base& s) override;

  // False once cancelling: unstarted tasks are to be dropped, not run
  // inline by a waiter.
  bool accepts_inline() const noexcept { return !cancelling.load(std::memory_order_acquire); }

  // Enqueues into the arena a task that resumes `sp` (a
  // tbb::task::suspend_point), for a resume from outside the pool.
  // Throws std::bad_alloc. (runtime/pool_wait.cpp)
  void resume_in_arena(void* suspend_point);

  // execute() (defer false) and defer() (true) of the facade. A deferred
  // task from one of this pool's workers is held (see hold()): weft defers
  // only from the completion of the task the pool started on this worker.
  void submit(unique_task& task, bool defer) {
    if (!task) throw std::invalid_argument("weft::thread_pool::execute: the task argument is empty");
    const detail::thread_context* ctx = detail::this_thread_context();
    if (ctx->pool == this) {
      // During a drain, tasks of the pool still run and may continue: accept.
      if (closed.load(std::memory_order_acquire)) refuse(task);
      slot& mine = my_slot();
      // Only at the end of a task that returns to the dispatch loop (run()
      // set direct_task; fire_task_end() set deferring): a nested one
      // returns to its waiter's code, and user code goes on after its
      // call, so a task held there could wait indefinitely.
      if (defer && ctx->deferring && ctx->direct_task != nullptr) {
        hold(mine, task);
        if (!task) return;
      } else {
        bump(mine, &slot::submitted, std::memory_order_relaxed);
      }
      spawn(mine, task);
      return;
    }
    bool kick = false;
    {
      std::unique_lock<tbb::spin_mutex> lock(inbox.mutex);
      if (inbox.closed) {
        lock.unlock();
        refuse(task);
      }
      inbox.tasks.push_back(std::move(task));  // strong guarantee: on bad_alloc the task stays ours
      inbox.size.store(inbox.tasks.size(), std::memory_order_relaxed);
      // Written only here, under the inbox lock, so a load and a store do.
      // Relaxed: a drain reads it after closing the inbox under this lock.
      inbox.submitted.store(inbox.submitted.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (wants_drainer()) {
        ++inbox.drainers;
        ++inbox.kicks_in_flight;
        kick = true;
      }
    }
    if (kick) {
      kick_drainer();
      std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
      --inbox.kicks_in_flight;
    }
  }

  // The task running on this worker is ending (weft completes its outcome)
  // and `task` is one of its continuations: this worker runs it next (see
  // run_held()). A second one in the same completion (an outcome with
  // several continuations) takes the held place and the first goes to the
  // deque (left in `task`): the newest runs first, as from the deque. The
  // held task counts as submitted from now on. Each thread holds for its
  // own pool only.
  void hold(slot& mine, unique_task& task) noexcept {
    bump(mine, &slot::submitted, std::memory_order_relaxed);
    detail::held_task& h = detail::this_thread_held();
    h.pool = this;
    std::swap(h.task, task);
  }

  // Puts `task`, already counted in mine.submitted, into this worker's
  // deque. If oneTBB has no memory for it, the count is taken back (a count
  // without a task would keep a drain waiting forever), `task` is left as
  // it was, and bad_alloc is thrown.
  void spawn(slot& mine, unique_task& task) {
    task_body body(this, std::move(task));
    try {
      // defer() allocates before it moves the body in, so a failed
      // allocation leaves the task in `body`.
      mine.group.run(mine.group.defer(std::move(body)));
    } catch (...) {
      bump(mine, &slot::submitted, std::memory_order_relaxed, ~std::uint64_t{0});  // minus one
      task = std::move(body.task);
      throw;
    }
  }

  // Another drainer is called in when every one is busy with a task, up to
  // one per worker: a task that blocks its worker (a lock, a sleep) must not
  // hold back the tasks queued behind it while other workers idle, but a
  // drainer between tasks will take the next one, and more drainers than
  // that only fight the submitter for the lock and the CPU. Under the lock.
  bool wants_drainer() const noexcept { return inbox.drainers == inbox.busy && inbox.drainers < threads; }

  // Enqueues a drainer that counts in inbox.drainers already. Without memory
  // for it the count is taken back and it returns false; the tasks it was
  // for wait for the next kick, or for a drain, which runs stranded tasks
  // itself between its passes (run_stranded_inbox()).
  bool kick_drainer() noexcept;

  // The body of a drainer: runs inbox tasks one at a time, and calls in one
  // more drainer when tasks are left and every drainer is busy (see
  // wants_drainer()), so the inbox keeps up to size() workers busy without
  // a oneTBB task per submission.
  // After max_drain_run tasks (budgets.hpp) it hands its turn to a fresh
  // drainer at the back of the arena's queue.

  void drain_inbox() noexcept;

  // Spins, then yields, for a few microseconds until the inbox holds a
  // task. Relaxed: a hint only; the caller looks again under the lock.
  void linger() const noexcept;

  void resign(inbox_duty& duty) noexcept;

  // Runs the inbox here when no drainer will: only after kick_drainer() ran
  // out of memory. Called by a drain, inside the arena.
  void run_stranded_inbox() noexcept;

  [[noreturn]] void refuse(unique_task& task) {
    task.abandon(shutdown_error());
    throw executor_shutdown();
  }

  std::exception_ptr shutdown_error() {
    std::call_once(shutdown_error_once, [this] {
      shutdown_error_ptr = std::make_exception_ptr(executor_shutdown("weft: thread_pool shut down before the task ran"));
    });
    return shutdown_error_ptr;
  }

  void shutdown(shutdown_mode mode);

  void wait_all_groups() {
    for (std::size_t i = 0; i <= threads; ++i) slots[i].group.wait();
  }

  // True when every task submitted so far has completed; called once no
  // thread outside the pool can submit. Completions are read before
  // submissions: a completion counted here was released after everything
  // its task submitted was counted, so those submissions are counted too,
  // and the sums are equal only if no task is in flight.
  bool quiescent() const noexcept {
    std::uint64_t completed = 0;
    for (std::size_t i = 0; i <= threads; ++i) completed += slots[i].completed.load(std::memory_order_acquire);
    std::uint64_t submitted = inbox.submitted.load(std::memory_order_acquire);
    for (std::size_t i = 0; i <= threads; ++i) submitted += slots[i].submitted.load(std::memory_order_acquire);
    return completed == submitted;
  }

  pool_stats stats() const noexcept {
    pool_stats s;
    s.submitted = inbox.submitted.load(std::memory_order_relaxed);
    std::uint64_t started = 0;
    for (std::size_t i = 0; i <= threads; ++i) {
      const slot& c = slots[i];
      s.submitted += c.submitted.load(std::memory_order_relaxed);
      started += c.started.load(std::memory_order_relaxed);
      s.completed += c.completed.load(std::memory_order_relaxed);
    }
    s.queued = s.submitted > started ? s.submitted - started : 0;
    s.busy = started > s.completed ? started - s.completed : 0;
    return s;
  }

  const std::size_t threads;
  tbb::task_arena arena;
  std::unique_ptr<slot[]> slots;
  // Tasks submitted from outside the pool, first in, first out.
  struct {
    tbb::spin_mutex mutex;
    std::deque<unique_task> tasks;
    std::atomic<std::size_t> size{0};  // tasks.size(), for linger() to read without the lock
    std::size_t drainers = 0;  // drainers enqueued or running, not resigned
    std::size_t busy = 0;      // of those, the ones running a task
    std::size_t kicks_in_flight = 0;  // outside submitters inside kick_drainer()
    bool closed = false;  // shut down: outside submissions are refused
    // Tasks ever pushed; a counter of its own, not slot 0's `submitted`,
    // which threads outside the arena's slots bump without this lock.
    std::atomic<std::uint64_t> submitted{0};
  } inbox;
  std::atomic<bool> shut{false};
  std::atomic<bool> cancelling{false};
  // Resumes being enqueued from outside the pool (resume_in_arena).
  std::atomic<std::uint32_t> resumes_in_flight{0};
  // The thread_pool facade this is the core of, for local_pool_of(); cleared
  // when a pool destroyed from its own worker leaves its core draining alone.
  // Relaxed: it is an identity to compare, nothing is read through it.
  std::atomic<const executor*> owner{nullptr};
  // The facade's registration (executor_registry.hpp): a worker submitting
  // through a future bound to this pool comes straight here. Written before
  // any worker runs a task, never changed.
  std::uint64_t registration = 0;
  // Destroyed with the core, after the last task of the pool has run.
  service_registry services;
  std::atomic<bool> closed{false};  // drained: even own workers are refused
  std::mutex drain_mutex;
  std::once_flag shutdown_error_once;
  std::exception_ptr shutdown_error_ptr;
};

// The pool whose task runs on the calling thread, if any. pool_core is the
// only worker weft has, so the context's worker is one.
inline pool_core* current_pool() noexcept { return static_cast<pool_core*>(this_thread_context()->pool); }

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_POOL_CORE_HPP
