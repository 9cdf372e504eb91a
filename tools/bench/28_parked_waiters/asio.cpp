// Workload 28, peer: asio's pending operation: 100,000 async_receive calls
// pending on one empty asio::experimental::concurrent_channel, on the
// shared io_context (common/asio_timer_peer.hpp), made from the bench's
// thread; each handler captures one pointer, as weft's waiter holds one
// future. live_bytes_per_waiter (mallinfo2) and bytes/op are what asio
// allocates per pending operation. Cancelling the channel ends them (their
// handlers run on the io thread). Built as C++20 (asio's channels need
// C++17), only where asio's channel header is found (meson.build).
#include "common/asio_timer_peer.hpp"

#include <asio/experimental/concurrent_channel.hpp>
#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <system_error>

#include "28_parked_waiters/cases.hpp"
#include "harness.hpp"

namespace {

using channel = asio::experimental::concurrent_channel<void(std::error_code, std::uint64_t)>;

struct ended {
  std::size_t n;
  std::atomic<std::size_t> count{0};
  std::promise<void> all;
  void one() {
    if (count.fetch_add(1, std::memory_order_relaxed) + 1 == n) all.set_value();
  }
};

void run(bench::state& s) {
  const std::size_t n = bench::parked_waiters(s);
  bench::asio_io_t& a = bench::asio_io();
  channel ch(a.io, 1);
  ended e;
  e.n = n;
  const std::size_t live0 = mallinfo2().uordblks;
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    ended* ep = &e;
    ch.async_receive([ep](std::error_code, std::uint64_t) { ep->one(); });
  }
  s.stop();
  const std::size_t live1 = mallinfo2().uordblks;
  s.set_ops(static_cast<double>(n));
  s.metric("live_bytes_per_waiter", static_cast<double>(live1 - live0) / static_cast<double>(n));
  ch.cancel();
  e.all.get_future().wait();
}

bool register_all() {
  for (const bench::parked_case& c : bench::parked_cases) bench::add_impl(c.id, "asio", run);
  return true;
}

const bool registered = register_all();

}  // namespace
