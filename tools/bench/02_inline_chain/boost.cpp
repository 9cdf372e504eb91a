// Workload 2, peer: boost::future::then(boost::launch::sync), the baseline
// (weft's target is <= 0.3x this). Boost runs a sync continuation inside
// the call that completes its parent, so the chain recurses: ~176 bytes of
// stack per link here, hence the 1 GiB stack of the thread it runs on.
#include "common/boost_peer.hpp"

#include <cstddef>
#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

char* lowest_frame = nullptr;

__attribute__((noinline)) void note_frame() {
  char here;
  char* p = &here;
  asm volatile("" : : "r"(p) : "memory");
  if (p < lowest_frame) lowest_frame = p;
}

void run(bench::state& s, std::size_t n) {
  bench::run_on_big_stack([&] {
    char base;
    char* const base_p = &base;
    asm volatile("" : : "r"(base_p) : "memory");
    s.start();
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    for (std::size_t i = 0; i < n; ++i) {
      f = f.then(boost::launch::sync, [](boost::future<int> x) {
        note_frame();
        return x.get() + 1;
      });
    }
    lowest_frame = base_p;
    p.set_value(0);
    const int r = f.get();
    s.stop();
    s.set_ops(static_cast<double>(n));
    s.metric("stack_bytes", static_cast<double>(base_p - lowest_frame));
    if (static_cast<std::size_t>(r) != n) throw std::runtime_error("02 boost: wrong chain result");
  });
}

const bool registered =
    bench::add_impl("02a-inline-chain-10k", "boost", [](bench::state& s) { run(s, s.quick() ? 100 : 10000); }) &&
    bench::add_impl("02b-inline-chain-1M", "boost", [](bench::state& s) { run(s, s.quick() ? 100 : 1000000); });

}  // namespace
