// weft-bench: weft against its peers, in one process, interleaved.
//
//   weft-bench [--filter S] [--impl S] [--runs N] [--warmup N] [--threads N]
//              [--quick] [--json FILE] [--csv FILE] [--list]
//
// For every workload (tools/bench/<workload>/, the table of issue 2) each
// implementation runs once per round, weft first, then the peers, for
// --warmup unmeasured rounds and --runs measured ones. The report gives per
// implementation the median ns/op, the min-max spread, the ratio weft/peer
// beside the target, and per operation: heap allocations and bytes,
// system calls and threads created. Nothing here fails on a slow result: the
// exit status is non-zero only when an implementation threw.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace bench {
options& mutable_opts();
}

namespace {

using bench::counters;
using bench::state;
using bench::target;
using bench::workload;

struct impl_result {
  std::string name;
  std::vector<state> runs;
  std::string error;

  // Summary, filled by summarise().
  double median = NAN, min = NAN, max = NAN, p10 = NAN, p90 = NAN;
  double ops = 0;
  double allocs = NAN, bytes = NAN, syscalls = NAN, threads_per_op = NAN;
  double threads_per_run = NAN, alive_delta = NAN;
  double lat_p50 = NAN, lat_p90 = NAN, lat_min = NAN, lat_max = NAN;
  std::size_t samples = 0;
  std::vector<std::pair<std::string, double>> metrics;  // medians
  double ratio = NAN;  // weft / this (peers only)
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double median_of(const std::vector<state>& runs, double (*f)(const state&)) {
  std::vector<double> v;
  for (const state& s : runs) {
    const double x = f(s);
    if (!std::isnan(x)) v.push_back(x);
  }
  return percentile(v, 0.5);
}

double per_op(const state& s, double delta) { return s.ops() > 0 ? delta / s.ops() : NAN; }

void summarise(impl_result& r) {
  if (r.runs.empty()) return;
  std::vector<double> ns;
  for (const state& s : r.runs) ns.push_back(per_op(s, s.elapsed_ns()));
  r.median = percentile(ns, 0.5);
  r.min = *std::min_element(ns.begin(), ns.end());
  r.max = *std::max_element(ns.begin(), ns.end());
  r.p10 = percentile(ns, 0.1);
  r.p90 = percentile(ns, 0.9);
  r.ops = r.runs.front().ops();
  r.allocs = median_of(r.runs, [](const state& s) {
    return per_op(s, static_cast<double>(s.after().allocs - s.before().allocs));
  });
  r.bytes = median_of(r.runs, [](const state& s) {
    return per_op(s, static_cast<double>(s.after().alloc_bytes - s.before().alloc_bytes));
  });
  r.syscalls = median_of(r.runs, [](const state& s) {
    if (s.before().syscalls < 0 || s.after().syscalls < 0) return static_cast<double>(NAN);
    // The window's own closing read is one syscall.
    return per_op(s, static_cast<double>(s.after().syscalls - s.before().syscalls - 1));
  });
  r.threads_per_op = median_of(r.runs, [](const state& s) {
    return per_op(s, static_cast<double>(s.after().threads_created - s.before().threads_created));
  });
  r.threads_per_run = median_of(r.runs, [](const state& s) {
    return static_cast<double>(s.after().threads_created - s.before().threads_created);
  });
  r.alive_delta = median_of(r.runs, [](const state& s) {
    return static_cast<double>(s.after().threads_alive - s.before().threads_alive);
  });
  std::vector<double> all;
  for (const state& s : r.runs) all.insert(all.end(), s.samples().begin(), s.samples().end());
  r.samples = all.size();
  if (!all.empty()) {
    r.lat_p50 = percentile(all, 0.5);
    r.lat_p90 = percentile(all, 0.9);
    r.lat_min = *std::min_element(all.begin(), all.end());
    r.lat_max = *std::max_element(all.begin(), all.end());
  }
  for (const auto& kv : r.runs.front().metrics()) {
    std::vector<double> v;
    for (const state& s : r.runs) {
      auto it = s.metrics().find(kv.first);
      if (it != s.metrics().end()) v.push_back(it->second);
    }
    r.metrics.emplace_back(kv.first, percentile(v, 0.5));
  }
}

struct workload_result {
  const workload* w;
  std::vector<impl_result> impls;
  std::string load_before, load_after;
};

const impl_result* find_impl(const workload_result& wr, const std::string& name) {
  for (const impl_result& r : wr.impls) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// The value of weft's figure `name` (allocs_per_op, ... or an extra metric).
double weft_figure(const impl_result& weft, const std::string& name) {
  if (name == "allocs_per_op") return weft.allocs;
  if (name == "bytes_per_op") return weft.bytes;
  if (name == "syscalls_per_op") return weft.syscalls;
  if (name == "threads_created_per_op") return weft.threads_per_op;
  if (name == "threads_created_per_run") return weft.threads_per_run;
  if (name == "threads_alive_delta") return weft.alive_delta;
  for (const auto& kv : weft.metrics) {
    if (kv.first == name) return kv.second;
  }
  return NAN;
}

struct verdict {
  const target* t;
  double value;  // ratio or figure
  bool known;
  bool met;
};

std::vector<verdict> judge(const workload_result& wr) {
  std::vector<verdict> out;
  const impl_result* weft = find_impl(wr, "weft");
  for (const target& t : wr.w->targets) {
    verdict v{&t, NAN, false, false};
    if (weft != nullptr && weft->error.empty()) {
      if (t.what == target::kind::ratio) {
        const impl_result* peer = find_impl(wr, t.name);
        if (peer != nullptr && peer->error.empty()) v.value = peer->ratio;
      } else {
        v.value = weft_figure(*weft, t.name);
      }
    }
    v.known = !std::isnan(v.value);
    v.met = v.known && v.value <= t.limit;
    out.push_back(v);
  }
  return out;
}

std::string fmt(const char* f, double v) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// ns with a sensible number of digits.
std::string fmt_ns(double v) {
  if (std::isnan(v)) return "n/a";
  if (v >= 100000) return fmt("%.0f", v);
  if (v >= 100) return fmt("%.1f", v);
  return fmt("%.2f", v);
}

std::string fmt_count(double v) {
  if (std::isnan(v)) return "n/a";
  if (v == 0) return "0";
  if (std::fabs(v) < 0.01) return fmt("%.1e", v);
  return fmt("%.2f", v);
}

std::string read_loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_workload(const workload_result& wr) {
  const workload& w = *wr.w;
  std::printf("\n== %s: %s\n", w.id.c_str(), w.title.c_str());
  std::printf("   op = %s; baseline: %s\n", w.op.c_str(), w.baseline.c_str());
  std::printf("   load average before/after: %s / %s\n", wr.load_before.c_str(), wr.load_after.c_str());
  const std::vector<verdict> verdicts = judge(wr);
  auto target_of = [&](const std::string& peer) -> const verdict* {
    for (const verdict& v : verdicts) {
      if (v.t->what == target::kind::ratio && v.t->name == peer) return &v;
    }
    return nullptr;
  };
  if (w.latency) {
    std::printf("   %-16s %12s %12s %12s %12s %8s\n", "impl", "p50 ns", "p90 ns", "min ns", "max ns", "samples");
    for (const impl_result& r : wr.impls) {
      if (!r.error.empty()) {
        std::printf("   %-16s FAILED: %s\n", r.name.c_str(), r.error.c_str());
        continue;
      }
      std::printf("   %-16s %12s %12s %12s %12s %8zu\n", r.name.c_str(), fmt_ns(r.lat_p50).c_str(),
                  fmt_ns(r.lat_p90).c_str(), fmt_ns(r.lat_min).c_str(), fmt_ns(r.lat_max).c_str(), r.samples);
    }
    return;
  }
  std::printf("   %-16s %12s %23s %9s %10s %9s %9s %9s %9s %10s %5s\n", "impl", "median ns/op", "min-max ns/op",
              "allocs/op", "bytes/op", "sys/op", "thr/op", "thr/run", "weft/peer", "target", "met");
  for (const impl_result& r : wr.impls) {
    if (!r.error.empty()) {
      std::printf("   %-16s FAILED: %s\n", r.name.c_str(), r.error.c_str());
      continue;
    }
    const verdict* v = target_of(r.name);
    std::string tgt = v != nullptr ? "<= " + fmt("%g", v->t->limit) : "";
    std::string met = v != nullptr ? (v->known ? (v->met ? "yes" : "NO") : "n/a") : "";
    std::string spread = fmt_ns(r.min) + " - " + fmt_ns(r.max);
    std::printf("   %-16s %12s %23s %9s %10s %9s %9s %9s %9s %10s %5s\n", r.name.c_str(), fmt_ns(r.median).c_str(),
                spread.c_str(), fmt_count(r.allocs).c_str(), fmt_count(r.bytes).c_str(),
                fmt_count(r.syscalls).c_str(), fmt_count(r.threads_per_op).c_str(),
                fmt_count(r.threads_per_run).c_str(), std::isnan(r.ratio) ? "-" : fmt("%.3f", r.ratio).c_str(),
                tgt.c_str(), met.c_str());
  }
  for (const impl_result& r : wr.impls) {
    if (r.metrics.empty() || !r.error.empty()) continue;
    std::printf("   %-16s", r.name.c_str());
    for (const auto& kv : r.metrics) std::printf("  %s=%s", kv.first.c_str(), fmt("%.6g", kv.second).c_str());
    std::printf("\n");
  }
  for (const verdict& v : verdicts) {
    std::printf("   target: %-58s %s", v.t->text.c_str(),
                !v.known ? "n/a" : v.met ? "met" : "MISSED");
    if (v.known) std::printf(" (%s)", fmt("%.4g", v.value).c_str());
    std::printf("\n");
  }
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

std::string json_num(double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void write_json(const std::string& path, const std::vector<workload_result>& all, const std::string& machine) {
  std::ofstream o(path);
  const bench::options& op = bench::opts();
  o << "{\n  \"machine\": " << json_str(machine) << ",\n  \"threads\": " << op.threads << ",\n  \"runs\": " << op.runs
    << ",\n  \"warmup\": " << op.warmup << ",\n  \"quick\": " << (op.quick ? "true" : "false")
    << ",\n  \"syscalls_countable\": " << (bench::syscalls_countable() ? "true" : "false") << ",\n  \"workloads\": [";
  bool first_w = true;
  for (const workload_result& wr : all) {
    o << (first_w ? "\n" : ",\n");
    first_w = false;
    o << "    {\"id\": " << json_str(wr.w->id) << ", \"title\": " << json_str(wr.w->title)
      << ", \"op\": " << json_str(wr.w->op) << ", \"baseline\": " << json_str(wr.w->baseline)
      << ", \"load_before\": " << json_str(wr.load_before) << ", \"load_after\": " << json_str(wr.load_after)
      << ",\n     \"targets\": [";
    const std::vector<verdict> verdicts = judge(wr);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
      const verdict& v = verdicts[i];
      o << (i ? ", " : "") << "{\"text\": " << json_str(v.t->text) << ", \"kind\": "
        << (v.t->what == target::kind::ratio ? "\"ratio\"" : "\"figure\"") << ", \"against\": " << json_str(v.t->name)
        << ", \"limit\": " << json_num(v.t->limit) << ", \"value\": " << json_num(v.value)
        << ", \"met\": " << (v.known ? (v.met ? "true" : "false") : "null") << "}";
    }
    o << "],\n     \"impls\": [";
    for (std::size_t i = 0; i < wr.impls.size(); ++i) {
      const impl_result& r = wr.impls[i];
      o << (i ? ",\n" : "\n") << "      {\"name\": " << json_str(r.name);
      if (!r.error.empty()) o << ", \"error\": " << json_str(r.error);
      o << ", \"ops\": " << json_num(r.ops) << ", \"median_ns_per_op\": " << json_num(r.median)
        << ", \"min_ns_per_op\": " << json_num(r.min) << ", \"max_ns_per_op\": " << json_num(r.max)
        << ", \"p10_ns_per_op\": " << json_num(r.p10) << ", \"p90_ns_per_op\": " << json_num(r.p90)
        << ", \"allocs_per_op\": " << json_num(r.allocs) << ", \"bytes_per_op\": " << json_num(r.bytes)
        << ", \"syscalls_per_op\": " << json_num(r.syscalls) << ", \"threads_created_per_op\": "
        << json_num(r.threads_per_op) << ", \"threads_created_per_run\": " << json_num(r.threads_per_run)
        << ", \"threads_alive_delta\": " << json_num(r.alive_delta) << ", \"ratio_weft_over_this\": "
        << json_num(r.ratio);
      if (r.samples > 0) {
        o << ", \"latency_p50_ns\": " << json_num(r.lat_p50) << ", \"latency_p90_ns\": " << json_num(r.lat_p90)
          << ", \"samples\": " << r.samples;
      }
      o << ", \"metrics\": {";
      for (std::size_t k = 0; k < r.metrics.size(); ++k) {
        o << (k ? ", " : "") << json_str(r.metrics[k].first) << ": " << json_num(r.metrics[k].second);
      }
      o << "}, \"runs_ns_per_op\": [";
      for (std::size_t k = 0; k < r.runs.size(); ++k) {
        o << (k ? ", " : "") << json_num(per_op(r.runs[k], r.runs[k].elapsed_ns()));
      }
      o << "]}";
    }
    o << "\n     ]}";
  }
  o << "\n  ]\n}\n";
}

void write_csv(const std::string& path, const std::vector<workload_result>& all) {
  std::ofstream o(path);
  o << "workload,impl,ops,runs,median_ns_per_op,min_ns_per_op,max_ns_per_op,p10_ns_per_op,p90_ns_per_op,"
       "allocs_per_op,bytes_per_op,syscalls_per_op,threads_created_per_op,threads_created_per_run,"
       "threads_alive_delta,ratio_weft_over_this,target_limit,target_met,latency_p50_ns,latency_p90_ns,metrics,"
       "error\n";
  auto c = [](double v) { return std::isnan(v) ? std::string() : json_num(v); };
  for (const workload_result& wr : all) {
    const std::vector<verdict> verdicts = judge(wr);
    for (const impl_result& r : wr.impls) {
      std::string limit, met;
      for (const verdict& v : verdicts) {
        if (v.t->what == target::kind::ratio && v.t->name == r.name) {
          limit = json_num(v.t->limit);
          met = v.known ? (v.met ? "yes" : "no") : "";
        }
      }
      std::string metrics;
      for (const auto& kv : r.metrics) metrics += (metrics.empty() ? "" : ";") + kv.first + "=" + json_num(kv.second);
      std::string err = r.error;
      std::replace(err.begin(), err.end(), ',', ';');
      std::replace(err.begin(), err.end(), '\n', ' ');
      o << wr.w->id << ',' << r.name << ',' << c(r.ops) << ',' << r.runs.size() << ',' << c(r.median) << ','
        << c(r.min) << ',' << c(r.max) << ',' << c(r.p10) << ',' << c(r.p90) << ',' << c(r.allocs) << ','
        << c(r.bytes) << ',' << c(r.syscalls) << ',' << c(r.threads_per_op) << ',' << c(r.threads_per_run) << ','
        << c(r.alive_delta) << ',' << c(r.ratio) << ',' << limit << ',' << met << ',' << c(r.lat_p50) << ','
        << c(r.lat_p90) << ',' << metrics << ',' << err << '\n';
    }
  }
}

std::string machine_line() {
  utsname u;
  std::string kernel = uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown";
  std::string cpu = "unknown cpu";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 10, "model name") == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads, " + kernel;
}

void usage() {
  std::printf(
      "usage: weft-bench [options]\n"
      "  --filter S    only workloads whose id contains S (e.g. 04-fib, skynet; repeatable)\n"
      "  --impl NAME   only the implementation called NAME (see --list; repeatable; for profiling)\n"
      "  --runs N      measured runs per implementation (default 5)\n"
      "  --warmup N    unmeasured rounds first (default 1)\n"
      "  --threads N   workers in every pool, weft's and the peers' (default: hardware threads)\n"
      "  --quick       small sizes: a smoke run, not a measurement\n"
      "  --json FILE   write the results as JSON\n"
      "  --csv FILE    write the results as CSV\n"
      "  --list        list the workloads and implementations\n");
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the counter.
  bench::open_syscall_counter();

  bench::options& op = bench::mutable_opts();
  std::vector<std::string> filters, impl_filters;
  std::string json_path, csv_path;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "weft-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--filter") {
      filters.push_back(next());
    } else if (a == "--impl") {
      impl_filters.push_back(next());
    } else if (a == "--runs") {
      op.runs = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--warmup") {
      op.warmup = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--threads") {
      op.threads = static_cast<std::size_t>(std::max(1, std::atoi(next().c_str())));
    } else if (a == "--quick") {
      op.quick = true;
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--csv") {
      csv_path = next();
    } else if (a == "--list") {
      list = true;
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "weft-bench: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (op.threads == 0) op.threads = std::max(1u, std::thread::hardware_concurrency());

  auto selected = [&](const workload& w) {
    if (filters.empty()) return true;
    for (const std::string& f : filters) {
      if (w.id.find(f) != std::string::npos) return true;
    }
    return false;
  };

  if (list) {
    for (const workload& w : bench::workloads()) {
      std::printf("%-24s %s\n", w.id.c_str(), w.title.c_str());
      for (const auto& e : bench::impls_of(w.id)) std::printf("    %s\n", e.name.c_str());
    }
    return 0;
  }

  const std::string machine = machine_line();
  std::printf("weft-bench: %s\n", machine.c_str());
  std::printf("threads per pool %zu, %d measured run(s) after %d warm-up round(s), interleaved%s; syscalls %s\n",
              op.threads, op.runs, op.warmup, op.quick ? ", QUICK sizes (smoke run, not a measurement)" : "",
              bench::syscalls_countable() ? "counted (perf raw_syscalls:sys_enter)" : "not countable here (n/a)");
  std::printf("thr/op: threads created per op (pthread_create); thr/run: per measured run; allocs, bytes: operator new\n");
  std::fflush(stdout);

  std::vector<workload_result> all;
  bool any_error = false;
  for (const workload& w : bench::workloads()) {
    if (!selected(w)) continue;
    std::vector<bench::impl_entry> impls = bench::impls_of(w.id);
    if (!impl_filters.empty()) {
      impls.erase(std::remove_if(impls.begin(), impls.end(),
                                 [&](const bench::impl_entry& e) {
                                   for (const std::string& f : impl_filters) {
                                     if (e.name == f) return false;
                                   }
                                   return true;
                                 }),
                  impls.end());
    }
    if (impls.empty()) continue;
    workload_result wr;
    wr.w = &w;
    wr.load_before = read_loadavg();
    for (const auto& e : impls) {
      wr.impls.emplace_back();
      wr.impls.back().name = e.name;
    }
    const int rounds = op.warmup + op.runs;
    for (int round = 0; round < rounds; ++round) {
      for (std::size_t i = 0; i < impls.size(); ++i) {
        impl_result& r = wr.impls[i];
        if (!r.error.empty()) continue;
        state s;
        try {
          impls[i].fn(s);
          if (!s.measured()) throw std::logic_error("the implementation never called stop()");
        } catch (const std::exception& e) {
          r.error = e.what();
        } catch (...) {
          r.error = "unknown exception";
        }
        if (r.error.empty() && round >= op.warmup) r.runs.push_back(std::move(s));
      }
    }
    wr.load_after = read_loadavg();
    for (impl_result& r : wr.impls) {
      if (!r.error.empty()) any_error = true;
      summarise(r);
    }
    const impl_result* weft = find_impl(wr, "weft");
    for (impl_result& r : wr.impls) {
      // Latency workloads have no ns/op to compare (their runs include the
      // idle sleeps); they report percentiles only.
      if (!w.latency && weft != nullptr && &r != weft && r.name.compare(0, 4, "weft") != 0 &&
          weft->error.empty() && r.error.empty()) {
        r.ratio = weft->median / r.median;
      }
    }
    all.push_back(std::move(wr));
    print_workload(all.back());
    std::fflush(stdout);
  }

  if (!json_path.empty()) write_json(json_path, all, machine);
  if (!csv_path.empty()) write_csv(csv_path, all);
  return any_error ? 1 : 0;
}
