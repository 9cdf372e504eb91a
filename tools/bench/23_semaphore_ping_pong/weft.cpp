// Workload 23: a hand-off ping-pong through two semaphores. Two loops of
// continuations on weft's pool, A and B: A waits for a permit of `ping`,
// then releases one of `pong`; B the other way round. One op is a round
// trip (A -> B -> A); no thread ever waits: a waiting side is a queued
// future, and the release hands its continuation to the pool.
//
// Baselines: the same between two threads through std::counting_semaphore
// (C++20, see meson.build; target weft <= 0.3x) and through a mutex +
// condition_variable semaphore, where each hand-off wakes a sleeping
// thread.
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/semaphore.hpp"

#include <cstddef>

#include "common/pools.hpp"
#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {
std::size_t semaphore_ping_pong_rounds(const state& s) { return s.quick() ? 200 : 50000; }
}  // namespace bench

namespace {

// One side: `left` times, wait for a permit of `mine`, consume it, release
// one of `other`.
struct side {
  weft::semaphore& mine;
  weft::semaphore& other;
  std::size_t left;
  weft::promise<void> done;

  void next() {
    if (left == 0) {
      done.set_value();
      return;
    }
    --left;
    mine.acquire().then([this](weft::semaphore::permit p) {
      p.forget();
      other.release();
      next();
    });
  }
};

void run_weft(bench::state& s) {
  const std::size_t n = bench::semaphore_ping_pong_rounds(s);
  weft::thread_pool& pool = bench::weft_pool();
  weft::semaphore ping(0, pool), pong(0, pool);
  side a{ping, pong, n, weft::promise<void>(pool)};
  side b{pong, ping, n, weft::promise<void>(pool)};
  weft::future<void> a_done = a.done.get_future(), b_done = b.done.get_future();
  a.next();
  b.next();
  s.start();
  ping.release();
  a_done.get();
  b_done.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
}

void run_condvar(bench::state& s) {
  bench::condvar_semaphore ping(0), pong(0);
  bench::thread_ping_pong(s, ping, pong, bench::semaphore_ping_pong_rounds(s));
}

const bool registered =
    bench::add_workload({"23-semaphore-ping-pong",
                         "hand-off ping-pong through two semaphores",
                         "one round trip (two hand-offs)",
                         "std::counting_semaphore between two threads; mutex + condvar semaphore",
                         {bench::ratio_target("std", 0.3, "weft <= 0.3x std::counting_semaphore")}}) &&
    bench::add_impl("23-semaphore-ping-pong", "weft", run_weft) &&
    bench::add_impl("23-semaphore-ping-pong", "condvar", run_condvar);

}  // namespace
