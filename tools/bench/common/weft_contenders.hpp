// tools/bench/common/weft_contenders.hpp: weft's side of workloads 25 and
// 27: tasks contending one semaphore or async_mutex, each a loop of
// continuations on weft's pool (take, critical section, give back, take
// again), none of them ever blocking a worker. A task that finds the
// primitive taken is a queued future; the release that frees it hands its
// continuation to the pool.
#ifndef WEFT_BENCH_COMMON_WEFT_CONTENDERS_HPP
#define WEFT_BENCH_COMMON_WEFT_CONTENDERS_HPP

#include <cstddef>
#include <utility>
#include <vector>

#include "common/pools.hpp"
#include "common/semaphore_peers.hpp"
#include "harness.hpp"

namespace bench {

/// `tasks` loops of `per_task` rounds each; `take()` returns a future of
/// the holder (a semaphore::permit, an async_mutex::guard), which gives
/// the primitive back when destroyed. `try_take()` returns a holder, empty
/// when it took nothing: a task goes round with it for as long as it gets
/// one, and only then falls back to take() (the fast path of the `-try`
/// rows; the plain rows pass one that never takes).
template <class Take, class TryTake>
void weft_contended(state& s, Take take, TryTake try_take, int tasks, std::size_t per_task) {
  using holder = typename decltype(take())::value_type;
  struct task {
    Take* take;
    TryTake* try_take;
    owner_changes* owner;
    done_latch* done;
    int id;
    std::size_t left;
    std::size_t changes;

    void next() {
      while (left != 0) {
        holder h = (*try_take)();
        if (!h) break;
        --left;
        changes += owner->enter(id) ? 1 : 0;
      }
      if (left == 0) {
        done->count_down();
        return;
      }
      --left;
      (*take)().then([this](holder h) {
        changes += owner->enter(id) ? 1 : 0;
        { holder gone(std::move(h)); }  // released before the next take
        next();
      });
    }
  };
  owner_changes owner;
  done_latch done(tasks);
  std::vector<task> all;
  for (int i = 0; i < tasks; ++i) all.push_back(task{&take, &try_take, &owner, &done, i, per_task, 0});
  s.start();
  for (task& t : all) t.next();
  done.wait();
  s.stop();
  std::size_t total = 0;
  for (const task& t : all) total += t.changes;
  report_contended(s, static_cast<std::size_t>(tasks) * per_task, total);
}

}  // namespace bench

#endif  // WEFT_BENCH_COMMON_WEFT_CONTENDERS_HPP
