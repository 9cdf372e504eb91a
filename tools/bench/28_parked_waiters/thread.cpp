// Workload 28, peer: a waiter that is a thread blocked on a condition
// variable, the legacy way to wait. 256 threads are started in the window
// and block; the figure is what the process's resident set grew by per
// thread (VmRSS of /proc/self/status: the thread's touched stack pages,
// its descriptor and TLS) plus its kernel stack, which VmRSS does not show
// (kernel_stack_bytes: 16 KiB, THREAD_SIZE on x86-64). Their 8 MiB stack
// reservations are address space, not memory, and are not counted.
#include <cstddef>
#include <fstream>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "28_parked_waiters/cases.hpp"
#include "harness.hpp"

namespace {

constexpr double kernel_stack_bytes = 16384;

// VmRSS in bytes, or -1.
double vm_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 6, "VmRSS:") == 0) return std::stod(line.substr(6)) * 1024;
  }
  return -1;
}

void run(bench::state& s) {
  const std::size_t n = bench::parked_threads(s);
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t parked = 0;
  bool wake = false;
  std::vector<std::thread> threads;
  threads.reserve(n);
  const double rss0 = vm_rss_bytes();
  s.start();
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      std::unique_lock<std::mutex> lock(mutex);
      ++parked;
      cv.notify_all();
      cv.wait(lock, [&] { return wake; });
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return parked == n; });
  }
  s.stop();
  const double rss1 = vm_rss_bytes();
  s.set_ops(static_cast<double>(n));
  if (rss0 >= 0 && rss1 >= 0) {
    const double rss = (rss1 - rss0) / static_cast<double>(n);
    s.metric("rss_bytes_per_waiter", rss);
    s.metric("live_bytes_per_waiter", rss + kernel_stack_bytes);
  }
  s.metric("kernel_stack_bytes", kernel_stack_bytes);
  {
    std::lock_guard<std::mutex> lock(mutex);
    wake = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
}

bool register_all() {
  for (const bench::parked_case& c : bench::parked_cases) bench::add_impl(c.id, "thread", run);
  return true;
}

const bool registered = register_all();

}  // namespace
