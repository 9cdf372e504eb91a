// Workload 22: acquire one permit of a semaphore nobody waits on, then give
// it back, 1M times on one thread: what a connection limit costs when it
// does not limit.
//
// Baselines: a std::mutex + std::condition_variable semaphore (the legacy
// hand-written one; target weft <= 1.5x, and no system call), and C++20's
// std::counting_semaphore (built as C++20, see meson.build). `weft` is
// acquire() (a ready future<permit>, one allocation for its state) and
// get(); `weft-try` is try_acquire(), no future.
#include "weft/semaphore.hpp"

#include <cstddef>

#include "common/multithreaded.hpp"
#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {
std::size_t semaphore_uncontended_ops(const state& s) { return s.quick() ? 1000 : 1000000; }
}  // namespace bench

namespace {

// `take` gets a permit from the semaphore: the two weft variants differ in
// that step only.
template <class Take>
void run_loop(bench::state& s, Take take) {
  bench::make_multithreaded();
  const std::size_t n = bench::semaphore_uncontended_ops(s);
  weft::semaphore sem(4, weft::inline_executor());
  std::ptrdiff_t held = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    weft::semaphore::permit p = take(sem);
    held += p.count();
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(held);
}

void run_weft(bench::state& s) {
  run_loop(s, [](weft::semaphore& sem) { return sem.acquire().get(); });
}

void run_weft_try(bench::state& s) {
  run_loop(s, [](weft::semaphore& sem) { return sem.try_acquire(); });
}

void run_condvar(bench::state& s) {
  bench::make_multithreaded();
  bench::condvar_semaphore sem(4);
  bench::uncontended_semaphore(s, sem, bench::semaphore_uncontended_ops(s));
}

const bool registered =
    bench::add_workload({"22-semaphore-uncontended",
                         "semaphore acquire + release with no waiter, 1M",
                         "acquire one permit and give it back",
                         "mutex + condition_variable semaphore; std::counting_semaphore",
                         {bench::ratio_target("condvar", 1.5, "weft <= 1.5x a mutex + condvar semaphore"),
                          bench::figure_target("syscalls_per_op", 0.01, "no system call (< 0.01/op)")}}) &&
    bench::add_impl("22-semaphore-uncontended", "weft", run_weft) &&
    bench::add_impl("22-semaphore-uncontended", "weft-try", run_weft_try) &&
    bench::add_impl("22-semaphore-uncontended", "condvar", run_condvar);

}  // namespace
