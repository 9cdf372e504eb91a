// Arrivals: outcomes reaching fan-ins and unwrapped futures where weft runs
// no user code, nested up to a bound on one stack and put off past it (see
// deferred_arrival in weft/detail/shared_state.hpp).
#include "weft/detail/shared_state.hpp"

#include "budgets.hpp"
#include "thread_context.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

void arrive_or_defer(deferred_arrival& a) noexcept {
  thread_context* ctx = this_thread_context();
  if (ctx->arrival_depth >= max_nested_arrivals) {
    a.next_ = nullptr;
    if (ctx->deferred_tail != nullptr) {
      ctx->deferred_tail->next_ = &a;
    } else {
      ctx->deferred_head = &a;
    }
    ctx->deferred_tail = &a;
    return;
  }
  ++ctx->arrival_depth;
  a.arrive();
  // Looked up again: the arrival may have run a task that waited in get()
  // and resumed on another worker, where wait() restored this stack's
  // context.
  ctx = this_thread_context();
  if (--ctx->arrival_depth == 0) run_deferred_arrivals();
}

bool arrival_must_wait() noexcept { return this_thread_context()->arrival_depth >= max_nested_arrivals; }

void run_deferred_arrivals() noexcept {
  for (;;) {
    thread_context* ctx = this_thread_context();
    deferred_arrival* a = ctx->deferred_head;
    if (a == nullptr) return;
    ctx->deferred_head = a->next_;
    if (ctx->deferred_head == nullptr) ctx->deferred_tail = nullptr;
    ++ctx->arrival_depth;
    a->arrive();  // may free `a`
    --this_thread_context()->arrival_depth;
  }
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
