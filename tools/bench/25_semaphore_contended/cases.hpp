// tools/bench/25_semaphore_contended/cases.hpp: the two counts of workload
// 25 and its sizes, shared by weft's file and the peers'.
#ifndef WEFT_BENCH_SEMAPHORE_CONTENDED_CASES_HPP
#define WEFT_BENCH_SEMAPHORE_CONTENDED_CASES_HPP

#include <cstddef>

#include "harness.hpp"

namespace bench {

struct semaphore_contended_case {
  const char* id;
  std::ptrdiff_t count;  ///< permits in the semaphore
};
constexpr semaphore_contended_case semaphore_contended_cases[] = {
    {"25a-semaphore-contended-1", 1},
    {"25b-semaphore-contended-4", 4},
};

/// Tasks (weft) or threads (the peers) contending the semaphore.
constexpr int semaphore_contenders = 8;

/// Acquisitions per contender.
inline std::size_t semaphore_contended_rounds(const state& s) { return s.quick() ? 100 : 25000; }

}  // namespace bench

#endif  // WEFT_BENCH_SEMAPHORE_CONTENDED_CASES_HPP
