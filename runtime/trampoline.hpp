// The per-stack trampoline (trampoline.cpp): what inline_executor() and
// bounded arrivals put off on the calling stack, run as a loop.
#ifndef WEFT_RUNTIME_TRAMPOLINE_HPP
#define WEFT_RUNTIME_TRAMPOLINE_HPP

#include <cstddef>
#include <vector>

#include "thread_context.hpp"
#include "weft/detail/shared_state.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// The open drain loop of one stack (thread_context::trampoline), on the
/// stack of the outermost trampolined entry. Tasks sit in a vector and a
/// read index, not a deque: most frames never queue a task (a forwarded
/// future runs at once), and a deque allocates when built. Arrivals are
/// intrusive, so putting one off never allocates.
struct trampoline_frame {
  unsigned depth = 0;  // trampolined entries running nested in this frame
  unsigned arrivals = 0;  // of which arrivals
  std::vector<unique_task> tasks;  // queued inline-executor tasks
  std::size_t next = 0;            // the first of them not yet run
  deferred_arrival* arrivals_head = nullptr;  // put-off arrivals, in order
  deferred_arrival* arrivals_tail = nullptr;
};

/// inline_executor()'s execute: runs `task` now with a frame opened for it
/// and drains what it queued, or, inside an open frame, queues it. The
/// task's exceptions go to report_unhandled_error(). Throws only
/// std::bad_alloc (queueing), with `task` left intact.
void run_trampolined(unique_task& task);

/// Runs what the calling stack's frame has queued, and what that queues in
/// turn, until nothing is left. Called by a wait() before it blocks. Never
/// throws.
void drain_trampoline() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_TRAMPOLINE_HPP
