// Workload 25: 8 tasks contend a semaphore of 1 (25a) and of 4 (25b) on
// weft's pool (opts().threads workers: 2 on the 2-vCPU host of the issue's
// figures), 25,000 rounds each: acquire, a tiny critical section (record
// who entered last), release, acquire again. Each task is a loop of
// continuations; a task that finds no permit is a queued future, and a
// release hands the permit to the first in line (FIFO), so at a count of
// 1 the owner changes at nearly every acquisition. One op is one acquisition;
// owner_change_share is the share of acquisitions that changed owner.
// `weft-try` first goes round with try_acquire() for as long as it gets a
// permit (it never jumps the queue: with anyone waiting it fails), and
// only then waits with acquire(): a task keeps its worker while the
// semaphore has room, as a thread keeps its core.
//
// Baselines: 8 threads doing the same on a std::counting_semaphore (C++20,
// see meson.build; target at count 4: weft <= 1x) and on a mutex +
// condition_variable semaphore (common/semaphore_peers.hpp).
#include "weft/semaphore.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include "25_semaphore_contended/cases.hpp"
#include "common/pools.hpp"
#include "common/semaphore_peers.hpp"
#include "common/weft_contenders.hpp"
#include "harness.hpp"

namespace {

void run_weft(bench::state& s, std::ptrdiff_t count) {
  weft::semaphore sem(count, bench::weft_pool());
  bench::weft_contended(
      s, [&sem] { return sem.acquire(); }, [] { return weft::semaphore::permit(); }, bench::semaphore_contenders,
      bench::semaphore_contended_rounds(s));
}

void run_weft_try(bench::state& s, std::ptrdiff_t count) {
  weft::semaphore sem(count, bench::weft_pool());
  bench::weft_contended(
      s, [&sem] { return sem.acquire(); }, [&sem] { return sem.try_acquire(); }, bench::semaphore_contenders,
      bench::semaphore_contended_rounds(s));
}

void run_condvar(bench::state& s, std::ptrdiff_t count) {
  bench::condvar_semaphore sem(count);
  bench::contended_semaphore(s, sem, bench::semaphore_contenders, bench::semaphore_contended_rounds(s));
}

bool register_all() {
  for (const bench::semaphore_contended_case& c : bench::semaphore_contended_cases) {
    const std::ptrdiff_t count = c.count;
    std::vector<bench::target> targets;
    if (count == 4) targets.push_back(bench::ratio_target("std", 1.0, "weft <= 1x std::counting_semaphore at count 4"));
    bench::add_workload({c.id, "8 tasks contending a semaphore of " + std::to_string(count) + ", 8 x 25k acquisitions",
                         "one acquisition (acquire, critical section, release)",
                         "std::counting_semaphore, 8 threads; mutex + condvar semaphore, 8 threads",
                         targets});
    bench::add_impl(c.id, "weft", [count](bench::state& s) { run_weft(s, count); });
    bench::add_impl(c.id, "weft-try", [count](bench::state& s) { run_weft_try(s, count); });
    bench::add_impl(c.id, "condvar", [count](bench::state& s) { run_condvar(s, count); });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
