// Workload 15, peer: 100,000 asio::steady_timers, each with an async_wait
// of an hour pending, made from the bench's thread on the shared
// io_context. The timer objects live in a vector reserved beforehand, so
// bytes/op and live_bytes_per_timer are what asio allocates per wait;
// user_side_bytes is sizeof(asio::steady_timer), which the caller must
// keep alive while it waits (weft's caller keeps an 8-byte future).
#include "common/asio_timer_peer.hpp"

#include <malloc.h>

#include <chrono>
#include <cstddef>
#include <future>
#include <vector>

#include "harness.hpp"

namespace {

void run(bench::state& s) {
  const std::size_t n = s.quick() ? 1000 : 100000;
  bench::asio_io_t& a = bench::asio_io();
  std::vector<asio::steady_timer> timers;
  timers.reserve(n);
  std::size_t ended = 0;
  std::promise<void> all_ended;
  const std::size_t live0 = mallinfo2().uordblks;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    timers.emplace_back(a.io);
    timers.back().expires_after(std::chrono::hours(1));
    timers.back().async_wait([&](const std::error_code&) {
      if (++ended == n) all_ended.set_value();
    });
  }
  s.stop();
  const std::size_t live1 = mallinfo2().uordblks;
  s.set_ops(static_cast<double>(n));
  s.metric("live_bytes_per_timer", static_cast<double>(live1 - live0) / static_cast<double>(n));
  s.metric("user_side_bytes", static_cast<double>(sizeof(asio::steady_timer)));
  asio::post(a.io, [&] {
    for (auto& t : timers) t.cancel();
  });
  all_ended.get_future().wait();
  std::promise<void> gone;
  asio::post(a.io, [&] {
    timers.clear();
    gone.set_value();
  });
  gone.get_future().wait();
}

const bool registered = bench::add_impl("15-timer-pending-bytes", "asio", run);

}  // namespace
