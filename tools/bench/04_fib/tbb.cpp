// Workload 4, peer: fib(25) with a tbb::task_group per call, the baseline
// (weft's target: <= 2x this). Runs in an arena of opts().threads slots.
#include <stdexcept>

#include <oneapi/tbb/task_group.h>

#include "common/pools.hpp"
#include "harness.hpp"

namespace bench {
int fib_arg(const state& s);
double fib_calls(int n);
int fib_value(int n);
}  // namespace bench

namespace {

int fib(int n) {
  if (n < 2) return n;
  int a = 0, b = 0;
  tbb::task_group g;
  g.run([&a, n] { a = fib(n - 1); });
  b = fib(n - 2);
  g.wait();
  return a + b;
}

void run(bench::state& s) {
  const int n = bench::fib_arg(s);
  int r = 0;
  s.start();
  bench::tbb_arena().execute([&] { r = fib(n); });
  s.stop();
  s.set_ops(bench::fib_calls(n));
  if (r != bench::fib_value(n)) throw std::runtime_error("04 tbb: wrong fib");
}

const bool registered = bench::add_impl("04-fib", "tbb", run);

}  // namespace
