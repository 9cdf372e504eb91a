// Workload 5: skynet with 1M leaves. Every node async()s 10 children and
// combines them with when_all(children).then(sum); a leaf is an async()
// returning its number. No task blocks.
//
// Baseline: tbb::task_group skynet (21-24 ns per leaf measured here before
// weft). Expected ratio: weft <= 2.5x TBB, with no thread created during a
// run (the thread count stays constant). One op is one leaf.
#include "weft/async.hpp"
#include "weft/when_all.hpp"

#include <stdexcept>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

using num = long long;

weft::future<num> skynet(weft::thread_pool& pool, num first, num size) {
  const num child = size / 10;
  std::vector<weft::future<num>> kids;
  kids.reserve(10);
  for (num i = 0; i < 10; ++i) {
    const num sub = first + i * child;
    if (child == 1) {
      kids.push_back(weft::async(pool, [sub] { return sub; }));
    } else {
      kids.push_back(weft::async(pool, [&pool, sub, child] { return skynet(pool, sub, child); }));
    }
  }
  return weft::when_all(kids).then([](std::vector<num> v) {
    num sum = 0;
    for (num x : v) sum += x;
    return sum;
  });
}

void run(bench::state& s) {
  const num leaves = s.quick() ? 1000 : 1000000;
  weft::thread_pool& pool = bench::weft_pool();
  s.start();
  const num r = weft::async(pool, [&pool, leaves] { return skynet(pool, 0, leaves); }).get();
  s.stop();
  s.set_ops(static_cast<double>(leaves));
  if (r != leaves * (leaves - 1) / 2) throw std::runtime_error("05 weft: wrong skynet sum");
}

const bool registered =
    bench::add_workload({"05-skynet",
                         "skynet, 1M leaves, when_all of 10 + then per node",
                         "one leaf",
                         "tbb::task_group skynet",
                         {bench::ratio_target("tbb", 2.5, "weft <= 2.5x tbb::task_group skynet"),
                          bench::figure_target("threads_created_per_run", 0, "thread count constant (0 created per run)")}}) &&
    bench::add_impl("05-skynet", "weft", run);

}  // namespace
