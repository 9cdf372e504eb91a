// The per-stack trampoline: work weft puts off on the calling stack instead
// of nesting it deeper, run as a loop. Two kinds of work use it:
//
//  - tasks for inline_executor(): one submitted while another trampolined
//    entry runs on this stack waits behind it, so a long chain of inline
//    continuations runs as a loop, not as a recursion;
//  - arrivals (fan-in arrivals and unwrapped forwards, see deferred_arrival
//    in weft/detail/shared_state.hpp): they nest up to max_nested_arrivals,
//    so a shallow when_all of when_alls still completes in place, and are
//    put off past that.
//
// The outermost entry opens the stack's frame and drains it before it
// returns. The outermost arrival also runs the arrivals put off below it
// before it returns, even inside an inline task, so a completion is done
// when set_value() returns. A wait() on the stack drains the frame before
// it blocks, since what is queued below the wait may be what it waits for.
#include "trampoline.hpp"

#include <cstddef>
#include <exception>
#include <utility>

#include "budgets.hpp"
#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {

void run_reporting(unique_task& t) noexcept {
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
}

// Takes the next queued entry of `f` and runs it, nested one level deeper.
// False if nothing is queued. Arrivals go first: they complete weft's own
// states, which queued tasks may be waiting on.
bool run_next_arrival(trampoline_frame& f) noexcept {
  deferred_arrival* a = f.arrivals_head;
  if (a == nullptr) return false;
  f.arrivals_head = a->next_;
  if (f.arrivals_head == nullptr) f.arrivals_tail = nullptr;
  ++f.depth;
  ++f.arrivals;
  a->arrive();  // may free `a`
  --f.arrivals;
  --f.depth;
  return true;
}

bool run_next(trampoline_frame& f) noexcept {
  if (run_next_arrival(f)) return true;
  if (f.next == f.tasks.size()) return false;
  unique_task t = std::move(f.tasks[f.next++]);
  if (f.next == f.tasks.size()) {  // drained: reuse the storage
    f.tasks.clear();
    f.next = 0;
  } else if (f.next >= trampoline_compact_after && f.next * 2 >= f.tasks.size()) {
    // A chain keeps one task queued behind the running one, so the queue
    // never drains: drop the run prefix (moving the few tasks left) instead
    // of growing to the chain's length.
    f.tasks.erase(f.tasks.begin(), f.tasks.begin() + static_cast<std::ptrdiff_t>(f.next));
    f.next = 0;
  }
  ++f.depth;
  run_reporting(t);
  --f.depth;
  return true;
}

void drain(trampoline_frame& f) noexcept {
  while (run_next(f)) {
  }
}

// Opens the calling stack's frame for the scope: the outermost entry's. The
// frame lives on this stack, which a task suspended in get() carries to
// the worker it resumes on; the scope restores the context there.
class open_frame {
 public:
  explicit open_frame(thread_context* ctx) noexcept : scope_(ctx, &thread_context::trampoline) {
    ctx->trampoline = &frame_;
    frame_.depth = 1;
  }
  trampoline_frame& frame() noexcept { return frame_; }

 private:
  trampoline_frame frame_;  // before scope_: the scope ends before it
  const context_scope<trampoline_frame*> scope_;
};

}  // namespace

void run_trampolined(unique_task& task) {
  thread_context* ctx = this_thread_context();
  if (trampoline_frame* f = ctx->trampoline) {
    f->tasks.push_back(std::move(task));  // may throw std::bad_alloc
    return;
  }
  open_frame open(ctx);
  run_reporting(task);
  --open.frame().depth;
  drain(open.frame());
}

void arrive_or_defer(deferred_arrival& a) noexcept {
  thread_context* ctx = this_thread_context();
  if (trampoline_frame* f = ctx->trampoline) {
    if (f->depth >= max_nested_arrivals) {
      a.next_ = nullptr;
      if (f->arrivals_tail != nullptr) {
        f->arrivals_tail->next_ = &a;
      } else {
        f->arrivals_head = &a;
      }
      f->arrivals_tail = &a;
      return;
    }
    // The frame is on this stack: it stays valid even if the arrival runs a
    // task that waits in get() and resumes on another worker.
    ++f->depth;
    ++f->arrivals;
    a.arrive();
    --f->arrivals;
    --f->depth;
    if (f->arrivals == 0) {
      while (run_next_arrival(*f)) {
      }
    }
    return;
  }
  open_frame open(ctx);
  ++open.frame().arrivals;
  a.arrive();
  --open.frame().arrivals;
  --open.frame().depth;
  drain(open.frame());
}

bool arrival_must_wait() noexcept {
  const trampoline_frame* f = this_thread_context()->trampoline;
  return f != nullptr && f->depth >= max_nested_arrivals;
}

void drain_trampoline() noexcept {
  if (trampoline_frame* f = this_thread_context()->trampoline) drain(*f);
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
