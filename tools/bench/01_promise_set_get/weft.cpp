// Workload 1: promise -> set_value -> get on one thread, 1M times.
//
// Baseline: boost::promise (182-235 ns measured here before weft existed).
// Expected ratio: weft <= 0.3x boost::promise, and no system call per
// operation. std::promise (1,220-1,410 ns: glibc does a futex wake on every
// set_value) is shown beside it.
#include "weft/promise.hpp"

#include <cstddef>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  weft::executor& ex = bench::weft_pool();  // never used: nothing continues
  long long sum = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    weft::promise<int> p(ex);
    weft::future<int> f = p.get_future();
    p.set_value(static_cast<int>(i));
    sum += f.get();
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(sum);
}

const bool registered =
    bench::add_workload({"01-promise-set-get",
                         "promise -> set_value -> get on one thread, 1M",
                         "make a promise, take its future, set_value, get",
                         "boost::promise",
                         {bench::ratio_target("boost", 0.3, "weft <= 0.3x boost::promise"),
                          bench::figure_target("syscalls_per_op", 0.01, "no syscall per operation (< 0.01/op)")}}) &&
    bench::add_impl("01-promise-set-get", "weft", run);

}  // namespace
