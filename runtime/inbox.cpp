// The pool's inbox: tasks submitted from outside the pool, run by drainer
// tasks (see pool_core.hpp for why an inbox).
#include <thread>

#include "pool_core.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

bool pool_core::kick_drainer() noexcept {
  try {
    tbb::task_handle handle = slots[0].group.defer(task_body(this, unique_task()));
    arena.enqueue(std::move(handle));
    return true;
  } catch (...) {
    std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
    --inbox.drainers;
    return false;
  }
}

void pool_core::drain_inbox() noexcept {
  detail::inbox_duty duty{this};
  {
    const context_scope<inbox_duty*> scope(&thread_context::duty);
    thread_context* ctx = scope.context();
    ctx->duty = &duty;
    // Run by a worker helping in a blocked get() (ctx->pool is set there):
    // one task, no lingering, so the waiter underneath gets back to its own
    // task as soon as its outcome is in.
    const bool nested = ctx->pool != nullptr;
    const int run_limit = nested ? 1 : detail::max_drain_run;
    // Started from the dispatch loop; see run().
    if (!nested) detail::inline_claims() = 0;
    bool lingered = false;
    bool busy = false;
    for (int ran = 0;;) {
      unique_task task;
      bool kick = false;
      bool hand_off = false;
      {
        std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
        if (busy) --inbox.busy;
        busy = false;
        if (inbox.tasks.empty()) {
          if (lingered) {
            --inbox.drainers;
            break;
          }
        } else if (ran == run_limit) {
          kick = hand_off = true;  // this drainer's count passes to the new one
        } else {
          task = std::move(inbox.tasks.front());
          inbox.tasks.pop_front();
          inbox.size.store(inbox.tasks.size(), std::memory_order_relaxed);
          ++inbox.busy;
          busy = true;
          if (!inbox.tasks.empty() && wants_drainer()) {
            ++inbox.drainers;
            kick = true;
          }
        }
      }
      if (kick && !kick_drainer() && hand_off) {
        // No memory for the successor: keep this drainer's turn instead.
        std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
        ++inbox.drainers;
        ran = 0;
        continue;
      }
      if (!task) {
        if (hand_off) break;
        if (nested) {
          lingered = true;
          continue;
        }
        // Empty: wait a moment for the next submission before leaving. A
        // drainer that leaves is replaced at the next submission, which
        // costs that submitter a oneTBB enqueue (~1 us), several times a
        // post; a steady stream that the workers outpace would pay it
        // again and again.
        linger();
        lingered = true;
        continue;
      }
      lingered = false;
      ++ran;
      run(task, started_by::drainer);
      // A task that blocked resigned this drainer (resign()), and
      // another took over; this one may be on another worker by now.
      if (duty.resigned) break;
    }
  }  // the scope restores the outer duty, on whichever worker this ends
  detail::tsan_release(this);  // its last touch of the pool; see shutdown()
}

void pool_core::linger() const noexcept {
  for (int i = 0; i < 64; ++i) {
    if (inbox.size.load(std::memory_order_relaxed) != 0) return;
    if (i < 32) {
      for (int k = 0; k < 16; ++k) detail::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

void pool_core::resign(detail::inbox_duty& duty) noexcept {
  if (duty.resigned) return;
  duty.resigned = true;
  bool kick = false;
  {
    std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
    --inbox.busy;  // its task blocks; it is no longer a drainer either
    if (inbox.tasks.empty()) {
      --inbox.drainers;
    } else {
      kick = true;  // the count passes to the new drainer
    }
  }
  if (kick) kick_drainer();
}

void pool_core::run_stranded_inbox() noexcept {
  {
    std::lock_guard<tbb::spin_mutex> lock(inbox.mutex);
    if (inbox.tasks.empty() || inbox.drainers != 0) return;
    ++inbox.drainers;
  }
  drain_inbox();
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
