// Workload 28: memory per waiter parked on a coordination primitive:
// 100,000 waiters on a semaphore with no permit (28a, acquire()), an event
// that is not set (28b, wait()) and an empty async_queue (28c, pop(); only
// where <weft/async_queue.hpp> exists). The futures are kept in a vector
// reserved beforehand, so the figures are the primitive's cost per waiter:
// bytes/op, what operator new was asked for in the window, and
// live_bytes_per_waiter, what malloc holds at the end of the window over
// what it held at its start (mallinfo2, malloc's own overhead included).
// user_side_bytes is what the waiter keeps: its future. No thread is
// created or blocked per waiter (thr/run).
//
// Baselines: asio's pending operation (asio.cpp: an async_receive on an
// empty concurrent_channel) and a thread blocked on a condition variable
// (thread.cpp). Expected: weft <= 128 live bytes per waiter, no thread.
#include "weft/event.hpp"
#include "weft/semaphore.hpp"
#if __has_include(<weft/async_queue.hpp>)
#include "weft/async_queue.hpp"
#endif

#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "28_parked_waiters/cases.hpp"
#include "common/pools.hpp"
#include "harness.hpp"

namespace {

// Parks n waiters through `wait()` (which returns a future) in the window,
// reports, then lets `wake()` end them.
template <class Wait, class Wake>
void park(bench::state& s, Wait wait, Wake wake) {
  const std::size_t n = bench::parked_waiters(s);
  std::vector<decltype(wait())> waiters;
  waiters.reserve(n);
  const std::size_t live0 = mallinfo2().uordblks;
  s.start();
  for (std::size_t i = 0; i < n; ++i) waiters.push_back(wait());
  s.stop();
  const std::size_t live1 = mallinfo2().uordblks;
  s.set_ops(static_cast<double>(n));
  s.metric("live_bytes_per_waiter", static_cast<double>(live1 - live0) / static_cast<double>(n));
  s.metric("user_side_bytes", static_cast<double>(sizeof(decltype(wait()))));
  wake(n);
  waiters.clear();
}

void run(bench::state& s, bench::parked_on what) {
  weft::thread_pool& pool = bench::weft_pool();
  switch (what) {
    case bench::parked_on::semaphore: {
      weft::semaphore sem(0, pool);
      park(s, [&] { return sem.acquire(); },
           [&](std::size_t n) {
             s.metric("waiting", static_cast<double>(sem.waiting()));
             sem.release(static_cast<std::ptrdiff_t>(n));
           });
      break;
    }
    case bench::parked_on::event: {
      weft::event ev(pool);
      park(s, [&] { return ev.wait(); },
           [&](std::size_t) {
             s.metric("waiting", static_cast<double>(ev.waiting()));
             ev.set();
           });
      break;
    }
    case bench::parked_on::queue: {
#if __has_include(<weft/async_queue.hpp>)
      // Each waiting pop is given an item (try_push hands it straight to
      // the first waiter): closing instead would fail 100k futures that
      // are then dropped unobserved, each reported as an unhandled error.
      weft::async_queue<std::uint64_t> q(1, pool);
      park(s, [&] { return q.pop(); },
           [&](std::size_t n) {
             for (std::size_t i = 0; i < n; ++i) {
               if (!q.try_push(std::uint64_t(i))) throw std::runtime_error("workload 28: a parked pop was not there");
             }
           });
#endif
      break;
    }
  }
}

bool register_all() {
  for (const bench::parked_case& c : bench::parked_cases) {
    const bench::parked_on what = c.what;
    bench::add_workload({c.id, std::string("memory per waiter parked on ") + c.name + " (100k waiting)",
                         "one parked waiter (ns/op: the time to park it)",
                         "asio channel async_receive pending; a thread blocked on a condvar",
                         {bench::figure_target("live_bytes_per_waiter", 128, "<= 128 live heap bytes per waiter"),
                          bench::figure_target("threads_created_per_run", 0, "no thread per waiter")}});
    bench::add_impl(c.id, "weft", [what](bench::state& s) { run(s, what); });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
