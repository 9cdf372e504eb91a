// tools/bench/28_parked_waiters/cases.hpp: what weft parks waiters on in
// workload 28, and how many. The queue case exists only where
// <weft/async_queue.hpp> does.
#ifndef WEFT_BENCH_PARKED_WAITERS_CASES_HPP
#define WEFT_BENCH_PARKED_WAITERS_CASES_HPP

#include <cstddef>

#include "harness.hpp"

namespace bench {

enum class parked_on { semaphore, event, queue };

struct parked_case {
  const char* id;
  parked_on what;
  const char* name;
};
constexpr parked_case parked_cases[] = {
    {"28a-parked-semaphore", parked_on::semaphore, "a semaphore (acquire)"},
    {"28b-parked-event", parked_on::event, "an event (wait)"},
#if __has_include(<weft/async_queue.hpp>)
    {"28c-parked-queue", parked_on::queue, "an async_queue (pop)"},
#endif
};

/// Waiters parked at once (weft, asio).
inline std::size_t parked_waiters(const state& s) { return s.quick() ? 1000 : 100000; }

/// Threads blocked at once (the thread peer): enough for a stable VmRSS
/// figure, few enough to start in a blink.
inline std::size_t parked_threads(const state& s) { return s.quick() ? 8 : 256; }

}  // namespace bench

#endif  // WEFT_BENCH_PARKED_WAITERS_CASES_HPP
