// weft/testing.hpp: a kit for testing code that uses weft (namespace
// weft::testing), what pytest-asyncio and AsyncMock give Python code.
//
//   manual_executor      an executor that runs nothing until the test says
//                        so: continuations become single-threaded and
//                        deterministic
//   mock_async<Sig>      a scripted asynchronous function that records its
//                        calls (AsyncMock)
//   run_until_complete   get() with a bound: a real-time limit for code on
//                        real pools, or "run this manual_executor until the
//                        future is ready" with deadlock detection
//   simulation           a manual_executor and a manual_clock whose next
//                        step a seeded generator picks: one test runs many
//                        interleavings, and a failure names the seed that
//                        replays it (for_each_seed, failing_seeds)
//
// docs/testing.md ("Testing code that uses weft") shows them together. Not
// included by <weft/weft.hpp>: include <weft/testing.hpp> in tests.
#ifndef WEFT_TESTING_HPP
#define WEFT_TESTING_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/clock.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/timer.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace testing {

/// An executor that queues every task and runs them only when asked, on
/// the thread that asks: run_one(), run_all(), run_at(). Bind a test's
/// futures to it (`promise<int> p(ex)`, `async(ex, f)`, `then(ex, g)`) and
/// the order in which continuations run becomes a plain sequence of calls.
///
/// A task that throws is passed to report_unhandled_error(), as weft's
/// executors do; run_one() and friends do not throw it.
///
/// Lifetime: the destructor (and shutdown()) refuses new work and
/// abandons what is still queued: weft's tasks fail their futures with
/// executor_shutdown, other callables are destroyed without running. A
/// future bound to it that outlives it fails with executor_shutdown ("the
/// executor was destroyed"), as with any weft executor.
///
/// Thread-safety: every member may be called from any thread, concurrently
/// (execute() typically from producers, the run_ members from the test's
/// thread). Tasks run on the thread that calls a run_ member, one per call
/// of run_one()/run_at(), outside the executor's lock, so a task may submit
/// more work or run others itself.
class manual_executor final : public executor {
 public:
  /// An empty, open executor. Throws what registering an executor throws
  /// (std::bad_alloc, std::length_error).
  manual_executor();
  /// Retires the executor (see executor.hpp), then abandons what is queued
  /// with executor_shutdown. Must not run inside one of its own tasks.
  ~manual_executor() override;
  manual_executor(const manual_executor&) = delete;
  manual_executor& operator=(const manual_executor&) = delete;

  /// Queues `task`. Throws std::invalid_argument if it is empty; after
  /// shutdown() abandons it with executor_shutdown and throws that.
  void execute(unique_task task) override;

  /// Runs the oldest queued task; false if none is queued. Does not throw.
  bool run_one() noexcept;

  /// Runs the task at position `index` of the queue (0 is the oldest),
  /// leaving the others in order: a simulation picks which ready task runs
  /// next. Throws std::invalid_argument if `index` >= pending().
  void run_at(std::size_t index);

  /// Runs queued tasks, oldest first, including those they queue, until
  /// none is left; returns how many ran. A task that queues another every
  /// time keeps it running forever. Does not throw.
  std::size_t run_all() noexcept;

  /// Tasks queued and not yet run. Never throws.
  std::size_t pending() const noexcept;

  /// Tasks ever accepted by execute(). Never throws.
  std::size_t submitted() const noexcept;

  /// Refuses further work (execute() then throws executor_shutdown) and
  /// abandons what is queued with executor_shutdown. Idempotent.
  void shutdown() noexcept;

 private:
  void abandon_queued() noexcept;

  mutable std::mutex mutex_;
  std::deque<unique_task> queue_;
  std::size_t submitted_ = 0;
  bool closed_ = false;
};

namespace detail {

/// The messages of run_until_complete's failures, built in the library.
[[noreturn]] void throw_not_complete_within(std::chrono::duration<double> limit);
[[noreturn]] void throw_ran_dry();
[[noreturn]] void throw_negative_limit();
/// mock_async's failure for a call it has nothing for.
std::exception_ptr nothing_scripted(const std::string& mock, std::size_t call);
[[noreturn]] void throw_mock_argument(const char* function, const char* what);

template <bool...>
struct bool_pack {};
/// True when every B is (C++14 has no std::conjunction).
template <bool... B>
using all_of = std::is_same<bool_pack<true, B...>, bool_pack<B..., true>>;

template <class R>
struct to_future {
  // fn returned a future<R>: it is the outcome.
  static future<R> from(future<R>&& f, executor&) { return std::move(f); }
  // fn returned a value.
  template <class V>
  static future<R> from(V&& v, executor& ex) {
    return make_ready_future(R(std::forward<V>(v)), ex);
  }
};

template <class R, class F, class... A>
future<R> invoke_to_future(F& fn, executor& ex, std::false_type /* fn returns void */, A&... args) {
  return to_future<R>::from(fn(args...), ex);
}
template <class R, class F, class... A>
future<R> invoke_to_future(F& fn, executor& ex, std::true_type /* fn returns void */, A&... args) {
  static_assert(std::is_void<R>::value, "mock_async::invokes(fn): fn returns void, but the mock's result is not void");
  fn(args...);
  return make_ready_future(ex);
}

}  // namespace detail

template <class Sig>
class mock_async;

/// A scripted stand-in for an asynchronous function `future<R>(Args...)`,
/// like Python's AsyncMock: each call records its arguments and returns
/// the next scripted outcome (returns(), fails(), returns_future(),
/// invokes()), in the order they were scripted, or the default outcome
/// once the script is used up.
///
///   weft::testing::mock_async<int(std::string)> fetch("fetch");
///   fetch.returns(5).fails(std::runtime_error("503")).default_returns(0);
///   service s(std::ref(fetch));  // or a copy: copies share everything
///   ...
///   EXPECT_EQ(fetch.call_count(), 3u);
///   EXPECT_EQ(std::get<0>(fetch.calls()[1]), "key 2");
///
/// A call with nothing scripted and no default does not throw: its future
/// fails with std::logic_error naming the mock and the call ("weft::testing
/// ::mock_async 'fetch': call 3 has nothing scripted and no default ..."),
/// since the code under test expects failures of an asynchronous function
/// in its future, and a synchronous throw would test another path.
///
/// The futures it makes (all but returns_future()'s, which are returned as
/// given) are ready when returned and bound to the executor given at
/// construction (default_pool() by default; a manual_executor makes their
/// continuations deterministic), which must outlive the calls.
///
/// Arguments are recorded as copies (std::decay of each parameter type),
/// so every parameter type must be copy-constructible.
///
/// Copies of a mock share its script, default and calls, so it can be
/// handed to the code under test by value (std::function) and inspected
/// in the test. Thread-safety: every member may be called from any thread,
/// concurrently, on a mock or its copies; calls take scripted outcomes in
/// the order they record themselves. invokes() functions run outside the
/// mock's lock, on the calling thread.
template <class R, class... Args>
class mock_async<R(Args...)> {
  static_assert(!std::is_reference<R>::value, "mock_async<R(Args...)>: R must not be a reference (as future<R>)");
  static_assert(std::is_move_constructible<R>::value || std::is_void<R>::value,
                "mock_async<R(Args...)>: R must be move-constructible");
  static_assert(weft::testing::detail::all_of<std::is_copy_constructible<typename std::decay<Args>::type>::value...>::value,
                "mock_async<R(Args...)>: every argument is recorded as a copy, so each must be copy-constructible");

 public:
  /// The arguments of one call, as recorded.
  using call_type = std::tuple<typename std::decay<Args>::type...>;

  /// A mock called `name` (in its error messages) whose futures are bound
  /// to `ex`. Throws std::bad_alloc.
  explicit mock_async(std::string name = "mock_async", executor& ex = weft::detail::default_executor())
      : s_(std::make_shared<shared>(std::move(name), ex)) {}

  /// Scripts the next outcome: a future ready with `value` (for a void
  /// result: `returns()`). Returns *this, to chain. Throws std::bad_alloc.
  template <class U = R>
  mock_async& returns(typename std::enable_if<!std::is_void<U>::value, U>::type value) {
    auto v = std::make_shared<R>(std::move(value));
    return push([v](executor& ex, Args&...) { return make_ready_future<R>(std::move(*v), ex); });
  }
  template <class U = R, class = typename std::enable_if<std::is_void<U>::value>::type>
  mock_async& returns() {
    return push([](executor& ex, Args&...) { return make_ready_future(ex); });
  }

  /// Scripts the next outcome: a future failed with `e`. Throws
  /// std::invalid_argument if `e` is null.
  mock_async& fails(std::exception_ptr e) {
    if (!e) weft::testing::detail::throw_mock_argument("fails", "e is a null exception_ptr");
    return push([e](executor& ex, Args&...) { return make_exceptional_future<R>(e, ex); });
  }
  /// As fails(std::make_exception_ptr(error)).
  template <class E, class = typename std::enable_if<!std::is_same<typename std::decay<E>::type, std::exception_ptr>::value>::type>
  mock_async& fails(E&& error) {
    return fails(std::make_exception_ptr(std::forward<E>(error)));
  }

  /// Scripts the next outcome: `f` itself, returned to the call as it is
  /// (a future the test completes later through its promise). Throws
  /// std::invalid_argument if `f` is not valid.
  mock_async& returns_future(future<R> f) {
    if (!f.valid()) weft::testing::detail::throw_mock_argument("returns_future", "f is not a valid future");
    auto held = std::make_shared<future<R>>(std::move(f));
    return push([held](executor&, Args&...) { return std::move(*held); });
  }

  /// Scripts the next outcome: `fn(args...)`, called with the call's
  /// arguments; it returns an R (nothing, for void), or a future<R>, or
  /// throws (the call's future then fails with that). Python's side_effect.
  template <class F>
  mock_async& invokes(F fn) {
    return push(invoker<F>(std::move(fn)));
  }

  /// The outcome of every call once the script is used up: a future ready
  /// with a copy of `value` (for void: `default_returns()`). Replaces an
  /// earlier default.
  template <class U = R>
  mock_async& default_returns(typename std::enable_if<!std::is_void<U>::value, U>::type value) {
    static_assert(std::is_copy_constructible<R>::value, "mock_async::default_returns: R must be copyable");
    auto v = std::make_shared<const R>(std::move(value));
    return set_default([v](executor& ex, Args&...) { return make_ready_future<R>(R(*v), ex); });
  }
  template <class U = R, class = typename std::enable_if<std::is_void<U>::value>::type>
  mock_async& default_returns() {
    return set_default([](executor& ex, Args&...) { return make_ready_future(ex); });
  }
  /// The default outcome: a future failed with `e`. Throws
  /// std::invalid_argument if `e` is null.
  mock_async& default_fails(std::exception_ptr e) {
    if (!e) weft::testing::detail::throw_mock_argument("default_fails", "e is a null exception_ptr");
    return set_default([e](executor& ex, Args&...) { return make_exceptional_future<R>(e, ex); });
  }
  /// As default_fails(std::make_exception_ptr(error)).
  template <class E, class = typename std::enable_if<!std::is_same<typename std::decay<E>::type, std::exception_ptr>::value>::type>
  mock_async& default_fails(E&& error) {
    return default_fails(std::make_exception_ptr(std::forward<E>(error)));
  }
  /// The default outcome: `fn(args...)`, as invokes(). `fn` must be
  /// copyable and may be called from several threads at once.
  template <class F>
  mock_async& default_invokes(F fn) {
    return set_default(invoker<F>(std::move(fn)));
  }

  /// Records the call and returns its outcome (see the class comment).
  /// Throws only std::bad_alloc (recording the call), executor_shutdown if
  /// the mock's executor was destroyed, and what copying an argument throws.
  future<R> operator()(Args... args) const {
    outcome next;
    std::size_t number = 0;
    {
      std::lock_guard<std::mutex> lock(s_->mutex);
      s_->calls.emplace_back(args...);
      number = s_->calls.size();
      if (!s_->script.empty()) {
        next = std::move(s_->script.front());
        s_->script.pop_front();
      } else {
        next = s_->fallback;
      }
    }
    executor& ex = s_->ex.get();
    if (!next) return make_exceptional_future<R>(weft::testing::detail::nothing_scripted(s_->name, number), ex);
    return next(ex, args...);
  }

  /// The arguments of every call so far, in the order of the calls. Throws
  /// std::bad_alloc.
  std::vector<call_type> calls() const {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->calls;
  }

  /// How many calls were made. Never throws.
  std::size_t call_count() const noexcept {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->calls.size();
  }

  /// Scripted outcomes not yet used. Never throws.
  std::size_t scripted() const noexcept {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->script.size();
  }

  /// Forgets the recorded calls (the script and the default stay). Never
  /// throws.
  void clear_calls() noexcept {
    std::lock_guard<std::mutex> lock(s_->mutex);
    s_->calls.clear();
  }

  /// The name given at construction. Never throws.
  const std::string& name() const noexcept { return s_->name; }

 private:
  // One outcome: makes the call's future from its arguments. Copyable, as
  // the default is copied for each call (scripted ones hold their state in
  // a shared_ptr and are used once).
  using outcome = std::function<future<R>(executor&, Args&...)>;

  template <class F>
  struct invoker {
    F fn;
    explicit invoker(F f) : fn(std::move(f)) {}
    future<R> operator()(executor& ex, Args&... args) {
      try {
        using ret = decltype(fn(args...));
        return weft::testing::detail::invoke_to_future<R>(fn, ex, std::is_void<ret>(), args...);
      } catch (...) {
        return make_exceptional_future<R>(std::current_exception(), ex);
      }
    }
  };

  struct shared {
    shared(std::string n, executor& e) : name(std::move(n)), ex(e) {}
    const std::string name;
    const weft::detail::executor_ref ex;
    std::mutex mutex;
    std::deque<outcome> script;
    outcome fallback;
    std::vector<call_type> calls;
  };

  mock_async& push(outcome o) {
    std::lock_guard<std::mutex> lock(s_->mutex);
    s_->script.push_back(std::move(o));
    return *this;
  }
  mock_async& set_default(outcome o) {
    std::lock_guard<std::mutex> lock(s_->mutex);
    s_->fallback = std::move(o);
    return *this;
  }

  std::shared_ptr<shared> s_;
};

/// Waits at most `limit` of real time for `f`, then returns its value or
/// rethrows its error: get() that cannot hang a test on a real pool.
/// Throws weft::timeout_error ("weft::testing::run_until_complete: the
/// future was not ready within 250 ms") if `f` is not ready by then (`f`
/// is dropped; an error it gets later goes to the unhandled-error
/// handler), std::invalid_argument if `limit` is negative,
/// future_error(no_state) if `f` is not valid. Thread-safe (it consumes
/// `f`, which the caller owns).
template <class T, class Rep, class Period>
T run_until_complete(future<T> f, const std::chrono::duration<Rep, Period>& limit) {
  const std::chrono::duration<double> seconds = limit;
  if (seconds.count() < 0) detail::throw_negative_limit();
  // Past a year, a limit only risks overflowing steady_clock.
  const std::chrono::duration<double> capped = seconds.count() > 3.2e7 ? std::chrono::duration<double>(3.2e7) : seconds;
  if (f.wait_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(capped)) !=
      std::future_status::ready) {
    detail::throw_not_complete_within(seconds);
  }
  return f.get();
}

/// Runs `ex`'s queued tasks, oldest first, one at a time on the calling
/// thread, until `f` is ready; then returns its value or rethrows its
/// error. For deterministic tests, where only `ex` can make progress:
/// if `ex` runs out of tasks first, nothing can complete `f`, and it
/// throws std::logic_error ("weft::testing::run_until_complete: nothing
/// left to run, the future can never complete") instead of hanging. A
/// future that another thread completes (a real pool, a timer) can be
/// reported so too: use the overload with a time limit for those. Throws
/// future_error(no_state) if `f` is not valid.
template <class T>
T run_until_complete(future<T> f, manual_executor& ex) {
  while (!f.is_ready()) {
    if (!ex.run_one() && !f.is_ready()) detail::throw_ran_dry();
  }
  return f.get();
}

// ---- simulation -------------------------------------------------------------

/// One step a simulation took (simulation::trace()): a queued task run, or
/// the clock moved to the next timer's deadline. Two runs of the same
/// scenario with the same seed take equal steps.
struct simulation_step {
  /// What the step did.
  enum class kind : unsigned char {
    task,   ///< ran the task at `index` of the `pending` queued ones
    clock,  ///< nothing was queued: moved the clock to `time`, firing what was due
  };
  kind what = kind::task;
  /// task: the position of the task run (0 is the oldest). clock: 0.
  std::size_t index = 0;
  /// task: how many tasks were queued, the one run included. clock: how
  /// many tasks were queued and passed over (0 unless
  /// simulation::set_time_may_pass_between_tasks(true)).
  std::size_t pending = 0;
  /// task: the clock when it ran. clock: where the clock moved to. Counted
  /// from the simulation's start (the epoch unless the constructor was
  /// given another).
  weft::clock::time_point time;

  /// "task 1 of 3 at 10 ms", "clock -> 10 ms", "clock -> 10 ms, 2 tasks
  /// queued". Throws std::bad_alloc.
  std::string to_string() const;

  friend bool operator==(const simulation_step& a, const simulation_step& b) noexcept {
    return a.what == b.what && a.index == b.index && a.pending == b.pending && a.time == b.time;
  }
  friend bool operator!=(const simulation_step& a, const simulation_step& b) noexcept { return !(a == b); }
};

/// A deterministic simulation of asynchronous code, as FoundationDB tests
/// its servers: a manual_executor, a manual_clock and a timer_service on
/// them, where a generator seeded by the test picks which queued task runs
/// next. One test runs a scenario under many seeds (for_each_seed), so it
/// sees many interleavings of the same code; a failure names its seed, and
/// simulation(seed) replays that interleaving step for step.
///
///   weft::testing::for_each_seed(0, 1000, [](weft::testing::simulation& sim) {
///     weft::promise<int> reply(sim.executor());
///     auto answer = weft::with_timeout(sim.timers(), reply.get_future(), 10ms);
///     sim.timers().arm_after(10ms, [&reply] { reply.set_value(7); });  // races the deadline
///     boost::optional<int> r = sim.run_until_complete(std::move(answer));
///     if (r && *r != 7) throw std::logic_error("wrong value");
///   });
///
/// Put everything the code under test waits on in the simulation: bind its
/// promises, async() calls and continuations to executor() (continuations
/// then stay there), and its timers, sleeps and timeouts to timers(). Each
/// step() runs one task on the calling thread, or, when no task is queued,
/// moves the clock to the next deadline: time passes only when nothing is
/// ready to run, and every task takes no time. With
/// set_time_may_pass_between_tasks(true), time may also pass while tasks
/// are ready, as when a task runs long: a timer may then come due before
/// a task that was ready earlier runs.
///
/// A wait that would block inside a task the simulation runs (get() or
/// wait() on a future not yet ready, task_group::wait()) could never end,
/// since nothing else runs while that thread waits: it throws
/// std::logic_error ("weft::testing::simulation: a blocking wait inside the
/// simulation (seed N) would wait forever; chain with then() instead")
/// instead of hanging, and the step that ran the task throws the same
/// error once the task has returned, even if the task caught it. Waits
/// with a time limit (wait_for, wait_until) are not refused: they wait out
/// their real time and time out.
///
/// Generator: splitmix64 from the seed, a number below n drawn by
/// rejection (no draw when n is 1: a step with one task queued changes no
/// later choice), so a seed means the same steps on every platform and
/// standard library. random() draws from the same stream, for the
/// scenario's own choices.
///
/// Thread-safety: one thread uses a simulation (the test's); its tasks run
/// on that thread, one at a time. executor() and timers() accept work from
/// any thread, as their classes say, but work that another thread queues
/// arrives at a moment the seed does not decide. Not copyable or movable.
class simulation {
 public:
  /// Steps run() and run_until_complete() take, by default, before they
  /// conclude that the code never settles (tasks that keep queueing tasks,
  /// a timer that re-arms itself forever).
  static constexpr std::size_t default_max_steps = 1000000;

  /// A simulation whose choices follow `seed`, its clock standing at
  /// `start`. Throws std::bad_alloc, and what making a manual_executor
  /// throws.
  explicit simulation(std::uint64_t seed, weft::clock::time_point start = weft::clock::time_point());
  /// Shuts the timer service down (pending sleeps fail with
  /// executor_shutdown), then the executor (what is still queued is
  /// abandoned with executor_shutdown). Must not run inside one of the
  /// simulation's tasks.
  ~simulation();
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  /// The seed given to the constructor. Never throws.
  std::uint64_t seed() const noexcept;
  /// The executor whose tasks step() picks from. Never throws.
  manual_executor& executor() noexcept;
  /// The simulation's clock: step() moves it to the next deadline when no
  /// task is queued. Never throws.
  manual_clock& clock() noexcept;
  /// A timer service on clock() whose timers fire into executor(). Never
  /// throws.
  timer_service& timers() noexcept;

  /// Lets time pass while tasks are ready (off by default): a step with n
  /// tasks queued and a timer armed then picks among n + 1 choices, the
  /// queued tasks and moving the clock to the next deadline, as if a task
  /// ran long enough for the timer to come due first. Explores a deadline
  /// that passes before a ready completion gets to run. Set it before the
  /// first step for a replay to take the same steps. Never throws.
  void set_time_may_pass_between_tasks(bool on) noexcept;

  /// One step: if tasks are queued, runs the one at a position drawn from
  /// the generator (uniform over the queued ones); else if a timer is
  /// armed on clock(), moves the clock to its deadline (firing what is due
  /// then: their tasks are queued); else returns false, as nothing can
  /// happen any more. (See set_time_may_pass_between_tasks() for the
  /// other choice.) Each step is added to trace(). A task that throws is
  /// reported to report_unhandled_error(), as manual_executor does. Throws
  /// std::logic_error naming the seed if the task ran into a blocking wait
  /// (see the class comment); std::bad_alloc.
  bool step();

  /// Steps until nothing can happen any more; returns how many steps were
  /// taken. Throws std::logic_error naming the seed after `max_steps`
  /// steps ("... did not settle within N steps"), and what step() throws.
  std::size_t run(std::size_t max_steps = default_max_steps);

  /// Steps until `f` is ready, then returns its value or rethrows its
  /// error. Throws std::logic_error naming the seed if nothing is left to
  /// run while `f` is not ready ("deadlock: nothing left to run"; a future
  /// completed from outside the simulation, by a real pool, looks so too),
  /// or after `max_steps` steps; future_error(no_state) if `f` is not
  /// valid; what step() throws.
  template <class T>
  T run_until_complete(future<T> f, std::size_t max_steps = default_max_steps);

  /// A number below `bound` from the simulation's generator, for the
  /// scenario's own choices (a latency, which call fails), so the seed
  /// decides them too. Throws std::invalid_argument if `bound` is 0.
  std::uint64_t random(std::uint64_t bound);

  /// Steps taken so far. Never throws.
  std::size_t steps() const noexcept;
  /// Every step taken so far, in order. Valid until the next step. Never
  /// throws.
  const std::vector<simulation_step>& trace() const noexcept;
  /// The last `last` steps (all by default), one per line, each as
  /// simulation_step::to_string() with its number. Throws std::bad_alloc.
  std::string trace_string(std::size_t last = static_cast<std::size_t>(-1)) const;

 private:
  [[noreturn]] void throw_deadlock() const;
  [[noreturn]] void throw_step_limit(const char* who, std::size_t max_steps) const;

  struct impl;
  std::unique_ptr<impl> impl_;
};

/// What for_each_seed() throws when a scenario fails: what() says
/// "weft::testing::simulation: failed with seed N; replay with
/// simulation(N)", the scenario's error and the simulation's last steps.
/// Copying never throws.
class simulation_failure : public std::runtime_error {
 public:
  /// Throws std::bad_alloc.
  simulation_failure(std::uint64_t seed, const std::string& what, std::exception_ptr cause);
  /// The seed under which the scenario failed. Never throws.
  std::uint64_t seed() const noexcept { return seed_; }
  /// The scenario's error; null when it returned false. Never throws.
  std::exception_ptr cause() const noexcept { return cause_; }

 private:
  std::uint64_t seed_;
  std::exception_ptr cause_;
};

namespace detail {

/// The error of a scenario that returned false. Never throws.
std::exception_ptr scenario_returned_false() noexcept;
/// Throws the simulation_failure of `sim`'s scenario, which failed with
/// `error` under the `tried`-th seed.
[[noreturn]] void throw_simulation_failure(const simulation& sim, const std::exception_ptr& error,
                                           std::uint64_t tried);

template <class F>
bool scenario_passed(F& scenario, simulation& sim, std::true_type /* returns bool */) {
  return static_cast<bool>(scenario(sim));
}
template <class F>
bool scenario_passed(F& scenario, simulation& sim, std::false_type /* returns void */) {
  scenario(sim);
  return true;
}

/// Runs `scenario(sim)`: null if it passed, else its error (a
/// std::logic_error for a scenario that returned false).
template <class F>
std::exception_ptr run_scenario(F& scenario, simulation& sim) {
  using ret = typename std::decay<decltype(scenario(sim))>::type;
  static_assert(std::is_void<ret>::value || std::is_same<ret, bool>::value,
                "weft::testing::for_each_seed: the scenario must return void (failing by throwing) or bool "
                "(false: failed)");
  try {
    if (!scenario_passed(scenario, sim, std::is_same<ret, bool>())) return scenario_returned_false();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

}  // namespace detail

/// Runs `scenario(sim)` once for each seed first, first + 1, ...,
/// first + count - 1, each with a fresh simulation(seed), and stops at the
/// first failure: an exception out of the scenario, or false if it returns
/// bool. It then throws simulation_failure naming the seed ("failed with
/// seed N; replay with simulation(N)"), the error and the last steps, so a
/// GoogleTest test that calls it fails with that message. With GoogleTest
/// assertions in the scenario, end it with `return
/// !::testing::Test::HasFailure();`, so the first seed that fails one
/// stops the loop and is named. The scenario takes a `simulation&` and
/// returns void or bool; it should leave nothing it owns in the
/// simulation's queue (run it out with run() or run_until_complete()).
/// Throws simulation_failure; std::bad_alloc. Thread-safety: as a
/// simulation (the calling thread runs everything).
template <class F>
void for_each_seed(std::uint64_t first, std::uint64_t count, F&& scenario) {
  for (std::uint64_t i = 0; i < count; ++i) {
    simulation sim(first + i);
    const std::exception_ptr error = detail::run_scenario(scenario, sim);
    if (error) detail::throw_simulation_failure(sim, error, i + 1);
  }
}

/// Runs `scenario` under every seed of first .. first + count - 1, as
/// for_each_seed() does but without stopping, and returns the seeds under
/// which it failed, in order (an empty vector: it passed under all). The
/// errors themselves are dropped: replay a seed to see one. Throws
/// std::bad_alloc. Thread-safety: as a simulation.
template <class F>
std::vector<std::uint64_t> failing_seeds(std::uint64_t first, std::uint64_t count, F&& scenario) {
  std::vector<std::uint64_t> failed;
  for (std::uint64_t i = 0; i < count; ++i) {
    simulation sim(first + i);
    if (detail::run_scenario(scenario, sim)) failed.push_back(first + i);
  }
  return failed;
}

template <class T>
T simulation::run_until_complete(future<T> f, std::size_t max_steps) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  for (std::size_t n = 0; !f.is_ready(); ++n) {
    if (n == max_steps) throw_step_limit("run_until_complete", max_steps);
    if (!step() && !f.is_ready()) throw_deadlock();
  }
  return f.get();
}

}  // namespace testing
}  // namespace v1
}  // namespace weft

#endif  // WEFT_TESTING_HPP
