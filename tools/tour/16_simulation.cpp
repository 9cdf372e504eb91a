// 16: testing asynchronous code with a seeded simulation. A cache with an
// ordering bug, explored under 1,000 interleavings; the first failing seed
// replayed step for step; the fixed cache passing all of them.
//
// Python has no simulation in asyncio itself; the idea is FoundationDB's
// simulation testing (and tokio's turmoil / loom for Rust):
//
//   for seed in range(1000):
//       loop = SimulatedLoop(seed)        # picks the next ready task by seed
//       loop.run_until_complete(scenario())
//
// weft::testing::simulation owns a manual executor, a manual clock and a
// timer service on them; each step runs one queued task picked by a
// generator seeded by the test, or, when nothing is queued, moves the
// clock to the next timer. for_each_seed / failing_seeds run a scenario
// under many seeds, and simulation(seed) replays one exactly.
//
// The bug: a cache that checks, then awaits the database, then stores what
// it read. A write that invalidates the entry while the read is in flight
// is undone when the stale read lands: the cache then serves the old value
// until the next invalidation. The fix: a generation number that the
// invalidation bumps and the fill checks before it stores.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <weft/testing.hpp>
#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

using weft::testing::simulation;

// What happened, at what simulated time, for the replay to tell.
struct story {
  std::vector<std::string>* lines = nullptr;
  void operator()(simulation& sim, const std::string& what) const {
    if (lines == nullptr) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(sim.clock().now().time_since_epoch());
    lines->push_back(std::to_string(ms.count()) + " ms: " + what);
  }
};

// A database row. A read sees the row as it is when the read starts and
// answers after 1 to 10 ms, a latency the seed draws.
struct database {
  int row = 1;
  story tell;
  weft::future<int> read(simulation& sim) const {
    const int seen = row;
    tell(sim, "the cache misses; a read starts and sees row = " + std::to_string(seen));
    const auto latency = std::chrono::milliseconds(1 + sim.random(10));
    return sim.timers().sleep_for(latency).then([seen] { return seen; });
  }
};

// A cache in front of the database: on a miss it reads, awaits the read,
// then stores what it read. The naive one (checks_generation false) stores
// it whatever happened meanwhile: the bug. The fixed one stores it only if
// no invalidation came since the read began.
template <bool checks_generation>
class cache {
 public:
  weft::future<int> get(simulation& sim, const database& db) {
    if (filled_) return weft::make_ready_future(value_, sim.executor());
    const std::uint64_t began = generation_;
    return db.read(sim).then([this, began](int v) {
      if (!checks_generation || generation_ == began) {
        value_ = v;
        filled_ = true;
      }
      return v;
    });
  }
  void invalidate() {
    ++generation_;
    filled_ = false;
  }
  bool serves(int& v) const {
    v = value_;
    return filled_;
  }

 private:
  bool filled_ = false;
  int value_ = 0;
  std::uint64_t generation_ = 0;
};
using naive_cache = cache<false>;
using generation_cache = cache<true>;

// A reader asks at 0 ms; a writer updates the row and invalidates the
// cache at 0 to 9 ms. Afterwards the cache must not serve a value the
// database no longer holds.
template <class Cache>
bool run_scenario(simulation& sim, story tell) {
  database db;
  db.tell = tell;
  Cache cache;
  sim.executor().execute([&] {
    cache.get(sim, db).then([&sim, tell](int v) { tell(sim, "the read lands with " + std::to_string(v)); });
  });
  sim.timers().arm_after(std::chrono::milliseconds(sim.random(10)), [&] {
    db.row = 2;
    cache.invalidate();
    tell(sim, "a writer sets row = 2 and invalidates the cache");
  });
  sim.run();
  int v = 0;
  const bool ok = !cache.serves(v) || v == db.row;
  tell(sim, ok ? "the cache agrees with the row" : "the cache serves " + std::to_string(v) + ", the row holds " +
                                                       std::to_string(db.row));
  return ok;
}

template <class Cache>
bool scenario(simulation& sim) {
  return run_scenario<Cache>(sim, story());
}

}  // namespace

void tour_16(tour::flaky_service&) {
  const std::uint64_t seeds = 1000;

  // 1. The naive cache under 1,000 interleavings.
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<std::uint64_t> failed = weft::testing::failing_seeds(0, seeds, scenario<naive_cache>);
  const double naive_ms = tour::ms_since(t0);
  tour::expect(!failed.empty(), "some interleaving serves a stale value");
  tour::say("check, await, set: " + std::to_string(failed.size()) + " of " + std::to_string(seeds) +
            " seeds serve a stale value (" + tour::ms(naive_ms) + "); the first is seed " + std::to_string(failed[0]));

  // 2. Replay the first failing seed: the same steps, the same failure.
  simulation first(failed[0]), again(failed[0]);
  std::vector<std::string> what_happened, what_happened_again;
  const bool first_ok = run_scenario<naive_cache>(first, story{&what_happened});
  const bool again_ok = run_scenario<naive_cache>(again, story{&what_happened_again});
  tour::expect(!first_ok && !again_ok, "the failing seed fails again");
  tour::expect(first.trace() == again.trace() && what_happened == what_happened_again,
               "a replay takes the same steps");
  tour::say("simulation(" + std::to_string(failed[0]) + ") replayed twice: the same " +
            std::to_string(first.steps()) + " steps, the same stale value:");
  for (const std::string& line : what_happened) tour::say("  " + line);
  tour::say("its steps (sim.trace_string()):");
  const std::string steps = first.trace_string();
  for (std::size_t at = 0, nl; (nl = steps.find('\n', at)) != std::string::npos; at = nl + 1) {
    tour::say("  " + steps.substr(at, nl - at));
  }

  // 3. The fixed cache passes every seed.
  t0 = std::chrono::steady_clock::now();
  weft::testing::for_each_seed(0, seeds, scenario<generation_cache>);  // throws, naming the seed, on a failure
  tour::say("with a generation check: all " + std::to_string(seeds) + " seeds pass (" + tour::ms(tour::ms_since(t0)) +
            ")");
}
