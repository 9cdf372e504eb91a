// The coordination primitives' race-prone behaviour, explored under 2,000
// seeds each with weft::testing::simulation: a cancel racing a release on
// a semaphore, random cancels against a semaphore of k, a lost update an
// async_mutex must prevent across a hop, an event's set racing cancels and
// a clear, and a time-out racing the release that would grant the wait.
// Each scenario states its invariants; a broken one names the seed that
// replays it.
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "weft/async_mutex.hpp"
#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/future.hpp"
#include "weft/semaphore.hpp"
#include "weft/testing.hpp"
#include "weft/timeout.hpp"

namespace {

using namespace std::chrono_literals;
using weft::testing::simulation;

constexpr std::uint64_t seeds = 2000;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error("invariant broken: " + what);
}

// Whether a ready future failed with cancelled_error (false if it holds a
// value); anything else breaks the scenario.
template <class T>
bool cancelled(weft::future<T>& f) {
  check(f.is_ready(), "the wait completed");
  try {
    f.get();
    return false;
  } catch (const weft::cancelled_error&) {
    return true;
  }
}

// A cancel and a release race for the head waiter of an empty semaphore:
// one of them wins, and the permit the release gave goes to the head (the
// cancel lost) or to the waiter behind it (the cancel won). Never both,
// never neither.
TEST(CoordinationRaces, ACancelRacingAReleaseHandsThePermitToExactlyOneWaiter) {
  int cancel_won = 0, release_won = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    weft::semaphore sem(0, sim.executor());
    weft::cancellation_source source;
    auto head = sem.acquire(1, source.token());
    auto behind = sem.acquire(1);
    sim.executor().execute([&] { sem.release(1); });
    sim.executor().execute([&] { source.cancel(); });
    sim.run();
    // Observed before cancelled() takes the head's permit out and drops it
    // (which would grant the waiter behind at once).
    const bool behind_ready = behind.is_ready();
    const std::size_t queued = sem.waiting();
    check(sem.available() == 0, "the one permit is held, not free");
    if (cancelled(head)) {
      check(behind_ready && queued == 0, "the waiter behind got the permit");
      check(behind.get().count() == 1, "one permit");
      ++cancel_won;
    } else {
      check(!behind_ready && queued == 1, "the waiter behind still waits");
      ++release_won;
    }
  });
  EXPECT_GT(cancel_won, 100);
  EXPECT_GT(release_won, 100);
}

// Six waiters for 1 or 2 of a semaphore's 3 permits, three tokens
// cancelled at random points, holders that give back after a hop: never
// more than 3 held, every waiter not cancelled gets through, 3 free at
// the end.
TEST(CoordinationRaces, RandomCancelsNeverLoseOrDuplicateASemaphoresPermits) {
  int cancelled_waits = 0, granted_waits = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    constexpr std::ptrdiff_t k = 3;
    weft::semaphore sem(k, sim.executor());
    std::vector<weft::cancellation_source> sources(3);
    std::ptrdiff_t held = 0, most_held = 0;
    std::vector<weft::future<void>> waits;
    for (int i = 0; i < 6; ++i) {
      const std::ptrdiff_t want = 1 + static_cast<std::ptrdiff_t>(sim.random(2));
      const weft::cancellation_token token = sources[sim.random(3)].token();
      sim.executor().execute([&, want, token] {
        waits.push_back(sem.acquire(want, token).then([&, want](weft::semaphore::permit p) {
          check(p.count() == want, "a permit holds what was asked");
          held += want;
          most_held = std::max(most_held, held);
          auto kept = std::make_shared<weft::semaphore::permit>(std::move(p));
          sim.executor().execute([&held, kept, want] {
            held -= want;
            kept->release();
          });
        }));
      });
    }
    for (auto& s : sources) sim.executor().execute([&s] { s.cancel(); });
    sim.run();
    check(most_held <= k, "never more than k permits held");
    check(held == 0, "every holder gave back");
    check(sem.available() == k, "k free at the end");
    check(sem.waiting() == 0, "nobody left queued");
    for (auto& w : waits) (cancelled(w) ? cancelled_waits : granted_waits) += 1;
  });
  EXPECT_GT(cancelled_waits, 1000);
  EXPECT_GT(granted_waits, 1000);
}

// Four read-modify-writes across a hop, each under the mutex, two of them
// with tokens cancelled at random points: no update is lost, and exactly
// the locks that were granted updated.
TEST(CoordinationRaces, AnAsyncMutexHeldAcrossAHopLosesNoUpdate) {
  int some_cancelled = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    weft::async_mutex m(sim.executor());
    weft::cancellation_source source;
    int counter = 0, granted = 0;
    bool inside = false;
    std::vector<weft::future<void>> locks;
    for (int i = 0; i < 4; ++i) {
      const weft::cancellation_token token = i % 2 == 0 ? source.token() : weft::cancellation_token();
      sim.executor().execute([&, token] {
        locks.push_back(m.lock(token).then([&](weft::async_mutex::guard g) {
          check(!inside, "one holder at a time");
          inside = true;
          ++granted;
          const int read = counter;
          auto kept = std::make_shared<weft::async_mutex::guard>(std::move(g));
          sim.executor().execute([&, kept, read] {
            counter = read + 1;
            inside = false;
            kept->unlock();
          });
        }));
      });
    }
    sim.executor().execute([&] { source.cancel(); });
    sim.run();
    check(counter == granted, "every granted lock updated, none lost");
    check(!m.is_locked() && m.waiting() == 0, "unlocked and nobody queued at the end");
    int failed = 0;
    for (auto& l : locks) failed += cancelled(l) ? 1 : 0;
    check(failed + granted == 4, "each lock was granted or cancelled");
    some_cancelled += failed > 0 ? 1 : 0;
  });
  EXPECT_GT(some_cancelled, 100);
}

// Three waits queued on a cleared event, each with a token cancelled at a
// random point, race one set() and a clear(); a fourth wait made in a task
// is ready at once exactly when the event is set then. A queued wait is
// woken iff the set came before its cancel.
TEST(CoordinationRaces, AnEventsSetRacingCancelsAndAClearWakesExactlyTheWaitersStillQueued) {
  weft_test::error_capture errors;
  int woken = 0, cancelled_waits = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    weft::event e(sim.executor());
    int seq = 0, set_at = -1;
    std::vector<weft::cancellation_source> sources(3);
    std::vector<int> cancelled_at(3, -1);
    std::vector<weft::future<void>> waits;
    for (auto& s : sources) waits.push_back(e.wait(s.token()));
    sim.executor().execute([&] {
      e.set();
      set_at = seq++;
    });
    sim.executor().execute([&] { e.clear(); });
    for (int i = 0; i < 3; ++i) {
      sim.executor().execute([&, i] {
        sources[i].cancel();
        cancelled_at[i] = seq++;
      });
    }
    bool late_ready = false, was_set = false;
    int late_at = -1;
    weft::future<void> late;
    sim.executor().execute([&] {
      was_set = e.is_set();
      late = e.wait();
      late_ready = late.is_ready();
      late_at = seq++;
    });
    sim.run();
    for (int i = 0; i < 3; ++i) {
      const bool c = cancelled(waits[i]);
      check(c == (cancelled_at[i] < set_at), "wait " + std::to_string(i) + " woken iff the set came first");
      (c ? cancelled_waits : woken) += 1;
    }
    check(late_ready == was_set, "a wait on a set event is ready at once, on a cleared one it waits");
    const bool late_woken = was_set || set_at > late_at;
    check(late.is_ready() == late_woken, "a late wait is woken by a set after it, and only by one");
    check(e.waiting() == (late_woken ? 0u : 1u), "only a late wait the set never reached is queued");
  });
  EXPECT_GT(woken, 1000);
  EXPECT_GT(cancelled_waits, 1000);
  EXPECT_EQ(errors.count(), 0u);
}

// A 10 ms time-out on an acquire races the release a timer makes at 9, 10
// or 11 ms: the acquire either gets the permit or times out having taken
// nothing, and nothing is left armed.
TEST(CoordinationRaces, ATimeOutRacingAReleaseGrantsOrTakesNothing) {
  weft_test::error_capture errors;
  int in_time = 0, late = 0;
  weft::testing::for_each_seed(0, seeds, [&](simulation& sim) {
    weft::semaphore sem(0, sim.executor());
    const auto release_at = 9ms + std::chrono::milliseconds(sim.random(3));
    sim.timers().arm_after(release_at, [&sem] { sem.release(1); });
    weft::cancellation_source work;
    auto answer = weft::timeout(sim.timers(), sem.acquire(1, work.token()), 10ms, work);
    bool timed_out = false;
    weft::semaphore::permit p;
    try {
      p = sim.run_until_complete(std::move(answer));
      check(p.count() == 1, "the permit");
      check(release_at <= 10ms, "granted only by a release in time");
      ++in_time;
    } catch (const weft::timeout_error&) {
      timed_out = true;
      check(release_at >= 10ms, "timed out only when the release was not early");
      ++late;
    }
    sim.run();
    check(sem.available() == (timed_out ? 1 : 0), "a time-out took nothing; a grant holds the permit");
    check(sem.waiting() == 0, "nobody left queued");
    check(sim.timers().pending() == 0, "no timer left");
  });
  EXPECT_GT(in_time, 500);
  EXPECT_GT(late, 500);
  EXPECT_EQ(errors.count(), 0u);
}

}  // namespace
