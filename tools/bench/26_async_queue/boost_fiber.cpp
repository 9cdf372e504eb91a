// Workload 26, peer: boost::fibers::buffered_channel used from plain
// threads (Debian: libboost-fiber-dev; Boost.Fiber and Boost.Context are
// linked into this executable only). Its capacity must be a power of 2
// and it holds one item less: 1024 here, so at most 1023 items wait.
// Built only where Boost.Fiber is found (meson.build).
#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/channel_op_status.hpp>

#include <cstdint>
#include <stdexcept>

#include "26_async_queue/cases.hpp"
#include "harness.hpp"

namespace {

void run(bench::state& s, const bench::queue_case& c) {
  boost::fibers::buffered_channel<std::uint64_t> ch(bench::queue_capacity);
  bench::threaded_queue(
      s, c,
      [&ch] {
        return [&ch](std::uint64_t v) {
          if (ch.push(v) != boost::fibers::channel_op_status::success) throw std::runtime_error("push failed");
        };
      },
      [&ch] {
        return [&ch] {
          std::uint64_t v = 0;
          if (ch.pop(v) != boost::fibers::channel_op_status::success) throw std::runtime_error("pop failed");
          return v;
        };
      });
}

const bool registered = bench::add_queue_impl("boost-fiber", run);

}  // namespace
