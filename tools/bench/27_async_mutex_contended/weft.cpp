// Workload 27: 64 tasks x 10,000 lock + unlock of one async_mutex on
// weft's pool (opts().threads workers), each task a loop of continuations:
// lock, a tiny critical section (record who entered last), unlock, lock
// again. A task that finds the mutex held is a queued future; the unlock
// hands the lock to the first in line (FIFO). One op is one lock + unlock;
// owner_change_share is the share of locks that changed owner.
// `weft-try` first goes round with try_lock() for as long as it gets the
// lock (never past a waiter), and only then waits with lock().
//
// Baseline: 64 threads doing the same on a std::mutex (std.cpp). No
// target: the issue asks for the figure.
#include "weft/async_mutex.hpp"

#include <cstddef>

#include "common/pools.hpp"
#include "common/weft_contenders.hpp"
#include "harness.hpp"

namespace bench {
int async_mutex_contenders() { return 64; }
std::size_t async_mutex_contended_rounds(const state& s) { return s.quick() ? 10 : 10000; }
}  // namespace bench

namespace {

void run_weft(bench::state& s) {
  weft::async_mutex m(bench::weft_pool());
  bench::weft_contended(
      s, [&m] { return m.lock(); }, [] { return weft::async_mutex::guard(); }, bench::async_mutex_contenders(),
      bench::async_mutex_contended_rounds(s));
}

void run_weft_try(bench::state& s) {
  weft::async_mutex m(bench::weft_pool());
  bench::weft_contended(
      s, [&m] { return m.lock(); }, [&m] { return m.try_lock(); }, bench::async_mutex_contenders(),
      bench::async_mutex_contended_rounds(s));
}

const bool registered =
    bench::add_workload({"27-async-mutex-contended",
                         "64 tasks x 10,000 lock + unlock of one async_mutex",
                         "one lock + critical section + unlock",
                         "std::mutex, 64 threads",
                         {}}) &&
    bench::add_impl("27-async-mutex-contended", "weft", run_weft) &&
    bench::add_impl("27-async-mutex-contended", "weft-try", run_weft_try);

}  // namespace
