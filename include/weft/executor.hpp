// weft/executor.hpp: where work runs.
//
// An executor is anything that can run a unique_task: the work-stealing
// thread_pool, the elastic blocking_pool, inline_executor(), the test
// kit's testing::manual_executor, or a user type. Futures remember an
// executor and run their continuations there, never on whichever thread
// fulfilled the promise.
#ifndef WEFT_EXECUTOR_HPP
#define WEFT_EXECUTOR_HPP

#include <cstddef>
#include <cstdint>

#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {

class executor;

namespace detail {

struct executor_registry;

/// Tag for weft's own short-lived adapters that no future ever refers to
/// (an executor made for one call): they skip the registry.
struct unregistered_t {};

/// What a shared state remembers of the executor its continuations run on:
/// not the executor's address, which dies with it, but its registration
/// (see executor), which tells a destroyed executor from a live one.
/// One word, copied freely; null when it names no executor. Thread-safe.
class executor_ref {
 public:
  constexpr executor_ref() noexcept = default;
  executor_ref(std::nullptr_t) noexcept {}  // NOLINT: as a null pointer
  executor_ref(executor* ex) noexcept;      // NOLINT: as the pointer; null stays null
  executor_ref(executor& ex) noexcept;      // NOLINT

  explicit operator bool() const noexcept { return bits_ != 0; }
  friend bool operator==(executor_ref a, executor_ref b) noexcept { return a.bits_ == b.bits_; }
  friend bool operator!=(executor_ref a, executor_ref b) noexcept { return a.bits_ != b.bits_; }

  /// Hands `task` to the executor. If it was destroyed, abandons the task
  /// with executor_shutdown ("the executor was destroyed") and throws that.
  /// Otherwise as executor::execute(). Never touches a destroyed executor.
  void execute(unique_task task) const;
  /// As execute(), through executor::defer().
  void defer(unique_task task) const;

  /// The executor itself. Throws executor_shutdown if it was destroyed.
  executor& get() const;

 private:
  friend class weft::v1::executor;
  // Low bit set: the address of an executor that is never destroyed
  // (inline_executor(), default_pool()), called directly. Otherwise a
  // registration: generation (high 32 bits, never 0) and slot index
  // (shifted left by one).
  std::uint64_t bits_ = 0;
};

}  // namespace detail

/// The interface every executor implements.
///
/// Contract for implementations:
/// - execute() may be called from any thread, concurrently.
/// - Every accepted task is eventually either run once or abandoned once
///   (unique_task::abandon), never lost: a future waiting on it must resolve.
/// - When the executor no longer accepts work, execute() abandons the task
///   with executor_shutdown and then throws executor_shutdown.
/// - A task that throws is the executor's to report: weft's own executors
///   pass the exception to report_unhandled_error().
///
/// Lifetime: a future, promise or continuation may outlive the executor it
/// is bound to. Every executor is registered when constructed; futures
/// remember the registration, not the address, so a continuation that
/// reaches a destroyed executor fails with executor_shutdown ("the executor
/// was destroyed") and never touches freed memory. The registration ends
/// in ~executor() at the latest. A derived class whose destructor does
/// work (joins threads, drops queued tasks) calls retire() first, so no
/// execute() reaches it half-destroyed: retire() waits for calls already
/// inside execute() to return, and refuses every later one. So execute()
/// must not destroy its own executor, and retire() must not be called
/// from inside that executor's execute(). Submitting through a future of a
/// live executor costs two uncontended atomic operations beyond execute()
/// (none on a weft pool's own workers).
class executor {
 public:
  /// Ends the registration if the derived class has not (see retire()).
  virtual ~executor();

  /// Schedules `task` to run. See the class comment for the contract.
  virtual void execute(unique_task task) = 0;

  /// Schedules `task`, a continuation of the task now returning on the
  /// calling thread: the executor may run it next on this thread, once
  /// that task has returned, rather than queue it where others take it
  /// first (asio's defer against post; oneTBB's task bypass). weft calls it
  /// only from the completion of a task a pool started, never from user
  /// code. The default calls execute(). Same contract as execute().
  virtual void defer(unique_task task) { execute(std::move(task)); }

 protected:
  /// Registers the executor. Throws std::bad_alloc, std::length_error past
  /// 2^24 (16M) executors alive at once.
  executor();
  /// An executor no future will refer to (weft's per-call adapters): no
  /// registration, so a reference to it is null. Never throws.
  explicit executor(detail::unregistered_t) noexcept : registration_(0) {}
  /// A copy is another executor, with a registration of its own.
  executor(const executor&);
  /// Keeps this executor's own registration.
  executor& operator=(const executor&) noexcept { return *this; }

  /// Ends the registration: continuations that reach this executor from now
  /// on fail with executor_shutdown instead of calling execute(). Waits for
  /// execute() calls made through a future's registration that are already
  /// running. Idempotent; call it first in a destructor that does work.
  /// Must not be called from inside this executor's own execute().
  void retire() noexcept;

 private:
  friend class detail::executor_ref;
  friend struct detail::executor_registry;
  std::uint64_t registration_;
};

namespace detail {

inline executor_ref::executor_ref(executor* ex) noexcept : bits_(ex != nullptr ? ex->registration_ : 0) {}
inline executor_ref::executor_ref(executor& ex) noexcept : bits_(ex.registration_) {}

/// executor_ref::execute() and defer() for a registered (not immortal)
/// executor.
void execute_registered(std::uint64_t registration, unique_task&& task, bool defer);

inline void executor_ref::execute(unique_task task) const {
  if ((bits_ & 1u) != 0) {
    reinterpret_cast<executor*>(static_cast<std::uintptr_t>(bits_ & ~std::uint64_t{1}))->execute(std::move(task));
    return;
  }
  execute_registered(bits_, std::move(task), false);
}

inline void executor_ref::defer(unique_task task) const {
  if ((bits_ & 1u) != 0) {
    reinterpret_cast<executor*>(static_cast<std::uintptr_t>(bits_ & ~std::uint64_t{1}))->defer(std::move(task));
    return;
  }
  execute_registered(bits_, std::move(task), true);
}

}  // namespace detail

/// Returns the executor that runs a task right away on the calling thread.
///
/// Nested submissions made while a task runs inline on the same thread are
/// queued and run after it returns, in order, so a 100,000-long chain of
/// inline continuations uses constant stack; a get() or wait() inside the
/// task runs the queued ones first, since it may be waiting for one of
/// them. Thread-safe. Like every weft
/// executor, it passes an exception thrown by a task to
/// report_unhandled_error() instead of throwing it at whoever happened to
/// trigger the task; execute() itself only throws std::invalid_argument
/// (an empty task) and std::bad_alloc.
executor& inline_executor() noexcept;

}  // namespace v1
}  // namespace weft

#endif  // WEFT_EXECUTOR_HPP
