// inline_executor(): runs tasks on the calling thread, trampolined.
#include "weft/executor.hpp"

#include <deque>
#include <exception>
#include <stdexcept>
#include <utility>

#include "thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

__attribute__((noinline)) thread_context* this_thread_context() noexcept {
  static thread_local thread_context ctx;
  return &ctx;
}

// The queue of tasks submitted while an inline task runs on this thread.
struct inline_frame {
  std::deque<unique_task> queue;
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
    ctx->trampoline = &frame;
    run_reporting(task);
    while (!frame.queue.empty()) {
      unique_task next = std::move(frame.queue.front());
      frame.queue.pop_front();
      run_reporting(next);
    }
    this_thread_context()->trampoline = nullptr;
  }
};

}  // namespace
}  // namespace detail

executor& inline_executor() noexcept {
  static detail::inline_executor_impl ex;
  return ex;
}

}  // namespace v1
}  // namespace weft
