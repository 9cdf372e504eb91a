// tools/bench/12_idle_latency/latency.hpp: the probe every implementation
// of workload 12 runs with its own post().
//
// A sample: sleep `idle` (the pool goes idle), read the clock, post a task
// that reads the clock, wait for it; the sample is the difference. Report
// only: this VM's scheduler takes ~1.9 ms to run a thread woken after more
// than ~1 ms idle, whatever library wakes it.
#ifndef WEFT_BENCH_IDLE_LATENCY_HPP
#define WEFT_BENCH_IDLE_LATENCY_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "harness.hpp"

namespace bench {

struct idle_case {
  const char* id;
  std::chrono::microseconds idle;
};
constexpr idle_case idle_cases[] = {
    {"12a-idle-latency-0ms", std::chrono::microseconds(0)},
    {"12b-idle-latency-0.1ms", std::chrono::microseconds(100)},
    {"12c-idle-latency-2ms", std::chrono::microseconds(2000)},
};

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// `post(fn)` submits `fn` (a void() callable) to the pool under test.
template <class Post>
void probe_latency(state& s, std::chrono::microseconds idle, Post post) {
  const int samples = s.quick() ? 3 : 50;
  s.start();
  for (int k = 0; k < samples; ++k) {
    if (idle.count() > 0) std::this_thread::sleep_for(idle);
    std::atomic<std::int64_t> ran_at{0};
    const std::int64_t t0 = now_ns();
    post([&ran_at] { ran_at.store(now_ns(), std::memory_order_release); });
    std::int64_t t1;
    while ((t1 = ran_at.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
    s.sample(static_cast<double>(t1 - t0));
  }
  s.stop();
  s.set_ops(samples);
}

}  // namespace bench

#endif  // WEFT_BENCH_IDLE_LATENCY_HPP
