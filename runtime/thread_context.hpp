// Per-thread facts the runtime needs: which pool's task this thread is
// running, and the inline executor's trampoline frame.
//
// Why the accessors are out of line: a task suspended in get() (oneTBB
// resumable tasks) may resume on another worker. A compiler may cache the
// address of a thread_local across a call; reading it through a
// non-inlined function each time always yields the current thread's copy.
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
};

thread_context* this_thread_context() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_THREAD_CONTEXT_HPP
