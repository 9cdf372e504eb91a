// inline_executor(): runs tasks on the calling thread, trampolined
// (trampoline.cpp); and the thread-locals behind this_thread_context().
#include "weft/executor.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

#include "executor_registry.hpp"
#include "thread_context.hpp"
#include "trampoline.hpp"
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

namespace {

class inline_executor_impl final : public executor {
 public:
  void execute(unique_task task) override {
    // Checked here, not when run: an empty task queued in the trampoline
    // would crash a later, unrelated execute().
    if (!task) throw std::invalid_argument("weft::inline_executor::execute: the task argument is empty");
    run_trampolined(task);
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
