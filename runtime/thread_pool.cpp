// thread_pool over a tbb::task_arena.
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
#include "weft/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/spin_mutex.h>
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "executor_registry.hpp"
#include "sanitizers.hpp"
#include "thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
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

std::atomic<unsigned> worker_names{0};

// Set while a thread that is not a oneTBB worker runs tasks inside an arena
// (the drain in shutdown() joins the arena); such a thread keeps its name.
__attribute__((tls_model("initial-exec"))) thread_local bool joined_from_outside = false;

// Names a oneTBB worker "weft-N" the first time it runs a weft task. (A
// task_scheduler_observer would do it on arena entry, but its registration
// is memory oneTBB frees on a worker, a hand-off TSan reports and weft
// cannot annotate.)
void name_worker_once() {
  static __attribute__((tls_model("initial-exec"))) thread_local bool named = false;
  if (named || joined_from_outside) return;
  named = true;
  const std::string name = "weft-" + std::to_string(worker_names.fetch_add(1, std::memory_order_relaxed));
  pthread_setname_np(pthread_self(), name.c_str());
}

// What each arena slot (and slot 0, every thread outside the pool) owns:
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

}  // namespace

namespace detail {

// The drainer an inbox task runs in, on the drainer's stack; reached
// through thread_context::duty by a task that blocks.
struct inbox_duty {
  thread_pool::impl* pool;
  bool resigned = false;  // only the stack that owns it reads or writes it
};

}  // namespace detail

struct thread_pool::impl {
  explicit impl(std::size_t n)
      : threads(n),
        arena(static_cast<int>(n), 0),
        slots(new slot[n + 1]) {
    budget().reserve(n);
    arena.initialize();
  }

  ~impl() { budget().unreserve(threads); }

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
    impl* pool;
    mutable unique_task task;

    task_body(impl* p, unique_task t) noexcept : pool(p), task(std::move(t)) {}
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
    detail::thread_context* ctx = detail::this_thread_context();
    impl* const outer = ctx->pool;
    const void* const outer_task = ctx->direct_task;
    const void* const outer_producer = ctx->direct_producer;
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
    ctx = detail::this_thread_context();
    ctx->pool = outer;
    ctx->direct_task = outer_task;
    ctx->direct_producer = outer_producer;
    // Release: what this task submitted is counted before its completion
    // is; quiescent() relies on it.
    bump(my_slot(), &slot::completed, std::memory_order_release);
    detail::tsan_release(this);  // the last touch of the pool by this task; see shutdown()
  }

  // Runs what the task that just returned on this thread held, and what
  // that holds in turn: a chain of continuations runs as a loop on one
  // worker, with no trip through the deque per link. After max_held_run in
  // a row the next goes through the deque again, so oneTBB's dispatch loop
  // gets its turn. Looked up on every round: a held task may block in get()
  // and come back on another worker.
  static constexpr int max_held_run = 256;

  void run_held() noexcept {
    for (int ran = 1;; ++ran) {
      detail::held_task& h = detail::this_thread_held();
      if (!h.task) return;
      unique_task task = std::move(h.task);  // leaves the slot empty
      h.pool->run(task, ran < max_held_run ? started_by::hold : started_by::last_hold);
    }
  }

  bool is_own_worker() const noexcept { return detail::this_thread_context()->pool == this; }

  void execute(unique_task task) {
    if (!task) throw std::invalid_argument("weft::thread_pool::execute: the task argument is empty");
    const detail::thread_context* ctx = detail::this_thread_context();
    if (ctx->pool == this) {
      // During a drain, tasks of the pool still run and may continue: accept.
      if (closed.load(std::memory_order_acquire)) refuse(task);
      slot& mine = my_slot();
      if (ctx->at_end) {
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
  // own pool only (at_end implies pool == this on this stack).
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
  bool kick_drainer() noexcept {
    try {
      tbb::task_handle handle = slots[0].group.defer(task_body(this, unique_task()));
      arena.enqueue(std::move(handle));
      return true;
    } catch (...) {
      std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
      --inbox.drainers;
      return false;
    }
  }

  // The body of a drainer: runs inbox tasks one at a time, and calls in one
  // more drainer when tasks are left and every drainer is busy (see
  // wants_drainer()), so the inbox keeps up to size() workers busy without
  // a oneTBB task per submission.
  // After max_drain_run tasks it hands its turn to a fresh drainer at the
  // back of the arena's queue, so the tasks the inbox's tasks spawn into
  // this worker's deque, and the arena's other enqueued work, get a turn.
  static constexpr int max_drain_run = 64;

  void drain_inbox() noexcept {
    detail::inbox_duty duty{this};
    detail::thread_context* ctx = detail::this_thread_context();
    detail::inbox_duty* const outer_duty = ctx->duty;
    ctx->duty = &duty;
    // Run by a worker helping in a blocked get() (ctx->pool is set there):
    // one task, no lingering, so the waiter underneath gets back to its own
    // task as soon as its outcome is in.
    const bool nested = ctx->pool != nullptr;
    const int run_limit = nested ? 1 : max_drain_run;
    // Started from the dispatch loop; see run().
    if (!nested) detail::inline_claims() = 0;
    bool lingered = false;
    bool busy = false;
    for (int ran = 0;;) {
      unique_task task;
      bool kick = false;
      bool hand_off = false;
      {
        std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
        if (busy) --inbox.busy;
        busy = false;
        if (inbox.tasks.empty()) {
          if (lingered) {
            --inbox.drainers;
            break;
          }
        } else if (ran == run_limit) {
          kick = hand_off = true;  // this drainer's count passes to the new one
        } else {
          task = std::move(inbox.tasks.front());
          inbox.tasks.pop_front();
          inbox.size.store(inbox.tasks.size(), std::memory_order_relaxed);
          ++inbox.busy;
          busy = true;
          if (!inbox.tasks.empty() && wants_drainer()) {
            ++inbox.drainers;
            kick = true;
          }
        }
      }
      if (kick && !kick_drainer() && hand_off) {
        // No memory for the successor: keep this drainer's turn instead.
        std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
        ++inbox.drainers;
        ran = 0;
        continue;
      }
      if (!task) {
        if (hand_off) break;
        if (nested) {
          lingered = true;
          continue;
        }
        // Empty: wait a moment for the next submission before leaving. A
        // drainer that leaves is replaced at the next submission, which
        // costs that submitter a oneTBB enqueue (~1 us), several times a
        // post; a steady stream that the workers outpace would pay it
        // again and again.
        linger();
        lingered = true;
        continue;
      }
      lingered = false;
      ++ran;
      run(task, started_by::drainer);
      // A task that blocked resigned this drainer (resign_inbox_duty), and
      // another took over; this one may be on another worker by now.
      if (duty.resigned) break;
    }
    detail::this_thread_context()->duty = outer_duty;
    detail::tsan_release(this);  // its last touch of the pool; see shutdown()
  }

  // Spins, then yields, for a few microseconds until the inbox holds a
  // task. Relaxed: a hint only; the caller looks again under the lock.
  void linger() const noexcept {
    for (int i = 0; i < 64; ++i) {
      if (inbox.size.load(std::memory_order_relaxed) != 0) return;
      if (i < 32) {
        for (int k = 0; k < 16; ++k) detail::cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }

  void resign(detail::inbox_duty& duty) noexcept {
    if (duty.resigned) return;
    duty.resigned = true;
    bool kick = false;
    {
      std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
      --inbox.busy;  // its task blocks; it is no longer a drainer either
      if (inbox.tasks.empty()) {
        --inbox.drainers;
      } else {
        kick = true;  // the count passes to the new drainer
      }
    }
    if (kick) kick_drainer();
  }

  // Runs the inbox here when no drainer will: only after kick_drainer() ran
  // out of memory. Called by a drain, inside the arena.
  void run_stranded_inbox() noexcept {
    {
      std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
      if (inbox.tasks.empty() || inbox.drainers != 0) return;
      ++inbox.drainers;
    }
    drain_inbox();
  }

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

  void shutdown(shutdown_mode mode) {
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
    joined_from_outside = true;  // tasks this thread runs in there must not rename it
    arena.execute(drain);
    joined_from_outside = false;
    detail::tsan_acquire(this);
    closed.store(true, std::memory_order_release);
  }

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
  // The thread_pool this is the impl of, for local_pool_of(); cleared when a
  // pool destroyed from its own worker leaves its impl draining alone.
  // Relaxed: it is an identity to compare, nothing is read through it.
  std::atomic<const executor*> owner{nullptr};
  // The facade's registration (executor_registry.hpp): a worker submitting
  // through a future bound to this pool comes straight here. Written before
  // any worker runs a task, never changed.
  std::uint64_t registration = 0;
  // Destroyed with the impl, after the last task of the pool has run.
  service_registry services;
  std::atomic<bool> closed{false};  // drained: even own workers are refused
  std::mutex drain_mutex;
  std::once_flag shutdown_error_once;
  std::exception_ptr shutdown_error_ptr;
};

thread_pool::thread_pool() : impl_(std::make_shared<impl>(std::max(1u, std::thread::hardware_concurrency()))) {
  impl_->owner.store(this, std::memory_order_relaxed);
  impl_->registration = detail::executor_registry::registration_of(*this);
}

thread_pool::thread_pool(std::size_t threads) {
  if (threads == 0 || threads > 4096) {
    throw std::invalid_argument("weft::thread_pool: the threads argument (" + std::to_string(threads) +
                                ") must be between 1 and 4096");
  }
  impl_ = std::make_shared<impl>(threads);
  impl_->owner.store(this, std::memory_order_relaxed);
  impl_->registration = detail::executor_registry::registration_of(*this);
}

thread_pool::~thread_pool() {
  // First: from now on a continuation bound to this pool that arrives from
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
    std::shared_ptr<impl> keep = std::move(impl_);
    std::thread([keep]() mutable {
      keep->shutdown(shutdown_mode::drain);
      keep.reset();
    }).detach();
    return;
  }
  impl_->shutdown(shutdown_mode::drain);
}

void thread_pool::execute(unique_task task) { impl_->execute(std::move(task)); }

void thread_pool::shutdown(shutdown_mode mode) { impl_->shutdown(mode); }

bool thread_pool::is_shutdown() const noexcept {
  return impl_->shut.load(std::memory_order_acquire);
}

std::size_t thread_pool::size() const noexcept { return impl_->threads; }

pool_stats thread_pool::stats() const noexcept { return impl_->stats(); }

bool thread_pool::running_in_this_thread() const noexcept { return impl_->is_own_worker(); }

service_registry& thread_pool::services() noexcept { return impl_->services; }

namespace detail {

bool execute_on_own_pool(std::uint64_t registration, unique_task& task) {
  thread_pool::impl* pool = this_thread_context()->pool;
  if (pool == nullptr || pool->registration != registration) return false;
  pool->execute(std::move(task));
  return true;
}

const void* local_pool_of(const executor& ex) noexcept {
  thread_pool::impl* pool = this_thread_context()->pool;
  return pool != nullptr && pool->owner.load(std::memory_order_relaxed) == &ex ? pool : nullptr;
}

void resume_in_arena(thread_pool::impl* pool, void* suspend_point) {
  auto* sp = static_cast<tbb::task::suspend_point>(suspend_point);
  // Counted before the push and uncounted after oneTBB's enqueue returns
  // (its last touch of the arena). Relaxed increment: it happens-before
  // the resumed task's completion (through the push and the worker taking
  // the task), which happens-before the drain's quiescent() read, so the
  // drain's later load sees it or the decrement. The decrement's release
  // pairs with the drain's acquire.
  pool->resumes_in_flight.fetch_add(1, std::memory_order_relaxed);
  struct uncount {
    thread_pool::impl* pool;
    ~uncount() { pool->resumes_in_flight.fetch_sub(1, std::memory_order_release); }
  } guard{pool};
  pool->arena.enqueue([sp] { tbb::task::resume(sp); });
}

bool pool_accepts_inline(const thread_pool::impl* pool) noexcept {
  return pool != nullptr && !pool->cancelling.load(std::memory_order_acquire);
}

void resign_inbox_duty(inbox_duty* duty) noexcept { duty->pool->resign(*duty); }

void flush_held() noexcept {
  held_task& h = this_thread_held();
  if (!h.task) return;
  // Still on the worker that held it, inside the task that held it: the
  // task counts as submitted from its slot already.
  unique_task task = std::move(h.task);
  thread_pool::impl* pool = h.pool;
  slot& mine = pool->my_slot();
  try {
    pool->spawn(mine, task);
  } catch (...) {
    // No memory for a deque entry: run it here instead of dropping it. It
    // is a task of this pool on this pool's worker, nested in the task
    // that is about to block.
    if (task) pool->run(task, thread_pool::impl::started_by::drainer);
  }
}

}  // namespace detail

thread_pool& default_pool() {
  static thread_pool* pool = [] {
    auto* p = new thread_pool();  // never destroyed; see header
    detail::executor_registry::mark_immortal(*p);
    return p;
  }();
  return *pool;
}

}  // namespace v1
}  // namespace weft
