// tools/bench/common/asio_timer_peer.hpp: the standalone asio io_context the
// timer workloads' asio peers share (libasio-dev, header-only), run by one
// io thread of its own, as a service using asio::steady_timer would run it.
// Only the asio peers include it; tools/bench/meson.build builds them only
// where <asio.hpp> is found.
#ifndef WEFT_BENCH_COMMON_ASIO_TIMER_PEER_HPP
#define WEFT_BENCH_COMMON_ASIO_TIMER_PEER_HPP

#include <sys/syscall.h>
#include <unistd.h>

#include <asio.hpp>
#include <future>
#include <thread>

namespace bench {

struct asio_io_t {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  pid_t tid = 0;
  std::thread thread;
};

/// The io_context and its thread (made on first use, never stopped).
inline asio_io_t& asio_io() {
  static asio_io_t* t = [] {
    auto* a = new asio_io_t();
    std::promise<pid_t> tid;
    std::future<pid_t> got = tid.get_future();
    a->thread = std::thread([a, &tid] {
      tid.set_value(static_cast<pid_t>(syscall(SYS_gettid)));
      a->io.run();
    });
    a->tid = got.get();
    return a;
  }();
  return *t;
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_ASIO_TIMER_PEER_HPP
