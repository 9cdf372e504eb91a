// weft-tour: the patterns weft has so far, each run against a simulated
// flaky service (flaky_service.hpp), printing what happened and how long it
// took. Every example checks what it claims (tour::expect), so the tour is
// also a test: it exits non-zero if an example misbehaves.
//
//   weft-tour            run every example
//   weft-tour 04 06      run only these
//   weft-tour --help     list the examples (also -h)
//
// The service is seeded, so the output is the same on every run except for
// the timings.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

struct example {
  const char* id;
  const char* title;
  const char* asyncio;
  void (*run)(tour::flaky_service&);
};

const example examples[] = {
    {"01", "async + then", "await a task, then use its result", tour_01},
    {"02", "when_all", "asyncio.gather(*aws)", tour_02},
    {"03", "when_all_settled", "asyncio.gather(*aws, return_exceptions=True)", tour_03},
    {"04", "when_any", "asyncio.wait(aws, return_when=FIRST_COMPLETED)", tour_04},
    {"05", "on_error / finally", "try / except / finally around an await", tour_05},
    {"06", "offload + cancellation", "loop.run_in_executor(pool, f); task.cancel()", tour_06},
    {"07", "shared_future", "many coroutines awaiting one task", tour_07},
    {"08", "from_std / from_boost / to_boost", "asyncio.wrap_future(concurrent_future)", tour_08},
    {"09", "nested get() on a pool", "await inside a task (no deadlock)", tour_09},
    {"10", "promise", "loop.create_future(); fut.set_result(v)", tour_10},
    {"11", "exception_group: split / handle", "except* E (ExceptionGroup)", tour_11},
    {"12", "cancellation", "task.cancel(); except asyncio.CancelledError", tour_12},
    {"13", "with_timeout / timeout", "asyncio.wait_for(aw, t); async with asyncio.timeout(t)", tour_13},
    {"14", "task_group", "async with asyncio.TaskGroup() as tg: tg.create_task(...)", tour_14},
    {"15", "retry", "a retry loop with asyncio.sleep backoff; tenacity's @retry", tour_15},
    {"16", "testing::simulation", "a seeded loop picking each step (no asyncio equivalent)", tour_16},
    {"17", "semaphore", "asyncio.Semaphore(3); async with limit", tour_17},
    {"18", "event", "asyncio.Event(); await ev.wait(); ev.set()", tour_18},
    {"19", "async_queue + close()", "asyncio.Queue(maxsize=3); put / get, a sentinel to stop", tour_19},
    {"20", "condition + bounded_buffer", "asyncio.Condition(); the condition-variable Buffer", tour_20},
    {"21", "async_mutex", "asyncio.Lock(); async with lock (a rate limiter)", tour_21},
    {"22", "batch / for_each_bounded", "await db.insert_many(rows[i:i + 100]); gather under a Semaphore", tour_22},
};

bool selected(const example& ex, int argc, char** argv) {
  if (argc <= 1) return true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], ex.id) == 0) return true;
  }
  return false;
}

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: weft-tour [ID ...]\n"
               "       weft-tour -h | --help\n"
               "\n"
               "Runs the tour's examples (all of them, or the IDs given) against a simulated\n"
               "flaky service and prints what happened and how long it took. Exit status: 0 if\n"
               "every example did what it claims, 1 if one failed, 2 for bad arguments.\n"
               "\n"
               "Examples:\n");
  for (const example& ex : examples) std::fprintf(out, "  %s  %-34s asyncio: %s\n", ex.id, ex.title, ex.asyncio);
}

bool is_example_id(const char* arg) {
  for (const example& ex : examples) {
    if (std::strcmp(arg, ex.id) == 0) return true;
  }
  return false;
}

// True if the arguments ask for help. Exits with status 2 on an argument
// that is neither an option the tour knows nor an example id, so a typo is
// not silently skipped.
bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) return true;
  }
  for (int i = 1; i < argc; ++i) {
    if (!is_example_id(argv[i])) {
      std::fprintf(stderr, "weft-tour: unknown %s '%s'\n\n", argv[i][0] == '-' ? "option" : "example", argv[i]);
      usage(stderr);
      std::exit(2);
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    usage(stdout);
    return 0;
  }
  tour::flaky_service::options opts;
  opts.seed = 2024;
  opts.failure_rate = 0.25;
  opts.min_latency_ms = 2;
  opts.max_latency_ms = 12;
  tour::flaky_service svc(opts);

  std::printf("weft tour: a flaky service (seed %llu, %.0f%% of calls fail, %d-%d ms per call), %zu pool workers\n",
              static_cast<unsigned long long>(opts.seed), opts.failure_rate * 100, opts.min_latency_ms,
              opts.max_latency_ms, weft::default_pool().size());

  // Start the pool's workers before the clock does, so the first example's
  // timing is not the pool's start-up.
  weft::async(weft::default_pool(), [] {}).get();

  const auto start = std::chrono::steady_clock::now();
  int failed = 0;
  int ran = 0;
  for (const example& ex : examples) {
    if (!selected(ex, argc, argv)) continue;
    ++ran;
    std::printf("\n%s  %s  (asyncio: %s)\n", ex.id, ex.title, ex.asyncio);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      ex.run(svc);
      std::printf("   -- %s\n", tour::ms(tour::ms_since(t0)).c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("   !! FAILED after %s: %s\n", tour::ms(tour::ms_since(t0)).c_str(), e.what());
    }
    std::fflush(stdout);
  }
  std::printf("\n%d examples, %d failed, %s in all, %zu service calls\n", ran, failed,
              tour::ms(tour::ms_since(start)).c_str(), svc.calls());
  return failed == 0 ? 0 : 1;
}
