// tools/bench/common/timer_peers.hpp: what workloads 13-15 (timers) share:
// the ad-hoc timer thread peer, a thread's CPU time, and lateness figures.
#ifndef WEFT_BENCH_COMMON_TIMER_PEERS_HPP
#define WEFT_BENCH_COMMON_TIMER_PEERS_HPP

#include <dirent.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace bench {

/// The timer thread legacy services write by hand: a std::multimap of
/// deadlines under a mutex, a condition variable the thread sleeps on
/// (notified when a new timer is the earliest), callbacks run on the timer
/// thread itself, cancel by (deadline, id).
class adhoc_timer_thread {
 public:
  using clock = std::chrono::steady_clock;
  struct handle {
    clock::time_point deadline;
    std::uint64_t id;
  };

  adhoc_timer_thread() : thread_([this] { run(); }) { tid_ = tid_future_.get(); }
  ~adhoc_timer_thread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  handle arm(clock::time_point deadline, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t id = next_id_++;
    const bool earliest = queue_.empty() || deadline < queue_.begin()->first;
    queue_.emplace(deadline, entry{id, std::move(fn)});
    if (earliest) cv_.notify_one();
    return handle{deadline, id};
  }

  bool cancel(const handle& h) {
    std::function<void()> dead;  // destroyed outside the lock
    std::lock_guard<std::mutex> lock(mutex_);
    auto range = queue_.equal_range(h.deadline);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second.id == h.id) {
        dead = std::move(it->second.fn);
        queue_.erase(it);
        return true;
      }
    }
    return false;
  }

  pid_t tid() const { return tid_; }

 private:
  struct entry {
    std::uint64_t id;
    std::function<void()> fn;
  };

  void run() {
    tid_promise_.set_value(static_cast<pid_t>(syscall(SYS_gettid)));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto first = queue_.begin();
      if (first->first > clock::now()) {
        cv_.wait_until(lock, first->first);
        continue;
      }
      std::function<void()> fn = std::move(first->second.fn);
      queue_.erase(first);
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, entry> queue_;
  std::uint64_t next_id_ = 0;
  bool stop_ = false;
  std::promise<pid_t> tid_promise_;
  std::future<pid_t> tid_future_ = tid_promise_.get_future();
  pid_t tid_ = 0;
  std::thread thread_;
};

/// The ad-hoc peer every timer workload shares (made on first use).
inline adhoc_timer_thread& adhoc_timers() {
  static auto* t = new adhoc_timer_thread();
  return *t;
}

/// CPU time (ns) the thread `tid` of this process has used: its
/// per-thread CPU clock, built the way glibc's pthread_getcpuclockid()
/// builds it (CPUCLOCK_SCHED of that thread), so threads a library started
/// can be read too. -1 if unreadable.
inline std::int64_t thread_cpu_ns(pid_t tid) {
  const clockid_t cid = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
  timespec ts{};
  if (clock_gettime(cid, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// How many times the thread `tid` of this process went to sleep and was
/// woken (voluntary context switches, from /proc); -1 if unreadable.
inline std::int64_t thread_wakeups(pid_t tid) {
  std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.compare(0, 24, "voluntary_ctxt_switches:") == 0) return std::atoll(line.c_str() + 24);
  }
  return -1;
}

/// The ids of this process's threads named `name`.
inline std::set<pid_t> threads_named(const std::string& name) {
  std::set<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string c;
    std::getline(comm, c);
    if (c == name) out.insert(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  closedir(d);
  return out;
}

/// Lateness figures of one run: each timer's start minus its deadline, ns.
inline void report_lateness(state& s, std::vector<std::int64_t> late) {
  std::int64_t early = 0;
  double sum = 0;
  for (std::int64_t x : late) {
    if (x < 0) ++early;
    sum += static_cast<double>(x);
  }
  std::sort(late.begin(), late.end());
  auto at = [&](double p) { return static_cast<double>(late[static_cast<std::size_t>(p * static_cast<double>(late.size() - 1))]); };
  s.metric("early", static_cast<double>(early));
  s.metric("mean_late_us", sum / static_cast<double>(late.size()) / 1000.0);
  s.metric("p50_late_us", at(0.5) / 1000.0);
  s.metric("p99_late_us", at(0.99) / 1000.0);
  s.metric("max_late_us", static_cast<double>(late.back()) / 1000.0);
}

/// The deadlines of a lateness run: `n` at random within a 50 ms window
/// that opens `lead` after `t0` (time to arm them all first), in random
/// order, the same for every implementation.
inline std::vector<std::chrono::steady_clock::time_point> lateness_deadlines(
    std::size_t n, std::chrono::steady_clock::time_point t0, std::chrono::milliseconds lead) {
  std::vector<std::chrono::steady_clock::time_point> d(n);
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    d[i] = t0 + lead + std::chrono::microseconds(static_cast<long>(x % 50000));
  }
  return d;
}

inline std::int64_t ns_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_TIMER_PEERS_HPP
