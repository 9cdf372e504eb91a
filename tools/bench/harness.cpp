// The registry of workloads and implementations, and state's timing.
#include "harness.hpp"

#include <algorithm>
#include <stdexcept>

namespace bench {
namespace {

struct registry {
  std::vector<workload> loads;
  std::vector<std::pair<std::string, impl_entry>> impls;
};

// Built on first use: the registrations run as static initialisers of the
// workload files, in no particular order.
registry& reg() {
  static registry* r = new registry;
  return *r;
}

options global_options;

}  // namespace

options& mutable_opts() { return global_options; }
const options& opts() { return global_options; }

void state::start() {
  before_ = sample_counters(false);
  t0_ = std::chrono::steady_clock::now();
}

void state::stop() {
  const auto t1 = std::chrono::steady_clock::now();
  after_ = sample_counters(true);
  elapsed_ns_ = std::chrono::duration<double, std::nano>(t1 - t0_).count();
  stopped_ = true;
}

bool add_workload(workload w) {
  reg().loads.push_back(std::move(w));
  return true;
}

bool add_impl(const std::string& id, const std::string& name, bench_fn fn) {
  reg().impls.emplace_back(id, impl_entry{name, std::move(fn)});
  return true;
}

const std::vector<workload>& workloads() {
  std::vector<workload>& v = reg().loads;
  std::sort(v.begin(), v.end(), [](const workload& a, const workload& b) { return a.id < b.id; });
  return v;
}

std::vector<impl_entry> impls_of(const std::string& id) {
  std::vector<impl_entry> out;
  for (const auto& p : reg().impls) {
    if (p.first == id) out.push_back(p.second);
  }
  // weft first (and its variants "weft-..."), then the peers by name, so the
  // interleaving order and the report are the same on every run.
  std::sort(out.begin(), out.end(), [](const impl_entry& a, const impl_entry& b) {
    const bool wa = a.name.compare(0, 4, "weft") == 0, wb = b.name.compare(0, 4, "weft") == 0;
    if (wa != wb) return wa;
    return a.name < b.name;
  });
  return out;
}

}  // namespace bench
