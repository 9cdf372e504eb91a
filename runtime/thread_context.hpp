// Per-thread facts the runtime needs: which pool's task this thread is
// running, and the inline executor's trampoline frame.
// One out-of-line accessor keeps the thread_local in a single translation
// unit of the library.
#ifndef WEFT_RUNTIME_THREAD_CONTEXT_HPP
#define WEFT_RUNTIME_THREAD_CONTEXT_HPP

#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

struct inline_frame;

struct thread_context {
  thread_pool::impl* pool = nullptr;  // the pool whose task runs on this thread
  inline_frame* trampoline = nullptr;  // the inline executor's open drain loop
  int inline_depth = 0;  // awaited tasks run inline (get()) nested on this stack
};

thread_context* this_thread_context() noexcept;

/// Awaited tasks this thread ran inline since it last started a task from
/// its dispatch loop. Each leaves a finished entry in the worker's oneTBB
/// deque until the dispatch loop pops it, so wait() stops claiming past a
/// bound. Kept outside thread_context: it belongs to the thread, not to the
/// stack a suspended task carries between workers.
unsigned& inline_claims() noexcept;

/// False once `pool` is cancelling: its unstarted tasks are to be dropped,
/// not run inline by a waiter.
bool pool_accepts_inline(const thread_pool::impl* pool) noexcept;

/// Enqueues into `pool`'s arena a task that resumes `suspend_point` (a
/// tbb::task::suspend_point). Throws std::bad_alloc.
void resume_in_arena(thread_pool::impl* pool, void* suspend_point);

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_THREAD_CONTEXT_HPP
