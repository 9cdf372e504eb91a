// Workload 27, peer: 64 threads x 10,000 lock + unlock of one std::mutex,
// with the same critical section as weft's tasks.
#include <cstddef>

#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {
int async_mutex_contenders();
std::size_t async_mutex_contended_rounds(const state& s);
}  // namespace bench

namespace {

void run(bench::state& s) {
  bench::mutex_as_semaphore m;
  bench::contended_semaphore(s, m, bench::async_mutex_contenders(), bench::async_mutex_contended_rounds(s));
}

const bool registered = bench::add_impl("27-async-mutex-contended", "std", run);

}  // namespace
