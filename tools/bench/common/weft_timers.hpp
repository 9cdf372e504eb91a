// tools/bench/common/weft_timers.hpp: weft's timer service in the benchmarks,
// and the id of its thread (for its CPU time).
#ifndef WEFT_BENCH_COMMON_WEFT_TIMERS_HPP
#define WEFT_BENCH_COMMON_WEFT_TIMERS_HPP

#include <sys/types.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/pools.hpp"
#include "common/timer_peers.hpp"
#include "weft/timer.hpp"

namespace bench {

struct weft_timers_t {
  weft::timer_service* svc;
  pid_t tid;  // its "weft-timer" thread; 0 if it could not be found
};

/// weft_pool()'s timer service (timer_service::of), made on first use, and
/// its thread: the one "weft-timer" thread that was not there before.
inline const weft_timers_t& weft_timers() {
  static const weft_timers_t t = [] {
    const std::set<pid_t> before = threads_named("weft-timer");
    weft::timer_service* svc = &weft::timer_service::of(weft_pool());
    pid_t tid = 0;
    // The thread names itself as it starts.
    for (int i = 0; i < 1000 && tid == 0; ++i) {
      for (pid_t p : threads_named("weft-timer")) {
        if (before.count(p) == 0) tid = p;
      }
      if (tid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return weft_timers_t{svc, tid};
  }();
  return t;
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_WEFT_TIMERS_HPP
