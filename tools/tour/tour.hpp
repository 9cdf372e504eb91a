// tools/tour/tour.hpp: the examples of the tour, one per file, and the few
// helpers they share. main.cpp runs them in order.
#ifndef WEFT_TOUR_TOUR_HPP
#define WEFT_TOUR_TOUR_HPP

#include <cstdio>
#include <string>

#include "flaky_service.hpp"

void tour_01(tour::flaky_service& svc);  // async + then: run work, continue from its result
void tour_02(tour::flaky_service& svc);  // when_all: gather, first error wins
void tour_03(tour::flaky_service& svc);  // when_all_settled: gather(return_exceptions=True)
void tour_04(tour::flaky_service& svc);  // when_any: first completed; a hedged request
void tour_05(tour::flaky_service& svc);  // on_error / finally: recover, clean up, nothing swallowed
void tour_06(tour::flaky_service& svc);  // offload + a token: blocking calls off the pool, cancellable
void tour_07(tour::flaky_service& svc);  // shared_future: one call, many readers
void tour_08(tour::flaky_service& svc);  // interop: std::future and boost::future
void tour_09(tour::flaky_service& svc);  // nested get() on a pool does not deadlock
void tour_10(tour::flaky_service& svc);  // promise: turn a callback API into futures
void tour_11(tour::flaky_service& svc);  // exception_group: every failure kept; split / handle like except*
void tour_12(tour::flaky_service& svc);  // cancellation: a cancellable operation with cleanup; a callback for read(2)
void tour_13(tour::flaky_service& svc);  // with_timeout / timeout: a deadline on a future, on the timer service
void tour_14(tour::flaky_service& svc);  // task_group: fetch_all, fetch_with_errors, first failure cancels, deadline
void tour_15(tour::flaky_service& svc);  // retry: exponential backoff with jitter, on the timer service
void tour_16(tour::flaky_service& svc);  // simulation: a race found under 1,000 seeded interleavings, replayed, fixed
void tour_17(tour::flaky_service& svc);  // semaphore: at most 3 fetches in flight, no thread waiting for a permit
void tour_18(tour::flaky_service& svc);  // event: one start signal for many waiting workers
void tour_19(tour::flaky_service& svc);  // async_queue: producer and consumers, finished by close()
void tour_20(tour::flaky_service& svc);  // condition + bounded_buffer: producers and consumers through a buffer of 2
void tour_21(tour::flaky_service& svc);  // async_mutex: a rate limiter's state guarded across a sleep
void tour_22(tour::flaky_service& svc);  // batch / for_each_bounded: batch insert, a bounded fetch in key order

namespace tour {

/// Prints one indented line of an example's report (call from main's thread).
inline void say(const std::string& line) { std::printf("   %s\n", line.c_str()); }

/// "12.3 ms"
inline std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

}  // namespace tour

#endif  // WEFT_TOUR_TOUR_HPP
