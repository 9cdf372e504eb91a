// 11: exception groups. Several operations fail in different ways; keep
// every failure, handle the network errors, let the rest propagate.
//
// asyncio:  try:
//               async with asyncio.TaskGroup() as tg:
//                   for key in keys: tg.create_task(sync_one(key))
//           except* ServiceUnavailable as eg:
//               for e in eg.exceptions: schedule_retry(e)
//           # anything else goes on up as an ExceptionGroup
//
// weft::exception_group holds every failure as an exception_ptr, nested
// groups included. split<E>() divides it like except* E (keeping the
// nesting); handle<E>(fn) calls fn for each E and returns the rest, which
// rethrow_if_not_empty() throws on. A task_group's join fails with an
// exception_group too (tour 14), but its first failure cancels the rest;
// this nightly sync wants every outcome, so it gathers them with
// when_all_settled.
#include <chrono>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "tour.hpp"

namespace {

/// A record that arrived but makes no sense: a data error, not a network one.
class bad_record : public std::domain_error {
 public:
  bad_record(int key, int value)
      : std::domain_error("key " + std::to_string(key) + ": record " + std::to_string(value) + " fails validation") {}
};

// Waits for every operation; gives their values, or fails with one
// exception_group holding every failure, in the operations' order.
template <class T>
weft::future<std::vector<T>> all_or_group(std::string what, std::vector<weft::future<T>> ops) {
  const std::size_t n = ops.size();
  return weft::when_all_settled(ops).then([what, n](std::vector<weft::result<T>> settled) {
    std::vector<T> values;
    std::vector<std::exception_ptr> failures;
    for (weft::result<T>& r : settled) {
      if (r.has_value()) {
        values.push_back(std::move(r).value());
      } else {
        failures.push_back(r.error());
      }
    }
    if (!failures.empty()) {
      std::string message = what + ": " + std::to_string(failures.size()) + " of " + std::to_string(n) + " failed";
      throw weft::exception_group(std::move(message), std::move(failures));
    }
    return values;
  });
}

// One record: fetch it, then validate it (values under 250 are corrupt).
weft::future<int> sync_one(tour::flaky_service& svc, int key) {
  return svc.fetch(key).then([key](int v) {
    if (v < 250) throw bad_record(key, v);
    return v;
  });
}

// A record mirrored on three replicas: all three must answer; its failures
// form a group of their own, nested in the batch's.
weft::future<int> sync_mirrored(tour::flaky_service& svc, int key) {
  std::vector<weft::future<int>> replicas;
  for (int r = 0; r < 3; ++r) replicas.push_back(svc.fetch(key, r));
  return all_or_group("mirror of key " + std::to_string(key), std::move(replicas))
      .then([](std::vector<int> v) { return v.front(); });
}

void say_lines(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) tour::say("  " + line);
}

}  // namespace

void tour_11(tour::flaky_service& svc) {
  // Key 415 answers 503, 420 holds a corrupt record, 1400 does not exist,
  // and two of key 417's three replicas answer 503 (keys no other example
  // calls, so running this one alone prints the same).
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<weft::future<int>> ops;
  for (int key : {413, 415, 420, 414, 1400, 416}) ops.push_back(sync_one(svc, key));
  ops.push_back(sync_mirrored(svc, 417));
  weft::future<std::vector<int>> batch = all_or_group("nightly sync", std::move(ops));

  try {
    batch.get();
    tour::expect(false, "the batch fails");
  } catch (const weft::exception_group& g) {
    tour::say("the batch failed after " + tour::ms(tour::ms_since(t0)) + "; its exception_group:");
    say_lines(g.what());
    tour::expect(g.size() == 4 && g.flatten().size() == 5, "four failed operations, five failures in all");

    // except* as a value: the network errors on one side, the rest on the
    // other, each keeping the nesting and the group messages.
    const weft::exception_group::split_result parts = g.split<tour::service_unavailable>();
    tour::say("split<service_unavailable>(): " + std::to_string(parts.matching.flatten().size()) +
              " network errors (the mirror's group whole), " + std::to_string(parts.rest.size()) + " others");
    tour::expect(parts.matching.size() == 2 && parts.matching.exceptions()[1] == g.exceptions()[3],
                 "the mirror's group, all 503s, moves to the matching side as it is");
    tour::expect(parts.rest.size() == 2, "the bad record and the missing key are the rest");

    // except* as a handler: retry what the network lost, rethrow the rest.
    std::vector<int> retry;
    try {
      g.handle<tour::service_unavailable>([&](const tour::service_unavailable& e) { retry.push_back(e.key()); })
          .rethrow_if_not_empty();
      tour::expect(false, "the rest is rethrown");
    } catch (const weft::exception_group& rest) {
      std::string keys;
      for (int k : retry) keys += (keys.empty() ? "" : ", ") + std::to_string(k);
      tour::say("handle<service_unavailable>: retry later for keys " + keys + "; re-raised:");
      say_lines(rest.what());
      tour::expect(retry == std::vector<int>({415, 417, 417}), "each 503 reached the handler, nested ones too");
      tour::expect(rest.size() == 2 && rest.split<bad_record>().matching.size() == 1 &&
                       rest.split<tour::not_found>().matching.size() == 1,
                   "a bad record and a missing key go on up");
    }
  }
}
