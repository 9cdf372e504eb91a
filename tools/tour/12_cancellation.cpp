// 12: a cancellable operation with cleanup, and a cancellation callback
// for a call interruption cannot reach.
//
// asyncio:  task = asyncio.create_task(import_batches())
//           ...
//           task.cancel()
//           try:
//               await task
//           except asyncio.CancelledError:
//               ...                          # the task's finally blocks ran
//
// A cancellation_source owns the right to cancel; its tokens go to the
// work: async(ex, token, f) and fut.then(token, fn) do not start once the
// token is cancelled (their futures fail with cancelled_error), and a step
// that runs long polls token.throw_if_cancelled() itself. Whatever the
// dropped steps captured is destroyed before the future resolves, so RAII
// cleanup has run by the time the caller sees cancelled_error.
//
// offload(token, f) interrupts a blocking call on cancel, but only at
// Boost's interruption points. A call blocked in read(2) is out of its
// reach; a cancellation_callback on the same token that shuts the socket
// down makes read() return, and the call can then see the token.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

// Something an import holds while it runs and must give back on every
// outcome (a staging table, a lease, a temporary file).
struct staging_area {
  std::atomic<bool>& released;
  explicit staging_area(std::atomic<bool>& r) : released(r) {}
  staging_area(const staging_area&) = delete;
  staging_area& operator=(const staging_area&) = delete;
  ~staging_area() { released = true; }
};

// A batch of compute work: ~2 ms, checking the token as it goes.
int import_batch(const weft::cancellation_token& token) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  while (std::chrono::steady_clock::now() < until) token.throw_if_cancelled();  // a long step stops part way too
  return 100;  // rows imported
}

// read(2) of one byte from `fd`: 1 for a byte, 0 at end of file.
int read_one(int fd) {
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n >= 0) return static_cast<int>(n);
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "read");
  }
}

struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fd) != 0) throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  ~socket_pair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
};

}  // namespace

void tour_12(tour::flaky_service&) {
  weft::thread_pool pool(2);

  // 1. An import of 20 batches, one pool task each, chained with
  //    then(token, fn); cancelled once the fifth batch is in.
  {
    constexpr int batches = 20;
    weft::cancellation_source cancel;
    const weft::cancellation_token token = cancel.token();
    std::atomic<bool> released{false};
    std::atomic<int> done{0};
    std::atomic<bool> finally_ran{false};
    weft::promise<void> fifth;
    weft::future<void> fifth_in = fifth.get_future();
    auto staging = std::make_shared<staging_area>(released);  // every step holds it

    const auto t0 = std::chrono::steady_clock::now();
    weft::future<int> imported = weft::async(pool, token, [token, staging] { return import_batch(token); });
    for (int b = 1; b < batches; ++b) {  // batch 0 is the async above
      imported = imported.then(token, [token, staging, &done, &fifth](int rows) {
        rows += import_batch(token);
        if (done.fetch_add(1) + 1 == 4) fifth.set_value();  // batches 0..4 are in
        return rows;
      });
    }
    imported = imported.finally([&finally_ran] { finally_ran = true; });
    staging.reset();  // from here only the steps hold it

    fifth_in.get();
    const auto cancel_at = std::chrono::steady_clock::now();
    cancel.cancel();
    try {
      imported.get();
      tour::expect(false, "a cancelled import fails");
    } catch (const weft::cancelled_error& e) {
      tour::say("an import of " + std::to_string(batches) + " batches, cancelled after the fifth: cancelled_error (" +
                e.what() + ") " + tour::ms(tour::ms_since(cancel_at)) + " after cancel(), " +
                tour::ms(tour::ms_since(t0)) + " in all; " + std::to_string(done.load() + 1) + " of " + std::to_string(batches) +
                " batches completed; the staging area was " + (released ? "released" : "NOT released") +
                " and finally ran: " + (finally_ran ? "yes" : "no"));
    }
    tour::expect(done.load() + 1 < batches, "the import stopped part way");
    tour::expect(released, "the steps' captures were destroyed before the future resolved");
    tour::expect(finally_ran, "finally ran on the cancelled outcome");
  }

  // 2. A blocking read(2) on a socket: cancel() interrupts the thread, which
  //    read() does not notice. The call goes on until a byte arrives.
  {
    socket_pair s;
    weft::cancellation_source cancel;
    const auto t0 = std::chrono::steady_clock::now();
    weft::future<int> reader = weft::offload(cancel.token(), [fd = s.fd[0]] { return read_one(fd); });
    const bool early = reader.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready;
    cancel.cancel();
    const bool stopped = reader.wait_for(std::chrono::milliseconds(30)) == std::future_status::ready;
    const char byte = 'x';
    tour::expect(::write(s.fd[1], &byte, 1) == 1, "write to the socket");
    const int got = reader.get();
    tour::say("a read(2) cancelled with only the interrupt: still blocked 30 ms after cancel(); it returned " +
              std::to_string(got) + " byte once one was written, " + tour::ms(tour::ms_since(t0)) +
              " after it started, as if not cancelled");
    tour::expect(!early && !stopped && got == 1, "interruption does not reach read(2)");
  }

  // 3. The same read, with a cancellation_callback that shuts the socket
  //    down: read() returns 0 at once, and the call sees the token.
  {
    socket_pair s;
    weft::cancellation_source cancel;
    const weft::cancellation_token token = cancel.token();
    // Shut down, not closed: on Linux, close() of an fd that another
    // thread is blocked reading does not wake that thread.
    weft::cancellation_callback shut_down(token, [fd = s.fd[0]] { ::shutdown(fd, SHUT_RDWR); });
    const auto t0 = std::chrono::steady_clock::now();
    weft::future<int> reader = weft::offload(token, [fd = s.fd[0], token] {
      const int n = read_one(fd);
      token.throw_if_cancelled();  // woken by the shutdown: say why
      return n;
    });
    const bool early = reader.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready;
    const auto cancel_at = std::chrono::steady_clock::now();
    cancel.cancel();
    try {
      reader.get();
      tour::expect(false, "the read fails once its socket is shut down");
    } catch (const weft::cancelled_error& e) {
      tour::say(std::string("the same read with a cancellation_callback that shuts the socket down: cancelled_error (") +
                e.what() + ") " + tour::ms(tour::ms_since(cancel_at)) + " after cancel(), " +
                tour::ms(tour::ms_since(t0)) + " after it started");
    }
    tour::expect(!early, "the read was blocked until the cancel");
  }
}
