// Per-thread facts the runtime needs: which pool's task this thread is
// running, the inline executor's trampoline frame, the task a worker holds
// to run next.
// One out-of-line accessor keeps the thread_local in a single translation
// unit of the library.
#ifndef WEFT_RUNTIME_THREAD_CONTEXT_HPP
#define WEFT_RUNTIME_THREAD_CONTEXT_HPP

#include "weft/thread_pool.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

struct inline_frame;
struct inbox_duty;
class deferred_arrival;

struct thread_context {
  thread_pool::impl* pool = nullptr;  // the pool whose task runs on this thread
  inline_frame* trampoline = nullptr;  // the inline executor's open drain loop
  int inline_depth = 0;  // awaited tasks run inline (get()) nested on this stack
  inbox_duty* duty = nullptr;  // the pool's inbox drainer this stack runs in, if any
  // Fan-in arrivals nested on this stack, and those put off (see
  // arrive_or_defer()): they belong to the stack, so a suspended task
  // carries them to the worker it resumes on.
  unsigned arrival_depth = 0;
  deferred_arrival* deferred_head = nullptr;
  deferred_arrival* deferred_tail = nullptr;
  // The task the pool's run() started on this stack (its callable's
  // address) if a continuation its end submits may be held for this
  // worker (see held_task): only a task that returns to the dispatch loop,
  // not one nested in a wait nor an inbox drainer's. Then the state that
  // task produces, once it has said so (enter_task()), and whether weft is
  // completing that state now (fire_at_end()): the one moment to hold.
  const void* direct_task = nullptr;
  const void* direct_producer = nullptr;
  bool at_end = false;
};

thread_context* this_thread_context() noexcept;

/// The task a worker runs as soon as its current task returns, without a
/// trip through oneTBB's deque: a continuation submitted to the worker's
/// own pool while weft completes the current task's outcome. It belongs to
/// the thread, like the deque, not to a stack: a task that blocks hands it
/// to the deque first (flush_held()).
struct held_task {
  thread_pool::impl* pool = nullptr;
  unique_task task;
};
held_task& this_thread_held() noexcept;

/// Moves a task this thread holds into its pool's deque (where other
/// workers can steal it), before the calling stack blocks. Never throws:
/// if the deque has no memory for it, the task runs here and now.
void flush_held() noexcept;

/// A spin-wait hint to the CPU (pause), so a spinning thread yields the
/// core's resources to its sibling hyperthread.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Awaited tasks this thread ran inline since it last started a task from
/// its dispatch loop. Each leaves a finished entry in the worker's oneTBB
/// deque until the dispatch loop pops it, so wait() stops claiming past a
/// bound. Kept outside thread_context: it belongs to the thread, not to the
/// stack a suspended task carries between workers.
unsigned& inline_claims() noexcept;

/// False once `pool` is cancelling: its unstarted tasks are to be dropped,
/// not run inline by a waiter.
bool pool_accepts_inline(const thread_pool::impl* pool) noexcept;

/// Called by a task about to block in get() (suspend or help) inside an
/// inbox drainer: the drainer stops counting as one once its current task
/// ends, and another takes over the pool's inbox if it holds tasks, so
/// tasks queued behind a blocked one still run. Idempotent. Never throws.
void resign_inbox_duty(inbox_duty* duty) noexcept;

/// Runs the arrivals put off on the calling stack (see arrive_or_defer()),
/// and those they put off in turn, until none is left. Never throws.
void run_deferred_arrivals() noexcept;

/// Enqueues into `pool`'s arena a task that resumes `suspend_point` (a
/// tbb::task::suspend_point). Throws std::bad_alloc.
void resume_in_arena(thread_pool::impl* pool, void* suspend_point);

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_THREAD_CONTEXT_HPP
