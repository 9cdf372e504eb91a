// Workload 24: lock and unlock an async_mutex nobody else uses, 1M times on
// one thread: what guarding shared state with it costs when there is no
// contention.
//
// Baseline: std::mutex lock + unlock (target weft <= 2x). `weft` is lock()
// (a ready future<guard>, one allocation for its state) and get();
// `weft-try` is try_lock(), no future.
#include "weft/async_mutex.hpp"

#include <cstddef>
#include <mutex>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

std::size_t ops(const bench::state& s) { return s.quick() ? 1000 : 1000000; }

// `lock` gets a guard from the mutex: the two weft variants differ in that
// step only.
template <class Lock>
void run_loop(bench::state& s, Lock lock) {
  bench::make_multithreaded();
  const std::size_t n = ops(s);
  weft::async_mutex m(weft::inline_executor());
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    weft::async_mutex::guard g = lock(m);
    sum += static_cast<long long>(i);
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

void run_weft(bench::state& s) {
  run_loop(s, [](weft::async_mutex& m) { return m.lock().get(); });
}

void run_weft_try(bench::state& s) {
  run_loop(s, [](weft::async_mutex& m) { return m.try_lock(); });
}

void run_std(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = ops(s);
  std::mutex m;
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    std::lock_guard<std::mutex> g(m);
    sum += static_cast<long long>(i);
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"24-async-mutex-uncontended",
                         "async_mutex lock + unlock with no contention, 1M",
                         "lock and unlock once",
                         "std::mutex",
                         {bench::ratio_target("std", 2.0, "weft <= 2x std::mutex")}}) &&
    bench::add_impl("24-async-mutex-uncontended", "weft", run_weft) &&
    bench::add_impl("24-async-mutex-uncontended", "weft-try", run_weft_try) &&
    bench::add_impl("24-async-mutex-uncontended", "std", run_std);

}  // namespace
