// The runtime's bounds on nesting, spinning and batching, in one place.
//
// Each bounds something that would otherwise grow with the user's program
// (recursion depth, chain length, blocked tasks) or trades latency against
// CPU. The numbers were measured on 2-vCPU VMs (docs/decisions.md has the
// figures); each line says what it bounds and why not lower or higher.
#ifndef WEFT_RUNTIME_BUDGETS_HPP
#define WEFT_RUNTIME_BUDGETS_HPP

#include <chrono>
#include <cstddef>

#include "sanitizers.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

// Fan-in arrivals and unwrapped forwards nested on one stack (counting the
// inline-executor tasks they run in) before the next is put off to the
// stack's trampoline (arrive_or_defer()): a few hundred bytes of stack
// each, so 32 stay far from any thread's stack limit, while a shallow
// when_all of when_alls still completes in place.
constexpr unsigned max_nested_arrivals = 32;

// Awaited tasks run inline by get(), nested on one stack, before a waiter
// suspends instead: recursive code (fib with get()) nests as deep as its
// recursion, each level a few hundred bytes on top of the task's own.
constexpr int max_inline_depth = 64;

// Pool tasks suspended in get() at once in the process before a blocked
// worker helps instead: each keeps a coroutine stack, and fib(25) written
// with get() ran out of memory maps at ~13,000. TSan cannot follow
// oneTBB's stack switch, so a TSan build only helps.
constexpr int max_suspended = tsan_build ? 0 : 256;

// Awaited tasks a worker runs inline between two starts from its dispatch
// loop: each leaves a finished entry (~150 bytes) in the worker's deque
// until the loop pops it, so 8,192 bound that to ~1.2 MB per worker. At
// 1,024 the suspensions this forced took 40% of fib(25)'s time.
constexpr unsigned max_inline_claims = 8192;

// Continuations a worker runs in a row as held tasks (each the next of the
// one before) before the next goes through the deque, so oneTBB's dispatch
// loop, and what other tasks spawned, get a turn.
constexpr int max_held_run = 256;

// Inbox tasks one drainer runs before it hands its turn to a fresh drainer
// at the back of the arena's queue, so the tasks they spawn and the arena's
// other enqueued work get a turn.
constexpr int max_drain_run = 64;

// The trampoline's task queue: run entries kept at the front of it before
// they are dropped (a chain keeps one task queued behind the
// running one, so the queue would otherwise grow to the chain's length).
constexpr std::size_t trampoline_compact_after = 32;

// How long a thread blocked in get() outside a pool spins before it parks
// on a futex: under a futex wait/wake round trip (16-21 us here), above a
// cross-core hand-off (~0.6 us), so a quick reply costs no syscall and a
// slow one little extra.
constexpr std::chrono::nanoseconds spin_budget{8000};

// Timers one hand-over takes out of a timer service's heap under its lock
// before it releases the lock and hands them to their executors: 10,000
// timers due at once must not keep arming and cancelling threads spinning
// for the whole batch, and 64 hand-overs per lock still amortise it.
constexpr std::size_t max_timer_batch = 64;

// Spins on a timer service's lock before a waiter yields its CPU: the lock
// is held for one heap operation (tens of ns), so a spin almost always
// wins; past that the holder was likely preempted (2 vCPUs), and spinning
// on would keep it off the CPU.
constexpr unsigned spin_lock_spins = 64;

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_BUDGETS_HPP
