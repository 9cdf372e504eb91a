// Per-thread facts the runtime needs: which pool's task this thread is
// running, the stack's trampoline frame, the task a worker holds to run
// next.
// One out-of-line accessor keeps the thread_local in a single translation
// unit of the library.
#ifndef WEFT_RUNTIME_THREAD_CONTEXT_HPP
#define WEFT_RUNTIME_THREAD_CONTEXT_HPP

#include <cstddef>
#include <tuple>
#include <utility>

#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

struct trampoline_frame;
struct inbox_duty;
class deferred_arrival;
class pool_core;
class state_base;

/// What a thread that runs a scheduler's tasks does when one of them blocks
/// on a state: the scheduler installs itself as the thread's worker
/// (thread_context::pool) while it runs a task, and state_base::wait()
/// blocks through it, knowing no pool. weft's one scheduler is pool_core
/// (pool_core.hpp; its wait is in pool_wait.cpp); a thread without one
/// parks (shared_state.cpp).
class worker {
 public:
  /// Returns once `s` is ready. Called by state_base::wait() on a thread
  /// whose context names this worker, after the put-off arrivals ran and
  /// the held task was flushed, with `s` not ready. Throws only what
  /// blocking itself may (std::bad_alloc).
  virtual void wait(state_base& s) = 0;

 protected:
  worker() = default;
  ~worker() = default;
};

/// What refuses a wait that would block this thread: a deterministic
/// simulation (weft::testing::simulation) installs one while it runs a
/// task. It runs every task on the one thread that steps it, so a wait
/// there for an outcome not yet in could never end: nothing else runs
/// while the thread waits.
class wait_refusal {
 public:
  /// Called by state_base::wait() instead of blocking: throws the error
  /// that says why the wait cannot end.
  [[noreturn]] virtual void refuse() = 0;

 protected:
  wait_refusal() = default;
  ~wait_refusal() = default;
};

struct thread_context {
  worker* pool = nullptr;  // the scheduler (pool) whose task runs on this thread
  // Set while a simulation runs a task on this thread; checked only where
  // a wait is about to block.
  wait_refusal* refusal = nullptr;
  // The stack's open drain loop (trampoline.hpp): inline-executor tasks
  // and arrivals put off on it. It belongs to the stack, so a suspended
  // task carries it to the worker it resumes on.
  trampoline_frame* trampoline = nullptr;
  int inline_depth = 0;  // awaited tasks run inline (get()) nested on this stack
  inbox_duty* duty = nullptr;  // the pool's inbox drainer this stack runs in, if any
  // The task the pool's run() started on this stack (its callable's
  // address) if a continuation its end submits may be held for this
  // worker (see held_task): only a task that returns to the dispatch loop,
  // not one nested in a wait nor an inbox drainer's. Then the state that
  // task produces, once it has said so (enter_task()): its completion
  // (state_base::fire_task_end()) defers its continuations, the one
  // moment a pool holds.
  const void* direct_task = nullptr;
  const void* direct_producer = nullptr;
  // True while fire_task_end() fires that state's callback: a defer() made
  // now is weft's own, at the task's very end, and may be held.
  bool deferring = false;
};

// The runtime's private accessors are hidden: called from the library's
// own files only, they then need no trip through the PLT (this one is on
// every task's path, several times).
#define WEFT_RUNTIME_PRIVATE __attribute__((visibility("hidden")))

WEFT_RUNTIME_PRIVATE thread_context* this_thread_context() noexcept;

/// Sets fields of the calling thread's context for a scope and puts their
/// old values back when it ends, on whichever thread that is: a task that
/// blocked in get() may resume on another worker, whose context is then
/// the one to restore. Every save and restore of the runtime goes through
/// one, so no exit path misses one. Takes pointers to the fields; looks
/// the context up once at each end.
template <class... T>
class context_scope {
 public:
  explicit context_scope(T thread_context::*... fields) noexcept : context_scope(this_thread_context(), fields...) {}
  /// As above, with the calling thread's context already looked up.
  explicit context_scope(thread_context* ctx, T thread_context::*... fields) noexcept : ctx_(ctx), fields_(fields...) {
    save(ctx_, indices());
  }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;
  ~context_scope() { restore(this_thread_context(), indices()); }

  /// The context as the scope began: valid until the code in the scope
  /// blocks (and may resume on another thread).
  thread_context* context() const noexcept { return ctx_; }

  /// The value field number I had when the scope began.
  template <std::size_t I>
  const typename std::tuple_element<I, std::tuple<T...>>::type& saved() const noexcept {
    return std::get<I>(saved_);
  }

 private:
  using indices = std::index_sequence_for<T...>;
  template <std::size_t... I>
  void save(thread_context* ctx, std::index_sequence<I...>) noexcept {
    saved_ = std::tuple<T...>(ctx->*std::get<I>(fields_)...);
  }
  template <std::size_t... I>
  void restore(thread_context* ctx, std::index_sequence<I...>) noexcept {
    using expand = int[];
    (void)expand{0, ((ctx->*std::get<I>(fields_) = std::get<I>(saved_)), 0)...};
  }

  thread_context* const ctx_;
  std::tuple<T thread_context::*...> fields_;
  std::tuple<T...> saved_;
};

/// The whole context of the calling thread, saved for a scope (in which the
/// caller changes it, or clears it for the other tasks a blocked task's
/// worker runs) and restored when the scope ends, on whichever thread that
/// is.
class whole_context_scope {
 public:
  whole_context_scope() noexcept : saved_(*this_thread_context()) {}
  whole_context_scope(const whole_context_scope&) = delete;
  whole_context_scope& operator=(const whole_context_scope&) = delete;
  ~whole_context_scope() { *this_thread_context() = saved_; }
  const thread_context& saved() const noexcept { return saved_; }

 private:
  const thread_context saved_;
};

/// The task a worker runs as soon as its current task returns, without a
/// trip through oneTBB's deque: a continuation submitted to the worker's
/// own pool while weft completes the current task's outcome. It belongs to
/// the thread, like the deque, not to a stack: a task that blocks hands it
/// to the deque first (flush_held()).
struct held_task {
  pool_core* pool = nullptr;
  unique_task task;
};
WEFT_RUNTIME_PRIVATE held_task& this_thread_held() noexcept;

/// Moves a task this thread holds into its pool's deque (where other
/// workers can steal it), before the calling stack blocks. Never throws:
/// if the deque has no memory for it, the task runs here and now.
void flush_held() noexcept;

/// A spin-wait hint to the CPU (pause), so a spinning thread yields the
/// core's resources to its sibling hyperthread.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Awaited tasks this thread ran inline since it last started a task from
/// its dispatch loop. Each leaves a finished entry in the worker's oneTBB
/// deque until the dispatch loop pops it, so wait() stops claiming past a
/// bound. Kept outside thread_context: it belongs to the thread, not to the
/// stack a suspended task carries between workers.
WEFT_RUNTIME_PRIVATE unsigned& inline_claims() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_THREAD_CONTEXT_HPP
