// tools/bench/common/multithreaded.hpp: measure as in a multi-threaded
// process.
//
// glibc records whether the process has ever started a thread, and
// libstdc++ skips synchronisation that only matters between threads while
// it has not: std::stop_source::request_stop then does not release the
// per-callback semaphore, which otherwise costs a futex wake per callback.
// A service that cancels work has threads (weft's pools are threads), so
// the cancellation workloads (16-19) start and join one thread before they
// measure, for every implementation alike.
#ifndef WEFT_BENCH_COMMON_MULTITHREADED_HPP
#define WEFT_BENCH_COMMON_MULTITHREADED_HPP

#include <thread>

namespace bench {

/// Starts and joins one thread, the first time it is called.
inline void make_multithreaded() {
  static const bool done = (std::thread([] {}).join(), true);
  (void)done;
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_MULTITHREADED_HPP
