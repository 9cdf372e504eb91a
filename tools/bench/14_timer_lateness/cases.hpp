// tools/bench/14_timer_lateness/cases.hpp: the two sizes of workload 14.
#ifndef WEFT_BENCH_TIMER_LATENESS_CASES_HPP
#define WEFT_BENCH_TIMER_LATENESS_CASES_HPP

#include <chrono>
#include <cstddef>

namespace bench {

struct lateness_case {
  const char* id;
  std::size_t timers;
};
constexpr lateness_case lateness_cases[] = {
    {"14a-timer-lateness-10k", 10000},
    {"14b-timer-lateness-1k", 1000},
};

/// How long after the start the 50 ms window of deadlines opens: time to
/// arm every timer first (asio's 10k arms take ~10 ms here), so no deadline
/// has passed before its timer is armed.
constexpr std::chrono::milliseconds lateness_lead{25};

}  // namespace bench

#endif  // WEFT_BENCH_TIMER_LATENESS_CASES_HPP
