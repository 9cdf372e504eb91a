// Workload 9: 10k short blocking calls through weft::offload, issued from
// one thread, then get() all. The call is a 10 us sleep: a system call that
// parks its thread, like a quick file or socket call.
//
// Baseline: one std::thread per call, all started, then all joined
// (std::thread create+join costs 66,000-72,000 ns here). Expected ratio:
// weft >= 20x faster (a ratio <= 0.05).
//
// weft's calls go to a blocking_pool of the bench's own, with the default
// bound (256 threads) and a 60 s idle timeout instead of the default 5 s:
// interleaved with the std::thread peer, which takes seconds per run on a
// loaded machine, the default pool would time out its threads between
// weft's runs and every run would measure thread start-up again.
#include "weft/blocking_pool.hpp"

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

weft::blocking_pool& calls_pool() {
  static auto* pool = new weft::blocking_pool(256, std::chrono::seconds(60));
  return *pool;
}

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  weft::blocking_pool& pool = calls_pool();
  std::vector<weft::future<int>> futures;
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    futures.push_back(weft::offload(pool, [] {
      std::this_thread::sleep_for(std::chrono::microseconds(10));
      return 1;
    }));
  }
  for (weft::future<int>& f : futures) sum += f.get();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"09-offload",
                         "10k short blocking calls (10 us sleep) through offload",
                         "one blocking call",
                         "one std::thread per call",
                         {bench::ratio_target("std-thread", 0.05, "weft >= 20x faster than a std::thread per call")}}) &&
    bench::add_impl("09-offload", "weft", run);

}  // namespace
