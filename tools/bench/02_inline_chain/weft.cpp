// Workload 2: attach a chain of 10k (and of 1M) then(inline_executor(), ...)
// links to a pending future, then set_value and get the end of the chain.
//
// Baseline: boost::future::then(boost::launch::sync) (295-450 ns/link
// measured here before weft existed). Expected ratio: weft <= 0.3x Boost,
// with a stack depth that does not grow with the chain (weft's inline
// executor trampolines; Boost recurses once per link, so both run on a
// thread with a 1 GiB stack). "stack_bytes" is how far below the frame that
// calls set_value the deepest link ran.
#include "weft/executor.hpp"
#include "weft/promise.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "common/pools.hpp"
#include "harness.hpp"

namespace {

char* lowest_frame = nullptr;  // only the big-stack thread touches it

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
    weft::executor& inl = weft::inline_executor();
    s.start();
    weft::promise<int> p(inl);
    weft::future<int> f = p.get_future();
    for (std::size_t i = 0; i < n; ++i) {
      f = f.then(inl, [](int x) {
        note_frame();
        return x + 1;
      });
    }
    lowest_frame = base_p;
    p.set_value(0);
    const int r = f.get();
    s.stop();
    s.set_ops(static_cast<double>(n));
    s.metric("stack_bytes", static_cast<double>(base_p - lowest_frame));
    if (static_cast<std::size_t>(r) != n) throw std::runtime_error("02 weft: wrong chain result");
  });
}

const std::size_t small = 10000, large = 1000000, quick = 100;

const bool registered =
    bench::add_workload({"02a-inline-chain-10k",
                         "attach 10k then(inline_executor()) links, then set_value",
                         "one chain link (attach + run)",
                         "boost::future::then(launch::sync)",
                         {bench::ratio_target("boost", 0.3, "weft <= 0.3x boost then(launch::sync)"),
                          bench::figure_target("stack_bytes", 65536,
                                               "constant stack depth: < 64 KiB below set_value at any length")}}) &&
    bench::add_workload({"02b-inline-chain-1M",
                         "attach 1M then(inline_executor()) links, then set_value",
                         "one chain link (attach + run)",
                         "boost::future::then(launch::sync)",
                         {bench::ratio_target("boost", 0.3, "weft <= 0.3x boost then(launch::sync)"),
                          bench::figure_target("stack_bytes", 65536,
                                               "constant stack depth: < 64 KiB below set_value at any length")}}) &&
    bench::add_impl("02a-inline-chain-10k", "weft", [](bench::state& s) { run(s, s.quick() ? quick : small); }) &&
    bench::add_impl("02b-inline-chain-1M", "weft", [](bench::state& s) { run(s, s.quick() ? quick : large); });

}  // namespace
