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
};

thread_context* this_thread_context() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_THREAD_CONTEXT_HPP
