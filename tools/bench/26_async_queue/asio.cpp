// Workload 26, peer: asio::experimental::concurrent_channel of 1024 items
// (standalone asio, libasio-dev; the channels need C++17, so this file is
// built as C++20 with the other newer-standard peers, see meson.build).
// asio's way: producers and consumers are loops of handlers on an
// io_context run by opts().threads threads, as weft's loops run on a pool
// of that size.
//
// - "asio": one async_send / async_receive per item, the channel's
//   asynchronous interface as documented (weft's target: <= 0.3x this).
// - "asio-try": moves items with try_send / try_receive while that
//   succeeds and falls back to async_send / async_receive when the channel
//   is full (empty), as weft's loops do with try_push / try_pop.
#include <asio.hpp>
#include <asio/experimental/concurrent_channel.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "26_async_queue/cases.hpp"
#include "harness.hpp"

namespace {

using channel = asio::experimental::concurrent_channel<void(std::error_code, std::uint64_t)>;

// Counts finished loops down; the bench's thread waits for zero.
struct latch {
  std::mutex mutex;
  std::condition_variable cv;
  int left;
  std::error_code error;
  void count_down(std::error_code ec) {
    std::lock_guard<std::mutex> lock(mutex);
    if (ec && !error) error = ec;
    if (--left == 0) cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [this] { return left == 0; });
  }
};

struct producer {
  channel* ch;
  std::uint64_t next, end;
  latch* done;
  bool try_first;

  void run() {
    while (try_first && next != end && ch->try_send(std::error_code(), next)) ++next;
    if (next == end) {
      done->count_down({});
      return;
    }
    ch->async_send(std::error_code(), next++, [this](std::error_code ec) {
      if (ec) {
        done->count_down(ec);
        return;
      }
      run();
    });
  }
};

struct consumer {
  channel* ch;
  std::size_t left;
  std::uint64_t sum;
  latch* done;
  bool try_first;

  void run() {
    while (try_first && left != 0 && ch->try_receive([this](std::error_code, std::uint64_t v) {
      sum += v;
      --left;
    })) {
    }
    if (left == 0) {
      done->count_down({});
      return;
    }
    ch->async_receive([this](std::error_code ec, std::uint64_t v) {
      if (ec) {
        done->count_down(ec);
        return;
      }
      sum += v;
      --left;
      run();
    });
  }
};

void run(bench::state& s, const bench::queue_case& c, bool try_first) {
  const std::size_t items = bench::queue_items(s);
  asio::io_context io(static_cast<int>(s.threads()));
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < s.threads(); ++i) threads.emplace_back([&io] { io.run(); });
  channel ch(io, bench::queue_capacity);
  latch done{{}, {}, c.producers + c.consumers, {}};
  std::vector<producer> producers;
  std::vector<consumer> consumers;
  for (int p = 0; p < c.producers; ++p) {
    const std::uint64_t first = bench::queue_first_item(c, p, items);
    producers.push_back(producer{&ch, first, first + items / static_cast<std::size_t>(c.producers), &done, try_first});
  }
  for (int k = 0; k < c.consumers; ++k) {
    consumers.push_back(consumer{&ch, items / static_cast<std::size_t>(c.consumers), 0, &done, try_first});
  }
  s.start();
  for (producer& p : producers) asio::post(io, [&p] { p.run(); });
  for (consumer& k : consumers) asio::post(io, [&k] { k.run(); });
  done.wait();
  s.stop();
  s.set_ops(static_cast<double>(items));
  work.reset();
  for (std::thread& t : threads) t.join();
  if (done.error) throw std::system_error(done.error, "asio channel");
  std::uint64_t sum = 0;
  for (const consumer& k : consumers) sum += k.sum;
  bench::check_queue_sum(sum, items);
}

const bool registered =
    bench::add_queue_impl("asio", [](bench::state& s, const bench::queue_case& c) { run(s, c, false); }) &&
    bench::add_queue_impl("asio-try", [](bench::state& s, const bench::queue_case& c) { run(s, c, true); });

}  // namespace
