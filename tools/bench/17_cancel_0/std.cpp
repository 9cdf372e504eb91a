// Workload 14, peer: std::stop_source::request_stop with no callback
// (C++20: this file is built as C++20, see meson.build).
#include <cstddef>
#include <stop_token>
#include <vector>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 200000;
  std::vector<std::stop_source> sources(n);
  std::size_t won = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) won += sources[i].request_stop() ? 1 : 0;
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(won);
}

const bool registered = bench::add_impl("17-cancel-0", "std", run);

}  // namespace
