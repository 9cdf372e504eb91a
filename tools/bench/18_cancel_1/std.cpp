// Workload 15, peer: std::stop_source::request_stop with one
// std::stop_callback (C++20: this file is built as C++20, see meson.build).
#include <cstddef>
#include <deque>
#include <stop_token>
#include <vector>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

struct bump {
  long long* fired;
  void operator()() const noexcept { ++*fired; }
};

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 100000;
  std::vector<std::stop_source> sources(n);
  long long fired = 0;
  std::deque<std::stop_callback<bump>> callbacks;
  for (std::size_t i = 0; i < n; ++i) callbacks.emplace_back(sources[i].get_token(), bump{&fired});
  s.start();
  for (std::size_t i = 0; i < n; ++i) sources[i].request_stop();
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(fired);
}

const bool registered = bench::add_impl("18-cancel-1", "std", run);

}  // namespace
