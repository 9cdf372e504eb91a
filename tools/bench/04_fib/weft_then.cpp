// Workload 4, weft variant for comparison: fib(25) without any blocking
// wait, in continuation style: async() the first half, recurse for the
// second, when_all(a, b).then(add). Not the one the target is judged on
// (that is weft.cpp, one future per call); it shows what the non-blocking
// style costs: several futures per call.
#include "weft/async.hpp"
#include "weft/when_all.hpp"

#include <stdexcept>
#include <tuple>

#include "common/pools.hpp"
#include "harness.hpp"

namespace bench {
int fib_arg(const state& s);
double fib_calls(int n);
int fib_value(int n);
}  // namespace bench

namespace {

weft::future<int> fib(weft::thread_pool& pool, int n) {
  if (n < 2) return weft::make_ready_future(n, pool);
  weft::future<int> a = weft::async(pool, [&pool, n] { return fib(pool, n - 1); });
  weft::future<int> b = fib(pool, n - 2);
  return weft::when_all(std::move(a), std::move(b)).then([](std::tuple<int, int> t) {
    return std::get<0>(t) + std::get<1>(t);
  });
}

void run(bench::state& s) {
  const int n = bench::fib_arg(s);
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  const int r = weft::async(pool, [&pool, n] { return fib(pool, n); }).get();
  s.stop();
  s.set_ops(bench::fib_calls(n));
  if (r != bench::fib_value(n)) throw std::runtime_error("04 weft-then: wrong fib");
}

const bool registered = bench::add_impl("04-fib", "weft-then", run);

}  // namespace
