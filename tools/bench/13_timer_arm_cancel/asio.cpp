// Workload 13, peers: asio::steady_timer on an io_context run by an io
// thread of its own: construct, expires_after(1 h), async_wait; then cancel
// each, and the aborted handlers run (asio must run a handler to release
// it). The window closes when the last handler has run.
//
// - "asio": armed and cancelled from a weft pool task, as weft's timers
//   are: a service's worker arming timeouts that an io thread serves.
//   weft's target: <= 0.1x this.
// - "asio-io-thread": armed and cancelled on the io thread itself, asio's
//   own best case (no cross-thread hand-off), for reference.
#include "common/asio_timer_peer.hpp"

#include <chrono>
#include <cstddef>
#include <future>
#include <vector>

#include "common/pools.hpp"
#include "harness.hpp"
#include "weft/async.hpp"

namespace {

struct round {
  explicit round(std::size_t count) : n(count) { timers.reserve(n); }
  std::size_t n;
  std::vector<asio::steady_timer> timers;
  std::size_t aborted = 0;  // on the io thread only
  std::promise<void> done;
};

void arm_and_cancel(bench::state& s, bench::asio_io_t& a, round& r) {
  s.start();
  for (std::size_t i = 0; i < r.n; ++i) {
    r.timers.emplace_back(a.io);
    r.timers.back().expires_after(std::chrono::hours(1));
    r.timers.back().async_wait([&s, &r](const std::error_code&) {
      if (++r.aborted == r.n) {
        s.stop();
        r.done.set_value();
      }
    });
  }
  for (std::size_t i = 0; i < r.n; ++i) r.timers[i].cancel();
}

void finish(bench::state& s, bench::asio_io_t& a, round& r) {
  r.done.get_future().wait();
  s.set_ops(static_cast<double>(r.n));
  std::promise<void> gone;
  asio::post(a.io, [&] {
    r.timers.clear();
    gone.set_value();
  });
  gone.get_future().wait();
}

void from_pool_task(bench::state& s) {
  bench::asio_io_t& a = bench::asio_io();
  round r(s.quick() ? 1000 : 100000);
  weft::async(bench::weft_pool(), [&] { arm_and_cancel(s, a, r); }).get();
  finish(s, a, r);
}

void on_io_thread(bench::state& s) {
  bench::asio_io_t& a = bench::asio_io();
  round r(s.quick() ? 1000 : 100000);
  asio::post(a.io, [&] { arm_and_cancel(s, a, r); });
  finish(s, a, r);
}

const bool registered = bench::add_impl("13-timer-arm-cancel", "asio", from_pool_task) &&
                        bench::add_impl("13-timer-arm-cancel", "asio-io-thread", on_io_thread);

}  // namespace
