// Workload 12, peer: boost::asio::post to an asio::thread_pool (report only).
#include "common/asio_peer.hpp"

#include <functional>

#include "12_idle_latency/latency.hpp"

namespace {

bool register_all() {
  for (const bench::idle_case& c : bench::idle_cases) {
    const std::chrono::microseconds idle = c.idle;
    bench::add_impl(c.id, "asio", [idle](bench::state& s) {
      boost::asio::thread_pool& pool = bench::asio_pool();
      bench::probe_latency(s, idle, [&pool](std::function<void()> t) { boost::asio::post(pool, std::move(t)); });
    });
  }
  return true;
}

const bool registered = register_all();

}  // namespace
