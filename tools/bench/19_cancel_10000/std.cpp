// Workload 16, peer: std::stop_source::request_stop with 10,000
// std::stop_callbacks (C++20: this file is built as C++20, see meson.build).
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
  const std::size_t per_source = s.quick() ? 100 : 10000;
  const std::size_t sources_n = s.quick() ? 2 : 10;
  std::vector<std::stop_source> sources(sources_n);
  long long fired = 0;
  std::deque<std::stop_callback<bump>> callbacks;
  for (std::size_t k = 0; k < sources_n; ++k) {
    const std::stop_token t = sources[k].get_token();
    for (std::size_t i = 0; i < per_source; ++i) callbacks.emplace_back(t, bump{&fired});
  }
  s.start();
  for (std::size_t k = 0; k < sources_n; ++k) sources[k].request_stop();
  s.stop();
  s.set_ops(static_cast<double>(per_source * sources_n));
  bench::keep(fired);
}

const bool registered = bench::add_impl("19-cancel-10000", "std", run);

}  // namespace
