// Workload 22, peer: std::counting_semaphore acquire + release with no
// waiter (C++20: this file is built as C++20, see meson.build).
#include <cstddef>
#include <semaphore>

#include "common/multithreaded.hpp"
#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {
std::size_t semaphore_uncontended_ops(const state& s);
}

namespace {

void run(bench::state& s) {
  bench::make_multithreaded();
  std::counting_semaphore<> sem(4);
  bench::uncontended_semaphore(s, sem, bench::semaphore_uncontended_ops(s));
}

const bool registered = bench::add_impl("22-semaphore-uncontended", "std", run);

}  // namespace
