// tools/bench/harness.hpp: the small harness behind weft-bench.
//
// A workload (tools/bench/<workload>/) registers one function per
// implementation: weft's and each peer's, one file each. The driver
// (main.cpp) runs them in one process, interleaved round by round (weft,
// peer1, peer2, weft, peer1, ...), after a warm-up round, and reports for
// each implementation the median time per operation, its spread, the ratio
// weft/peer next to the target from issue 2, and what each operation cost
// besides time: heap allocations and bytes (operator new is replaced in
// counters.cpp), system calls (a perf_event counter on raw_syscalls:sys_enter
// inherited by every thread) and threads created (pthread_create is
// interposed in the binary).
//
// An implementation brackets the part to measure with state::start() and
// state::stop(); set-up and tear-down stay outside. It says how many
// operations it did with set_ops().
#ifndef WEFT_BENCH_HARNESS_HPP
#define WEFT_BENCH_HARNESS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bench {

/// Command-line settings every implementation may read.
struct options {
  bool quick = false;        ///< small sizes: a smoke run, not a measurement
  std::size_t threads = 0;   ///< workers in every pool, weft's and the peers'
  int runs = 5;              ///< measured runs per implementation
  int warmup = 1;            ///< unmeasured rounds before them
};
const options& opts();

/// What the harness counts between start() and stop().
struct counters {
  std::uint64_t allocs = 0;          ///< calls to operator new (all threads)
  std::uint64_t alloc_bytes = 0;     ///< bytes requested from operator new
  std::int64_t syscalls = -1;        ///< system calls by every thread; -1 if not countable
  std::uint64_t threads_created = 0; ///< pthread_create calls (std::thread, boost::thread, TBB, asio)
  int threads_alive = 0;             ///< "Threads:" of /proc/self/status
};

/// Snapshot of the process-wide counters. The syscall counter is read last
/// (to open a window) or first (to close one), so a window counts exactly
/// one syscall of its own: the closing read.
counters sample_counters(bool syscalls_first);
/// Opens the syscall counter; main() calls it before any thread exists.
void open_syscall_counter();
/// True when system calls can be counted on this machine.
bool syscalls_countable();

/// One measured run of one implementation.
class state {
 public:
  /// Starts the timed region (counters are sampled first).
  void start();
  /// Ends it (the clock is read first, then the counters).
  void stop();
  /// How many operations the timed region did (what ns/op divides by).
  void set_ops(double ops) { ops_ = ops; }
  /// An extra figure for this run (e.g. "stack_bytes"), reported as is.
  void metric(const std::string& name, double value) { metrics_[name] = value; }
  /// A latency sample in ns (workloads that report percentiles).
  void sample(double ns) { samples_.push_back(ns); }

  bool quick() const { return opts().quick; }
  /// When start() read the clock.
  std::chrono::steady_clock::time_point started_at() const { return t0_; }
  std::size_t threads() const { return opts().threads; }

  // Read by the driver.
  double elapsed_ns() const { return elapsed_ns_; }
  double ops() const { return ops_; }
  const counters& before() const { return before_; }
  const counters& after() const { return after_; }
  const std::map<std::string, double>& metrics() const { return metrics_; }
  const std::vector<double>& samples() const { return samples_; }
  bool measured() const { return stopped_; }

 private:
  std::chrono::steady_clock::time_point t0_;
  double elapsed_ns_ = 0;
  double ops_ = 0;
  counters before_, after_;
  std::map<std::string, double> metrics_;
  std::vector<double> samples_;
  bool stopped_ = false;
};

/// A target from the issue's table: either "weft/peer <= limit" or "a
/// figure of weft's <= limit" (allocs, bytes, syscalls, threads per op, or
/// an extra metric).
struct target {
  enum class kind { ratio, figure };
  kind what;
  std::string name;  ///< the peer (ratio) or the figure (figure)
  double limit;
  std::string text;  ///< as the issue words it
};

/// "weft / peer <= limit".
inline target ratio_target(std::string peer, double limit, std::string text) {
  return target{target::kind::ratio, std::move(peer), limit, std::move(text)};
}
/// "weft's figure <= limit".
inline target figure_target(std::string figure, double limit, std::string text) {
  return target{target::kind::figure, std::move(figure), limit, std::move(text)};
}

struct workload {
  std::string id;       ///< "04-fib"; sorts the report
  std::string title;
  std::string op;       ///< what one operation is
  std::string baseline; ///< the named baseline, as in the comment of the workload
  std::vector<target> targets;
  bool latency = false; ///< report p50/p90 of samples instead of ns/op (report only)
};

using bench_fn = std::function<void(state&)>;

/// Registers a workload; returns true (for a static initialiser).
bool add_workload(workload w);
/// Registers implementation `name` of workload `id` (weft's is called "weft").
bool add_impl(const std::string& id, const std::string& name, bench_fn fn);

struct impl_entry {
  std::string name;
  bench_fn fn;
};
const std::vector<workload>& workloads();
std::vector<impl_entry> impls_of(const std::string& id);

/// ns from s.start() to `t` (for a metric splitting the timed window).
inline double ns_since_start(const state& s, std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::nano>(t - s.started_at()).count();
}

/// Keeps a value alive in the optimiser's eyes.
template <class T>
inline void keep(T const& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

}  // namespace bench

#endif  // WEFT_BENCH_HARNESS_HPP
