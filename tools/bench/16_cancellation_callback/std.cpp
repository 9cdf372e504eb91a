// Workload 13, peer: std::stop_callback register + deregister on a
// std::stop_token (C++20: this file is built as C++20, see meson.build).
#include <cstddef>
#include <stop_token>

#include "common/multithreaded.hpp"
#include "harness.hpp"

namespace {

struct bump {
  long long* fired;
  void operator()() const noexcept { ++*fired; }
};

void run(bench::state& s) {
  bench::make_multithreaded();
  const std::size_t n = s.quick() ? 1000 : 1000000;
  std::stop_source src;
  const std::stop_token token = src.get_token();
  long long fired = 0;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    std::stop_callback<bump> cb(token, bump{&fired});
    bench::keep(cb);
  }
  s.stop();
  s.set_ops(static_cast<double>(n));
  bench::keep(fired);
}

const bool registered = bench::add_impl("16-cancellation-callback", "std", run);

}  // namespace
