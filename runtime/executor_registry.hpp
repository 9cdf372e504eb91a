// The executor registry: how a future remembers an executor that may be
// destroyed before it (futures may outlive their executor).
//
// Every executor takes a slot when constructed. A future stores the slot's
// index and the generation it had then (detail::executor_ref), never the
// executor's address. Retiring an executor bumps its slot's generation, so
// an old reference no longer matches and is refused with executor_shutdown,
// and the slot is reused by a later executor. Slots live in chunks that are
// never freed, so a stale reference always reads valid memory.
//
// A call through a reference may race with the executor's retirement (a
// promise set on one thread while the pool's owner destroys it on
// another): the caller announces itself in the slot's in-flight count
// before it checks the generation, and retire() bumps the generation
// before it waits for that count to drain. Both sides use seq_cst, so at
// least one sees the other (the store-load pattern of Dekker's algorithm):
// either the caller sees the new generation and backs off, or retire()
// sees the caller and waits for it to leave execute().
//
// Executors that are never destroyed (inline_executor(), default_pool(),
// default_blocking_pool()) are marked immortal: their references carry the
// address itself and skip the slot. A weft pool's own workers submitting to
// their pool skip it too (the pool cannot finish its destructor while its
// workers run), so the hot path of a chain on a pool touches no shared
// counter.
#ifndef WEFT_RUNTIME_EXECUTOR_REGISTRY_HPP
#define WEFT_RUNTIME_EXECUTOR_REGISTRY_HPP

#include <cstdint>

#include "weft/executor.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

struct executor_registry {
  /// Makes `ex`'s references carry its address: for an executor that is
  /// never destroyed. Call right after constructing it, before any
  /// reference to it is taken. Never throws.
  static void mark_immortal(executor& ex) noexcept;

  /// The registration word of `ex` (what executor_ref holds).
  static std::uint64_t registration_of(const executor& ex) noexcept { return ex.registration_; }
};

/// A weft pool's hook into execute_registered(): if the calling thread is a
/// worker of the pool registered as `registration`, submits `task` to it
/// directly (executes or defers it) and returns true. Defined by the pool
/// (runtime/thread_pool.cpp).
bool execute_on_own_pool(std::uint64_t registration, unique_task& task, bool defer);

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_EXECUTOR_REGISTRY_HPP
