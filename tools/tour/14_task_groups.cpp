// 14: task groups. Start many calls, wait for all of them, and fail or
// stop them together.
//
// asyncio:  async def fetch_all(urls):
//               async with asyncio.TaskGroup() as tg:
//                   tasks = [tg.create_task(fetch_url(u)) for u in urls]
//               return [t.result() for t in tasks]
//
//           async def fetch_with_errors(urls):     # every outcome, no failure
//               async def fetch_one(url):
//                   try: results[url] = await fetch_url(url)
//                   except Exception as e: results[url] = e
//               async with asyncio.TaskGroup() as tg:
//                   for url in urls: tg.create_task(fetch_one(url))
//
// task_group::spawn(f) runs f (or f(token)) on the group's executor and
// gives its future; wait() (or join(), a future) returns once every child
// has finished. The first child that fails cancels the group's token, and
// the join fails with an exception_group of the real failures (not the
// siblings' cancelled_errors). A group made with a deadline is cancelled
// when it passes, and its join fails with timeout_error. The destructor
// cancels and waits, so no child outlives the block.
#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

using namespace std::chrono_literals;

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

// Keys from `first` whose next call succeeds (or fails, with `ok` false).
std::vector<int> keys_that(tour::flaky_service& svc, int first, std::size_t n, bool ok) {
  std::vector<int> keys;
  for (int k = first; keys.size() < n; ++k) {
    if ((svc.plan_for(k).result == tour::call_plan::outcome::ok) == ok) keys.push_back(k);
  }
  return keys;
}

// A report of up to 100 pages, one page a millisecond on the timer,
// stopping at the first page boundary after `token` is cancelled. Gives the
// number of pages rendered.
weft::future<int> render_pages(weft::thread_pool& pool, weft::cancellation_token token, int done) {
  if (done == 100 || token.is_cancelled()) return weft::make_ready_future(done, pool);
  return weft::timer_service::of(pool).sleep_for(1ms).then(
      [&pool, token, done] { return render_pages(pool, token, done + 1); });
}

// Ten calls in a row, from key `first` (about 70 ms); stops with
// cancelled_error at the first call after `token` is cancelled.
weft::future<int> call_chain(tour::flaky_service& svc, weft::thread_pool& pool, weft::cancellation_token token,
                             int first, int done) {
  if (done == 10) return weft::make_ready_future(done, pool);
  token.throw_if_cancelled();
  return svc.fetch(first + done).then_result([&svc, &pool, token, first, done](weft::result<int>) {
    return call_chain(svc, pool, token, first, done + 1);
  });
}

}  // namespace

void tour_14(tour::flaky_service& svc) {
  weft::thread_pool& pool = weft::default_pool();

  // 1. fetch_all: eight calls in one group; the results stay in the
  //    children's futures.
  {
    const std::vector<int> keys = keys_that(svc, 700, 8, true);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<weft::future<int>> tasks;
    {
      weft::task_group g(pool);
      for (int k : keys) tasks.push_back(g.spawn([&svc, k] { return svc.fetch(k); }));
      g.wait();
    }
    std::vector<int> values;
    for (auto& t : tasks) values.push_back(t.get());
    tour::say("fetch_all: " + std::to_string(keys.size()) + " calls in one group, values " + join(values) + " after " +
              tour::ms(tour::ms_since(t0)));
  }

  // 2. fetch_with_errors: each child keeps its own error, so none fails
  //    the group and every outcome is there.
  {
    std::vector<int> keys = keys_that(svc, 740, 4, true);
    for (int k : keys_that(svc, 740, 2, false)) keys.push_back(k);
    keys.push_back(1502);  // does not exist
    std::vector<std::exception_ptr> errors(keys.size());
    std::vector<int> values(keys.size(), 0);
    const auto t0 = std::chrono::steady_clock::now();
    {
      weft::task_group g(pool);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        g.spawn([&, i] {
          // Each child writes its own slot: no lock needed.
          return svc.fetch(keys[i]).then_result([&, i](weft::result<int> r) {
            if (r.has_value()) {
              values[i] = r.value();
            } else {
              errors[i] = r.error();
            }
          });
        });
      }
      g.wait();  // cannot fail: every child caught its error
    }
    int failed = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!errors[i]) continue;
      ++failed;
      try {
        std::rethrow_exception(errors[i]);
      } catch (const std::exception& e) {
        tour::say(std::string("  ") + e.what());
      }
    }
    tour::expect(failed == 3, "two unavailable and one missing key");
    tour::say("fetch_with_errors: " + std::to_string(keys.size()) + " calls, " + std::to_string(failed) +
              " kept their error, the group succeeded, after " + tour::ms(tour::ms_since(t0)));
  }

  // 3. The first failure cancels the rest: a missing key fails fast while
  //    a report pages through on the timer, checking the group's token.
  {
    const auto t0 = std::chrono::steady_clock::now();
    weft::task_group g(pool);
    auto report = g.spawn([&pool](weft::cancellation_token token) { return render_pages(pool, token, 0); });
    g.spawn([&svc] { return svc.fetch(1503); });  // not_found after a few ms
    try {
      g.wait();
      tour::expect(false, "the group fails");
    } catch (const weft::exception_group& e) {
      std::string member;
      try {
        std::rethrow_exception(e.exceptions().at(0));
      } catch (const std::exception& x) {
        member = x.what();
      }
      tour::expect(e.size() == 1, "one real failure; the report's stop is not one");
      tour::say("one child failed: join threw an exception_group of " + std::to_string(e.size()) + " (" + member +
                ") after " + tour::ms(tour::ms_since(t0)));
    }
    const int rendered = report.get();
    tour::expect(rendered < 100, "the report saw the cancel part way");
    tour::say("the report stopped at page " + std::to_string(rendered) + " of 100 when the group was cancelled");
  }

  // 4. A deadline for the whole group: 30 ms for four chains of ten calls
  //    (2-12 ms each).
  {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<weft::future<int>> chains;
    try {
      weft::task_group g(pool, 30ms);
      for (int c = 0; c < 4; ++c) {
        chains.push_back(g.spawn(
            [&svc, &pool, c](weft::cancellation_token token) { return call_chain(svc, pool, token, 760 + c * 10, 0); }));
      }
      g.wait();
      tour::expect(false, "the deadline passes first");
    } catch (const weft::timeout_error& e) {
      tour::say(std::string("a 30 ms deadline on four chains of ten calls: ") + e.what() + ", after " +
                tour::ms(tour::ms_since(t0)) + " (the join waits for the calls in flight)");
    }
    int cut_short = 0;
    for (auto& f : chains) {
      try {
        f.get();
      } catch (const weft::cancelled_error&) {
        ++cut_short;
      }
    }
    tour::say("chains cut short by the deadline: " + std::to_string(cut_short) + " of 4");
    tour::expect(cut_short == 4, "every chain was cut short by the deadline");
  }
}
