// Workload 4: fib(25) with one future per call, written the way a C++14
// user would: async() the first half, compute the second, get() the first.
// On a pool worker get() suspends the waiting task (oneTBB resumable
// tasks) unless the future is ready.
//
// Baseline: tbb::task_group fib (37-41 ns per call measured here before
// weft). Expected ratio: weft <= 2x TBB (stretch goal 1.5x). One op is one
// call of fib(); fib(25) makes 242,785 calls.
#include "weft/async.hpp"

#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

int fib(weft::thread_pool& pool, int n) {
  if (n < 2) return n;
  weft::future<int> a = weft::async(pool, [&pool, n] { return fib(pool, n - 1); });
  const int b = fib(pool, n - 2);
  return a.get() + b;
}

}  // namespace

namespace bench {
int fib_arg(const state& s) { return s.quick() ? 15 : 25; }
double fib_calls(int n) {
  // calls(n) = 2 * fib(n + 1) - 1
  double a = 0, b = 1;
  for (int i = 0; i < n + 1; ++i) {
    const double t = a + b;
    a = b;
    b = t;
  }
  return 2 * a - 1;
}
int fib_value(int n) { return n < 2 ? n : fib_value(n - 1) + fib_value(n - 2); }
}  // namespace bench

namespace {

void run(bench::state& s) {
  const int n = bench::fib_arg(s);
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  const int r = weft::async(pool, [&pool, n] { return fib(pool, n); }).get();
  s.stop();
  s.set_ops(bench::fib_calls(n));
  if (r != bench::fib_value(n)) throw std::runtime_error("04 weft: wrong fib");
}

const bool registered =
    bench::add_workload({"04-fib",
                         "fib(25), one future per call (async + get)",
                         "one call of fib()",
                         "tbb::task_group fib",
                         {bench::ratio_target("tbb", 2.0, "weft <= 2x tbb::task_group fib (stretch 1.5x)")}}) &&
    bench::add_impl("04-fib", "weft", run);

}  // namespace
