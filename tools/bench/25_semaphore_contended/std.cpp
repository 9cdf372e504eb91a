// Workload 25, peer: 8 threads contending a std::counting_semaphore
// (C++20: this file is built as C++20, see meson.build).
#include <cstddef>
#include <semaphore>

#include "25_semaphore_contended/cases.hpp"
#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace {

bool register_all() {
  for (const bench::semaphore_contended_case& c : bench::semaphore_contended_cases) {
    const std::ptrdiff_t count = c.count;
    bench::add_impl(c.id, "std", [count](bench::state& s) {
      std::counting_semaphore<> sem(count);
      bench::contended_semaphore(s, sem, bench::semaphore_contenders, bench::semaphore_contended_rounds(s));
    });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
