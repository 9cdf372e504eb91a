// Workload 9: 10k short blocking calls through weft::offload, issued from
// one thread, then get() all. The call is a 10 us sleep: a system call that
// parks its thread, like a quick file or socket call.
//
// Baseline: one std::thread per call, all started, then all joined
// (std::thread create+join costs 66,000-72,000 ns here). Expected ratio:
// weft >= 20x faster (a ratio <= 0.05).
#include "weft/blocking_pool.hpp"

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 100 : 10000;
  std::vector<weft::future<int>> futures;
  futures.reserve(n);
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    futures.push_back(weft::offload([] {
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
