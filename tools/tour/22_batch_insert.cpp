// 22: batches and bounded fan-out. 1,000 rows inserted 100 at a time
// against a database call that takes a few ms, one batch after the other
// and then 4 at once; then 20 fetches with at most 4 in flight, results in
// the order of the keys, where the first failure stops what has not started.
//
// asyncio:  for i in range(0, len(rows), 100):
//               await db.insert_many(rows[i:i + 100])
//           limit = asyncio.Semaphore(4)
//           async def bounded(key):
//               async with limit:
//                   return await fetch(key)
//           pages = await asyncio.gather(*(bounded(k) for k in keys))
//
// batch() and for_each_bounded() hold no thread while a call is pending:
// a call that ends frees its slot and the next item starts from there.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

using namespace std::chrono_literals;

// One more call in flight; `peak` keeps the most there were at once.
void enter(std::atomic<int>& in_flight, std::atomic<int>& peak) {
  const int now = ++in_flight;
  int seen = peak.load();
  while (now > seen && !peak.compare_exchange_weak(seen, now)) {
  }
}

struct row {
  int id;
  std::string name;
};

// A database whose insert_many takes 4 ms plus 1 ms per 50 rows, on the
// timer: no thread sleeps while it "runs".
struct fake_db {
  std::atomic<int> in_flight{0}, peak{0};
  std::atomic<std::size_t> stored{0};

  weft::future<std::size_t> insert_many(std::vector<row> rows) {
    enter(in_flight, peak);
    const auto latency = 4ms + std::chrono::milliseconds(rows.size() / 50);
    const std::size_t n = rows.size();
    return weft::timer_service::of(weft::default_pool()).sleep_for(latency).then([this, n] {
      stored += n;
      --in_flight;
      return n;
    });
  }
};

}  // namespace

void tour_22(tour::flaky_service& svc) {
  std::vector<row> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back(row{i, "user-" + std::to_string(i)});

  for (std::size_t at_once : {std::size_t(1), std::size_t(4)}) {
    fake_db db;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::size_t> per_batch =
        weft::batch(rows, 100, at_once, [&db](std::vector<row> chunk) { return db.insert_many(std::move(chunk)); })
            .get();
    const double took = tour::ms_since(t0);
    const std::size_t total = std::accumulate(per_batch.begin(), per_batch.end(), std::size_t(0));
    tour::expect(per_batch.size() == 10 && total == 1000 && db.stored.load() == 1000, "10 batches, 1,000 rows");
    tour::expect(db.peak.load() <= static_cast<int>(at_once), "never more batches in flight than allowed");
    tour::say("1,000 rows in " + std::to_string(per_batch.size()) + " batches of 100, " + std::to_string(at_once) +
              " at a time (peak " + std::to_string(db.peak.load()) + "): " + tour::ms(took) +
              (at_once == 1 ? " (10 inserts of ~6 ms, one after the other)" : " (about a quarter)"));
  }

  // Bounded fetch: failures become -1 here, so every key gets an answer.
  std::vector<int> keys(20);
  std::iota(keys.begin(), keys.end(), 300);
  std::atomic<int> in_flight{0}, peak{0};
  auto fetch = [&svc, &in_flight, &peak](int key) {
    enter(in_flight, peak);
    return svc.fetch(key).then_result([&in_flight](weft::result<int> r) {
      --in_flight;
      return r.has_value() ? r.value() : -1;
    });
  };
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> values = weft::for_each_bounded(keys, 4, fetch).get();
  const int failed = static_cast<int>(std::count(values.begin(), values.end(), -1));
  tour::expect(values.size() == keys.size() && peak.load() <= 4, "20 answers in key order, at most 4 in flight");
  tour::say("20 fetches, at most 4 in flight (peak " + std::to_string(peak.load()) + "): " +
            std::to_string(20 - failed) + " answered, " + std::to_string(failed) + " failed, in " +
            tour::ms(tour::ms_since(t0)));

  // Strict: the first failure cancels what has not started, and the
  // result is an exception_group of what failed.
  std::atomic<int> started{0};
  t0 = std::chrono::steady_clock::now();
  try {
    weft::for_each_bounded(keys, 4, [&svc, &started](int key) {
      ++started;
      return svc.fetch(key);
    }).get();
    tour::say("strict fetch: every key answered");
  } catch (const weft::exception_group& g) {
    tour::expect(started.load() < 20, "the failure stopped the keys not yet started");
    tour::say("strict fetch: " + g.message() + "; " + std::to_string(started.load()) +
              " of 20 started before the first failure stopped the rest, in " + tour::ms(tour::ms_since(t0)));
  }
}
