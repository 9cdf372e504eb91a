// Workload 12, peer: tbb::task_arena::enqueue into an arena with no slot
// reserved for the submitting thread (report only).
#include <functional>

#include "12_idle_latency/latency.hpp"
#include "common/pools.hpp"

namespace {

bool register_all() {
  for (const bench::idle_case& c : bench::idle_cases) {
    const std::chrono::microseconds idle = c.idle;
    bench::add_impl(c.id, "tbb-enqueue", [idle](bench::state& s) {
      tbb::task_arena& arena = bench::tbb_enqueue_arena();
      bench::probe_latency(s, idle, [&arena](std::function<void()> t) { arena.enqueue(std::move(t)); });
    });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
