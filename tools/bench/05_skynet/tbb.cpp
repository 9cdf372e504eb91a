// Workload 5, peer: skynet with a tbb::task_group per node, the baseline
// (weft's target: <= 2.5x this).
#include <stdexcept>

#include <oneapi/tbb/task_group.h>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

using num = long long;

num skynet(num first, num size) {
  if (size == 1) return first;
  const num child = size / 10;
  num results[10];
  tbb::task_group g;
  for (num i = 0; i < 10; ++i) {
    g.run([&results, i, first, child] { results[i] = skynet(first + i * child, child); });
  }
  g.wait();
  num sum = 0;
  for (num x : results) sum += x;
  return sum;
}

void run(bench::state& s) {
  const num leaves = s.quick() ? 1000 : 1000000;
  num r = 0;
  s.start();
  bench::tbb_arena().execute([&] { r = skynet(0, leaves); });
  s.stop();
  s.set_ops(static_cast<double>(leaves));
  if (r != leaves * (leaves - 1) / 2) throw std::runtime_error("05 tbb: wrong skynet sum");
}

const bool registered = bench::add_impl("05-skynet", "tbb", run);

}  // namespace
