// Workload 3, peer: a tbb::task_group chain in which each task spawns the
// next (weft's target: <= 1.5x this). Runs in an arena of opts().threads
// slots, the calling thread taking one.
#include <cstddef>
#include <stdexcept>

#include <oneapi/tbb/task_group.h>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

struct link {
  tbb::task_group* group;
  std::size_t left;
  std::size_t value;
  std::size_t* out;
  void operator()() const {
    if (left == 0) {
      *out = value;
      return;
    }
    group->run(link{group, left - 1, value + 1, out});
  }
};

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 1000000;
  std::size_t r = 0;
  s.start();
  bench::tbb_arena().execute([&] {
    tbb::task_group g;
    g.run(link{&g, n, 0, &r});
    g.wait();
  });
  s.stop();
  s.set_ops(static_cast<double>(n));
  if (r != n) throw std::runtime_error("03 tbb: wrong chain result");
}

const bool registered = bench::add_impl("03-pool-chain", "tbb", run);

}  // namespace
