// inline_executor(): runs tasks on the calling thread, trampolined.
#include "weft/executor.hpp"

#include <cstddef>
#include <vector>
#include <exception>
#include <stdexcept>
#include <utility>

#include "budgets.hpp"
#include "executor_registry.hpp"
#include "thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {
// initial-exec: read through the thread pointer, not __tls_get_addr (the
// library is loaded with the program, not dlopen'ed).
__attribute__((tls_model("initial-exec"))) thread_local thread_context this_thread;
__attribute__((tls_model("initial-exec"))) thread_local unsigned this_thread_claims = 0;
__attribute__((tls_model("initial-exec"))) thread_local held_task this_thread_held_task;
}  // namespace

// noinline: a task may be suspended in get() and resume on another worker,
// and a compiler may keep the thread pointer in a register across a call;
// each call here reads the current thread's copy.
__attribute__((noinline)) thread_context* this_thread_context() noexcept { return &this_thread; }
__attribute__((noinline)) unsigned& inline_claims() noexcept { return this_thread_claims; }
__attribute__((noinline)) held_task& this_thread_held() noexcept { return this_thread_held_task; }

// The queue of tasks submitted while an inline task runs on this thread. A
// vector and a read index, not a deque: most frames never queue anything
// (a forwarded future runs at once), and a deque allocates when built.
struct inline_frame {
  std::vector<unique_task> queue;
  std::size_t next = 0;
};

namespace {

void run_reporting(unique_task& t) noexcept {
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
}

class inline_executor_impl final : public executor {
 public:
  void execute(unique_task task) override {
    // Checked here, not when run: an empty task queued in the trampoline
    // would crash a later, unrelated execute().
    if (!task) throw std::invalid_argument("weft::inline_executor::execute: the task argument is empty");
    thread_context* ctx = this_thread_context();
    if (ctx->trampoline != nullptr) {
      // A task is already running inline on this thread: queue behind it,
      // so a long chain runs as a loop, not as a recursion.
      ctx->trampoline->queue.push_back(std::move(task));
      return;
    }
    inline_frame frame;
    const context_scope<inline_frame*> scope(&thread_context::trampoline);  // after frame: ends before it
    ctx->trampoline = &frame;
    run_reporting(task);
    while (frame.next != frame.queue.size()) {
      unique_task next = std::move(frame.queue[frame.next++]);
      run_reporting(next);
      if (frame.next == frame.queue.size()) {  // drained: reuse the storage
        frame.queue.clear();
        frame.next = 0;
      } else if (frame.next >= trampoline_compact_after && frame.next * 2 >= frame.queue.size()) {
        // A chain keeps one task queued behind the running one, so the queue
        // never drains: drop the run prefix (moving the few tasks left)
        // instead of growing to the chain's length.
        frame.queue.erase(frame.queue.begin(), frame.queue.begin() + static_cast<std::ptrdiff_t>(frame.next));
        frame.next = 0;
      }
    }
  }
};

}  // namespace
}  // namespace detail

executor& inline_executor() noexcept {
  // Never destroyed: continuations may still reach it during static
  // destruction. Immortal, so a future bound to it calls it directly.
  static executor* ex = [] {
    auto* e = new detail::inline_executor_impl;
    detail::executor_registry::mark_immortal(*e);
    return e;
  }();
  return *ex;
}

}  // namespace v1
}  // namespace weft
