// The test kit: manual_executor, simulation, and the messages of
// run_until_complete and mock_async.
#include "weft/testing.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "thread_context.hpp"

namespace weft {
inline namespace v1 {
namespace testing {

manual_executor::manual_executor() = default;

manual_executor::~manual_executor() {
  // retire() first, as executor.hpp asks of an executor whose destructor
  // does work: from here, continuations reaching it through a future fail
  // with executor_shutdown instead of queueing into a dying object.
  retire();
  shutdown();
}

void manual_executor::execute(unique_task task) {
  if (!task) throw std::invalid_argument("weft::testing::manual_executor::execute: the task argument is empty");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) {
      queue_.push_back(std::move(task));
      ++submitted_;
      return;
    }
  }
  // Outside the lock: abandoning fails a future, whose continuations may
  // reach this executor again.
  task.abandon(std::make_exception_ptr(executor_shutdown()));
  throw executor_shutdown();
}

bool manual_executor::run_one() noexcept {
  unique_task t;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return false;
    t = std::move(queue_.front());
    queue_.pop_front();
  }
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
  return true;
}

void manual_executor::run_at(std::size_t index) {
  unique_task t;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index >= queue_.size()) {
      throw std::invalid_argument("weft::testing::manual_executor::run_at: index " + std::to_string(index) +
                                  " is not below pending() (" + std::to_string(queue_.size()) + ")");
    }
    const auto at = queue_.begin() + static_cast<std::ptrdiff_t>(index);
    t = std::move(*at);
    queue_.erase(at);
  }
  try {
    t();
  } catch (...) {
    report_unhandled_error(std::current_exception());
  }
}

std::size_t manual_executor::run_all() noexcept {
  std::size_t n = 0;
  while (run_one()) ++n;
  return n;
}

std::size_t manual_executor::pending() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

std::size_t manual_executor::submitted() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_;
}

void manual_executor::shutdown() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  abandon_queued();
}

void manual_executor::abandon_queued() noexcept {
  std::deque<unique_task> q;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    q.swap(queue_);
  }
  // Outside the lock, oldest first: a failed future's continuations may
  // call execute() here (refused now) or run other code.
  std::exception_ptr why;
  try {
    why = std::make_exception_ptr(executor_shutdown());
  } catch (...) {
    why = std::current_exception();  // std::bad_alloc: still a reason to give
  }
  for (auto& t : q) t.abandon(why);
}

// ---- simulation -------------------------------------------------------------

namespace {

// A time point as the simulation prints it: in the largest unit that
// states it exactly ("10 ms", "1500 us"), counted from the epoch.
std::string time_text(weft::clock::time_point t) {
  const long long ns =
      static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  if (ns == 0) return "0 ms";
  if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + " s";
  if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + " ms";
  if (ns % 1000 == 0) return std::to_string(ns / 1000) + " us";
  return std::to_string(ns) + " ns";
}

std::string replay_hint(std::uint64_t seed) {
  return "replay with simulation(" + std::to_string(seed) + ")";
}

}  // namespace

std::string simulation_step::to_string() const {
  if (what == kind::clock) {
    if (pending == 0) return "clock -> " + time_text(time);
    return "clock -> " + time_text(time) + ", " + std::to_string(pending) + (pending == 1 ? " task" : " tasks") +
           " queued";
  }
  return "task " + std::to_string(index) + " of " + std::to_string(pending) + " at " + time_text(time);
}

constexpr std::size_t simulation::default_max_steps;

// Everything a simulation owns, and the refusal of blocking waits (a
// runtime-private interface, so not in the public class).
struct simulation::impl final : weft::detail::wait_refusal {
  impl(std::uint64_t s, weft::clock::time_point start) : seed(s), generator(s), clk(start), timers(clk, ex) {}

  [[noreturn]] void refuse() override {
    ++refusals;
    throw std::logic_error(blocking_message());
  }

  std::string blocking_message() const {
    return "weft::testing::simulation: a blocking wait inside the simulation (seed " + std::to_string(seed) +
           ") would wait forever: its tasks run one at a time on this thread, so nothing can complete the "
           "future while this task waits; chain with then() instead";
  }

  // splitmix64: a 64-bit state, every seed a good stream, and the same
  // numbers everywhere (std::uniform_int_distribution is not).
  std::uint64_t next() noexcept {
    std::uint64_t z = (generator += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform below n (> 0): draws below the largest multiple of n are kept,
  // so no remainder is favoured. No draw when there is no choice, so a
  // step with one task queued leaves the later choices as they were.
  std::uint64_t below(std::uint64_t n) noexcept {
    if (n == 1) return 0;
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

  bool idle() const noexcept { return ex.pending() == 0 && clk.next_deadline() == weft::clock::time_point::max(); }

  const std::uint64_t seed;
  std::uint64_t generator;
  manual_clock clk;
  manual_executor ex;
  timer_service timers;  // after the clock and the executor: destroyed first
  std::vector<simulation_step> trace;
  std::size_t refusals = 0;
  bool time_passes_between_tasks = false;
};

simulation::simulation(std::uint64_t seed, weft::clock::time_point start) : impl_(new impl(seed, start)) {}

simulation::~simulation() = default;

std::uint64_t simulation::seed() const noexcept { return impl_->seed; }
manual_executor& simulation::executor() noexcept { return impl_->ex; }
manual_clock& simulation::clock() noexcept { return impl_->clk; }
timer_service& simulation::timers() noexcept { return impl_->timers; }
std::size_t simulation::steps() const noexcept { return impl_->trace.size(); }
const std::vector<simulation_step>& simulation::trace() const noexcept { return impl_->trace; }
void simulation::set_time_may_pass_between_tasks(bool on) noexcept { impl_->time_passes_between_tasks = on; }

bool simulation::step() {
  impl& s = *impl_;
  // Waits in what this step runs are refused; the scope puts the previous
  // refusal back (none, or an outer simulation's step) however it ends.
  const weft::detail::context_scope<weft::detail::wait_refusal*> scope(&weft::detail::thread_context::refusal);
  scope.context()->refusal = &s;
  const std::size_t refusals = s.refusals;
  const std::size_t pending = s.ex.pending();
  std::size_t index = 0;
  if (pending > 0) {
    // Moving the clock is one more choice only when the option is on and
    // a timer is armed: otherwise the draws are as they always were.
    const bool may_advance =
        s.time_passes_between_tasks && s.clk.next_deadline() != weft::clock::time_point::max();
    index = static_cast<std::size_t>(s.below(may_advance ? pending + 1 : pending));
  }
  if (index < pending) {
    simulation_step st;
    st.what = simulation_step::kind::task;
    st.index = index;
    st.pending = pending;
    st.time = s.clk.now();
    s.trace.push_back(st);
    s.ex.run_at(index);  // only this thread runs the queue: index < pending() still
  } else {
    const weft::clock::time_point next = s.clk.next_deadline();
    if (next == weft::clock::time_point::max()) return false;
    simulation_step st;
    st.what = simulation_step::kind::clock;
    st.pending = pending;
    st.time = std::max(next, s.clk.now());
    s.trace.push_back(st);
    s.clk.advance_to(st.time);
  }
  // The task may have caught the refusal; the test must still hear of it.
  if (s.refusals != refusals) throw std::logic_error(s.blocking_message());
  return true;
}

std::size_t simulation::run(std::size_t max_steps) {
  for (std::size_t n = 0;; ++n) {
    if (n == max_steps) {
      if (impl_->idle()) return n;
      throw_step_limit("run", max_steps);
    }
    if (!step()) return n;
  }
}

std::uint64_t simulation::random(std::uint64_t bound) {
  if (bound == 0) throw std::invalid_argument("weft::testing::simulation::random: bound is 0");
  return impl_->below(bound);
}

std::string simulation::trace_string(std::size_t last) const {
  const std::vector<simulation_step>& t = impl_->trace;
  const std::size_t from = t.size() > last ? t.size() - last : 0;
  std::string out;
  for (std::size_t i = from; i < t.size(); ++i) {
    out += "  #" + std::to_string(i) + " " + t[i].to_string() + "\n";
  }
  return out;
}

void simulation::throw_deadlock() const {
  throw std::logic_error("weft::testing::simulation::run_until_complete: deadlock: nothing left to run and the "
                         "future is not ready (seed " +
                         std::to_string(impl_->seed) + ", after " + std::to_string(steps()) + " steps; " +
                         replay_hint(impl_->seed) + "); the last steps:\n" + trace_string(16));
}

void simulation::throw_step_limit(const char* who, std::size_t max_steps) const {
  throw std::logic_error(std::string("weft::testing::simulation::") + who + ": did not settle within " +
                         std::to_string(max_steps) + " steps (seed " + std::to_string(impl_->seed) + "; " +
                         replay_hint(impl_->seed) +
                         "): tasks keep queueing tasks, or a timer keeps re-arming; the last steps:\n" +
                         trace_string(16));
}

simulation_failure::simulation_failure(std::uint64_t seed, const std::string& what, std::exception_ptr cause)
    : std::runtime_error(what), seed_(seed), cause_(std::move(cause)) {}

namespace detail {

namespace {

// "250 ms", "2 s", "1.5 us": the limit as a person would write it.
std::string human(std::chrono::duration<double> d) {
  const double s = d.count();
  const char* unit = "s";
  double v = s;
  if (s != 0 && s < 1e-6) {
    v = s * 1e9;
    unit = "ns";
  } else if (s != 0 && s < 1e-3) {
    v = s * 1e6;
    unit = "us";
  } else if (s != 0 && s < 1) {
    v = s * 1e3;
    unit = "ms";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g %s", v, unit);
  return buf;
}

}  // namespace

void throw_not_complete_within(std::chrono::duration<double> limit) {
  throw timeout_error("weft::testing::run_until_complete: the future was not ready within " + human(limit));
}

void throw_ran_dry() {
  throw std::logic_error(
      "weft::testing::run_until_complete: nothing left to run on the manual_executor, the future can never complete");
}

void throw_negative_limit() {
  throw std::invalid_argument("weft::testing::run_until_complete: limit is negative");
}

std::exception_ptr nothing_scripted(const std::string& mock, std::size_t call) {
  return std::make_exception_ptr(std::logic_error(
      "weft::testing::mock_async '" + mock + "': call " + std::to_string(call) +
      " has nothing scripted and no default (script it with returns(), fails(), returns_future() or invokes(), "
      "or set a default_returns(), default_fails() or default_invokes())"));
}

std::exception_ptr scenario_returned_false() noexcept {
  try {
    return std::make_exception_ptr(std::logic_error("weft::testing::for_each_seed: the scenario returned false"));
  } catch (...) {
    return std::current_exception();  // std::bad_alloc: still a failure to report
  }
}

void throw_simulation_failure(const simulation& sim, const std::exception_ptr& error, std::uint64_t tried) {
  const std::uint64_t seed = sim.seed();
  throw simulation_failure(seed,
                           "weft::testing::simulation: failed with seed " + std::to_string(seed) + "; " +
                               replay_hint(seed) + ": " + describe(error) + "\n(" + std::to_string(tried) +
                               (tried == 1 ? " seed" : " seeds") + " tried; " + std::to_string(sim.steps()) +
                               " steps under this one, the last:)\n" + sim.trace_string(16),
                           error);
}

void throw_mock_argument(const char* function, const char* what) {
  throw std::invalid_argument(std::string("weft::testing::mock_async::") + function + ": " + what);
}

}  // namespace detail
}  // namespace testing
}  // namespace v1
}  // namespace weft
