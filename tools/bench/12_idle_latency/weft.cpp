// Workload 12: idle -> first task latency of weft's pool after 0, 0.1 and
// 2 ms idle (p50, p90), a task submitted from outside the pool.
//
// Peers: tbb::task_arena::enqueue, boost::asio::post. Report only: no
// target (the VM's wake-up latency dominates after ~1 ms idle).
#include "weft/thread_pool.hpp"

#include "12_idle_latency/latency.hpp"
#include "common/pools.hpp"

namespace {

bool register_all() {
  for (const bench::idle_case& c : bench::idle_cases) {
    const std::string ms = c.idle.count() == 0 ? "0" : c.idle.count() == 100 ? "0.1" : "2";
    bench::workload w{c.id, "idle -> first task latency after " + ms + " ms idle", "one sample",
                      "tbb enqueue; asio post (report only)", {}, true};
    bench::add_workload(w);
    const std::chrono::microseconds idle = c.idle;
    bench::add_impl(c.id, "weft", [idle](bench::state& s) {
      weft::thread_pool& pool = bench::weft_pool();
      bench::probe_latency(s, idle, [&pool](weft::unique_task t) { pool.execute(std::move(t)); });
    });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
