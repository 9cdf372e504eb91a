// timer_service and its queue: arming, cancelling, handing due timers
// over to their executors, the thread that waits on the steady clock, and
// shutdown. docs/architecture.md ("The timer service") walks through it.
#include "weft/timer.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "budgets.hpp"
#include "timer_queue.hpp"
#include "weft/errors.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {

constexpr const char* shut_down_message = "weft: the timer service was shut down";

// The innermost hand-over this thread is in (see hand_over_scope).
thread_local timer_queue::hand_over_scope* handing_over_here = nullptr;

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// A sleep nobody can see any more (its future was dropped) is not failed:
// an error stored there would only reach the unhandled-error handler.
void fail_sleep(sleep_state* s, const std::exception_ptr& why) noexcept {
  if (s->shared()) s->set_error(why);
  s->release();
}

void release_node(task_timer* n) noexcept {
  // acq_rel: the last owner sees every write of the others before it
  // deletes the node.
  if (n->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete n;
}

}  // namespace

void spin_lock::lock_slow() noexcept {
  unsigned spins = 0;
  for (;;) {
    // Relaxed: only a read to wait on; the exchange below acquires.
    while (held_.load(std::memory_order_relaxed)) {
      if (++spins < spin_lock_spins) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
    if (!held_.exchange(true, std::memory_order_acquire)) return;
  }
}

void complete_sleep::drop(sleep_state* s, std::exception_ptr why) noexcept { fail_sleep(s, why); }

void release_timer(task_timer* node) noexcept { release_node(node); }

timer_queue::hand_over_scope::hand_over_scope(timer_queue& q) noexcept : queue(&q), next(handing_over_here) {
  handing_over_here = this;
}

timer_queue::hand_over_scope::~hand_over_scope() {
  handing_over_here = next;
  // Release: what the hand-over did happens-before shutdown() returns
  // (it reads the count with acquire).
  const_cast<timer_queue*>(queue)->handing_over_.fetch_sub(1, std::memory_order_release);
}

timer_queue::~timer_queue() {
  // shutdown() ran (the service's destructor), so the heap is empty and
  // the thread has ended or been detached.
  if (thread_.joinable()) thread_.detach();
}

bool timer_queue::closed() const noexcept {
  std::lock_guard<spin_lock> lock(lock_);
  return closed_;
}

bool timer_queue::push(std::int64_t deadline, task_timer* n) {
  return push_entry(timer_entry{deadline, 1, n});
}

bool timer_queue::push(std::int64_t deadline, sleep_state* s) {
  return push_entry(timer_entry{deadline, 0, s});
}

bool timer_queue::push_entry(const timer_entry& e) {
  bool wake = false;
  {
    std::lock_guard<spin_lock> lock(lock_);
    if (closed_) return false;
    timer_entry queued = e;
    queued.order |= next_order_++ << 1;
    heap_.push(queued);
    pending_.store(heap_.live(), std::memory_order_relaxed);
    // Only an earlier deadline than the one the thread sleeps for needs
    // it: most timers (timeouts) are later than the earliest one.
    if (threaded_ && e.deadline < sleeping_until_) {
      sleeping_until_ = e.deadline;
      wake = true;
    }
  }
  if (wake) wake_thread();
  return true;
}

bool timer_queue::cancel(task_timer* n) noexcept {
  {
    std::lock_guard<spin_lock> lock(lock_);
    if (n->index == task_timer::not_queued) return false;  // fired, firing, or shut down
    heap_.kill(n->index);
    n->index = task_timer::not_queued;
    pending_.store(heap_.live(), std::memory_order_relaxed);
  }
  // Both references are the caller's now (the queue's, just taken back,
  // and the handle it consumes), so no count is needed. The task and its
  // captures die here, on the cancelling thread, outside the lock (their
  // destructors may arm timers).
  n->task.reset();
  delete n;
  return true;
}

bool timer_queue::begin_hand_over() noexcept {
  std::lock_guard<spin_lock> lock(lock_);
  if (closed_) return false;
  // Relaxed: counted under the lock that shutdown() takes to close the
  // queue, so shutdown sees every count made before it closed it.
  handing_over_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::size_t timer_queue::take_due(std::int64_t now, timer_entry* out, std::size_t max) noexcept {
  std::size_t n = 0;
  while (n < max) {
    const timer_entry* first = heap_.top();
    if (first == nullptr || first->deadline > now || first->deadline == never) break;
    out[n] = heap_.pop();
    if (out[n].is_task()) out[n].task_node()->index = task_timer::not_queued;
    ++n;
  }
  if (n > 0) {
    pending_.store(heap_.live(), std::memory_order_relaxed);
    handing_over_.fetch_add(1, std::memory_order_relaxed);  // see begin_hand_over()
  }
  return n;
}

void timer_queue::hand_over(const timer_entry* batch, std::size_t n) noexcept {
  hand_over_scope scope(*this);
  for (std::size_t i = 0; i < n; ++i) {
    // Acquire pairs with shutdown()'s release. A shutdown on another thread
    // waits for this hand-over instead; this catches one made by a task
    // handed over inline just now: what is left of the batch was pending
    // then, and is failed as such.
    if (closing_.load(std::memory_order_acquire)) {
      fail_entries(batch + i, n - i);
      return;
    }
    if (batch[i].is_task()) {
      task_timer* node = batch[i].task_node();
      unique_task task = std::move(node->task);
      const executor_ref ex = node->ex;
      release_node(node);
      try {
        ex.execute(std::move(task));
      } catch (...) {
        // Refused (shut down, destroyed): the executor abandoned the task.
      }
    } else {
      auto* s = static_cast<sleep_state*>(batch[i].node);
      try {
        s->complete_on.execute(unique_task(complete_sleep(s)));
      } catch (...) {
        // Refused: the task failed the sleep with the executor's reason.
      }
    }
  }
}

void timer_queue::fail_entries(const timer_entry* entries, std::size_t n) noexcept {
  if (n == 0) return;
  std::exception_ptr why;
  try {
    why = std::make_exception_ptr(executor_shutdown(shut_down_message));
  } catch (...) {
    why = std::current_exception();  // std::bad_alloc: still an error to fail them with
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (entries[i].is_task()) {
      task_timer* node = entries[i].task_node();
      unique_task task = std::move(node->task);
      release_node(node);
      task.abandon(why);
    } else {
      fail_sleep(static_cast<sleep_state*>(entries[i].node), why);
    }
  }
}

void timer_queue::fire_due(clock::time_point now) noexcept {
  timer_entry batch[max_timer_batch];
  for (;;) {
    std::size_t n;
    {
      std::lock_guard<spin_lock> lock(lock_);
      if (closed_) return;
      n = take_due(now.time_since_epoch().count(), batch, max_timer_batch);
    }
    if (n == 0) return;
    hand_over(batch, n);
  }
}

clock::time_point timer_queue::next_deadline() noexcept {
  std::lock_guard<spin_lock> lock(lock_);
  const timer_entry* first = heap_.top();
  if (first == nullptr) return clock::time_point::max();
  return clock::time_point(clock::duration(first->deadline));
}

void timer_queue::start_thread(const std::shared_ptr<timer_queue>& self) {
  {
    std::lock_guard<spin_lock> lock(lock_);
    threaded_ = true;
  }
  std::shared_ptr<timer_queue> keep = self;
  thread_ = std::thread([keep] { keep->run_thread(); });
  thread_id_ = thread_.get_id();
}

void timer_queue::run_thread() noexcept {
  // The kernel's timer slack is left as it is (50 us by default): it lets
  // the thread wake once for deadlines that close together, and a slack of
  // 1 us made the thread 3x as costly per timer and, on a busy machine,
  // the timers 8x as late (docs/decisions.md, "Timers").
  pthread_setname_np(pthread_self(), "weft-timer");
  timer_entry batch[max_timer_batch];
  for (;;) {
    const std::int64_t now = clock_.now().time_since_epoch().count();
    std::size_t n;
    std::int64_t next = awake;
    {
      std::lock_guard<spin_lock> lock(lock_);
      if (closed_) return;
      n = take_due(now, batch, max_timer_batch);
      if (n == 0) {
        const timer_entry* first = heap_.top();
        next = first == nullptr ? never : first->deadline;
      }
      sleeping_until_ = next;
    }
    if (n > 0) {
      hand_over(batch, n);
      continue;
    }
    wait_for_deadline(next);
  }
}

void timer_queue::wait_for_deadline(std::int64_t deadline) noexcept {
  std::unique_lock<std::mutex> lock(wake_mutex_);
  while (!wake_) {
    if (deadline == never) {
      wake_cv_.wait(lock);
      continue;
    }
    // In steps of what the clock says is left, on std::chrono's steady
    // clock; at most a day each, so the wait's own deadline cannot overflow.
    const clock::duration left = clock::time_point(clock::duration(deadline)) - clock_.now();
    if (left <= clock::duration::zero()) break;
    const clock::duration step = left < std::chrono::hours(24) ? left : clock::duration(std::chrono::hours(24));
    wake_cv_.wait_for(lock, step);
  }
  wake_ = false;
}

void timer_queue::wake_thread() noexcept {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

void timer_queue::shutdown() noexcept {
  std::vector<timer_entry> pending;
  {
    std::lock_guard<spin_lock> lock(lock_);
    if (closed_) return;
    closed_ = true;
    closing_.store(true, std::memory_order_release);
    pending = heap_.take_all();
    for (const timer_entry& e : pending) {
      if (e.is_task()) e.task_node()->index = task_timer::not_queued;  // cancel() now loses
    }
    pending_.store(0, std::memory_order_relaxed);
  }
  if (thread_.joinable()) {
    wake_thread();
    if (std::this_thread::get_id() == thread_id_) {
      thread_.detach();  // a task handed over inline shut the service down: the thread ends by itself
    } else {
      thread_.join();
    }
  }
  // Hand-overs in progress elsewhere (a manual clock advanced on another
  // thread, an arm handing over at once) finish before shutdown returns;
  // the ones this thread is inside cannot, and are not waited for.
  unsigned mine = 0;
  for (const hand_over_scope* s = handing_over_here; s != nullptr; s = s->next) {
    if (s->queue == this) ++mine;
  }
  while (handing_over_.load(std::memory_order_acquire) > mine) std::this_thread::yield();

  fail_entries(pending.data(), pending.size());
}

}  // namespace detail

// ---- timer_service ---------------------------------------------------------

namespace {

[[noreturn]] void throw_shut_down() { throw executor_shutdown(detail::shut_down_message); }

}  // namespace

timer_service::timer_service(clock& clk, executor& ex)
    : clock_(clk), ex_(ex), threaded_(false), queue_(std::make_shared<detail::timer_queue>(clk)) {
  threaded_ = !clk.adopt(queue_);
  if (!threaded_) return;
  if (&ex == &inline_executor()) {
    throw std::invalid_argument(
        "weft::timer_service: the executor argument ex is inline_executor(), which would run sleeps' "
        "continuations on the timer thread; name a pool");
  }
  queue_->start_thread(queue_);
}

timer_service::timer_service(executor& ex) : timer_service(steady_clock::instance(), ex) {}

timer_service::~timer_service() {
  shutdown();
  if (!threaded_) clock_.forget(queue_.get());
}

timer_service& timer_service::of(thread_pool& pool) {
  return pool.services().use<timer_service>(
      [&pool] { return std::unique_ptr<timer_service>(new timer_service(steady_clock::instance(), pool)); });
}

detail::executor_ref timer_service::executor_for(executor* ex, const char* who) const {
  if (ex == nullptr) return ex_;
  if (threaded_ && ex == &inline_executor()) {
    throw std::invalid_argument(std::string(who) +
                                ": the executor argument ex is inline_executor(), which would run the timer's "
                                "task on the timer thread; name a pool");
  }
  return *ex;
}

timer_handle timer_service::arm_in(clock::duration d, executor* ex, unique_task&& task, const char* who) {
  if (d <= clock::duration::zero()) return arm(clock::time_point(), true, ex, std::move(task), who);
  return arm(saturating_deadline(clock_.now(), d), false, ex, std::move(task), who);
}

timer_handle timer_service::arm(clock::time_point deadline, bool due, executor* ex, unique_task&& task,
                                const char* who) {
  if (!task) throw std::invalid_argument(std::string(who) + ": the task argument is empty");
  const detail::executor_ref target = executor_for(ex, who);
  const std::int64_t at = deadline.time_since_epoch().count();
  if (due) {
    if (!queue_->begin_hand_over()) {
      task.abandon(std::make_exception_ptr(executor_shutdown(detail::shut_down_message)));
      throw_shut_down();
    }
    detail::timer_queue::hand_over_scope scope(*queue_);
    target.execute(std::move(task));
    return timer_handle();
  }
  auto* node = new detail::task_timer(target, std::move(task));
  bool queued;
  try {
    queued = queue_->push(at, node);
  } catch (...) {
    delete node;  // the task goes with it, unrun
    throw;
  }
  if (!queued) {
    unique_task t = std::move(node->task);
    delete node;
    t.abandon(std::make_exception_ptr(executor_shutdown(detail::shut_down_message)));
    throw_shut_down();
  }
  timer_handle h;
  h.node_ = node;
  h.owner_ = queue_.get();
  return h;
}

timer_handle timer_service::arm_at(clock::time_point deadline, executor& ex, unique_task task) {
  return arm(deadline, reached(deadline), &ex, std::move(task), "weft::timer_service::arm_at");
}

timer_handle timer_service::arm_at(clock::time_point deadline, unique_task task) {
  return arm(deadline, reached(deadline), nullptr, std::move(task), "weft::timer_service::arm_at");
}

bool timer_service::cancel(timer_handle& h) {
  if (h.node_ != nullptr && h.owner_ != queue_.get()) {
    throw std::invalid_argument("weft::timer_service::cancel: the handle argument h belongs to another timer_service");
  }
  return cancel_on(*queue_, h);
}

bool timer_service::cancel_on(detail::timer_queue& queue, timer_handle& h) noexcept {
  if (h.node_ == nullptr) return false;
  detail::task_timer* node = h.node_;
  h.node_ = nullptr;
  h.owner_ = nullptr;
  if (queue.cancel(node)) return true;  // the node, and the handle's reference with it, is gone
  detail::release_timer(node);          // the handle's reference
  return false;
}

future<void> timer_service::sleep_in(clock::duration d, executor* ex, const char* who) {
  if (d <= clock::duration::zero()) return sleep(clock::time_point(), true, ex, who);
  return sleep(saturating_deadline(clock_.now(), d), false, ex, who);
}

future<void> timer_service::sleep(clock::time_point deadline, bool due, executor* ex, const char* who) {
  const detail::executor_ref target = executor_for(ex, who);
  auto* s = new detail::sleep_state(target);
  future<void> f = detail::future_access::adopt<void>(s);
  if (due) {
    if (!queue_->begin_hand_over()) {
      s->release();  // the queue's reference; the future's goes with it
      throw_shut_down();
    }
    detail::timer_queue::hand_over_scope scope(*queue_);
    try {
      target.execute(unique_task(detail::complete_sleep(s)));
    } catch (...) {
      // Refused: the sleep holds the reason, and the caller hears it from
      // this exception (as from async()), so the error counts as seen.
      s->mark_observed();
      throw;
    }
    return f;
  }
  if (!queue_->push(deadline.time_since_epoch().count(), s)) {
    s->release();
    throw_shut_down();
  }
  return f;
}

namespace detail {
namespace {

// A sleep a token can end early. The handle is stored under `lock` by the
// arming call; a cancel that finds none (not armed yet) leaves
// `cancel_armed` for the arming call, which then cancels what it armed.
// Nothing that can destroy the token's registration runs under `lock`:
// that destruction waits for a callback running on another thread, which
// may be waiting for the lock.
struct cancellable_sleep {
  cancellable_sleep(executor& ex, std::shared_ptr<timer_queue> q) : done(ex), queue(std::move(q)) {}
  bool decide() noexcept { return !decided.exchange(true); }  // seq_cst: a plain, rare race
  promise<void> done;
  // The queue, not the service: a cancel may come after the service is
  // destroyed (the timer fired, its task not yet run), and the queue
  // outlives it for as long as this holds it.
  std::shared_ptr<timer_queue> queue;
  std::atomic<bool> decided{false};
  std::mutex lock;
  timer_handle handle;
  bool cancel_armed = false;
};

// The timer's task. It owns the token's registration, so the registration
// ends when the task runs, is cancelled or is abandoned.
struct cancellable_sleep_task : abandonable_task {
  cancellable_sleep_task(std::shared_ptr<cancellable_sleep> s, std::unique_ptr<cancellation_callback> r) noexcept
      : sleep(std::move(s)), registration(std::move(r)) {}
  std::shared_ptr<cancellable_sleep> sleep;
  std::unique_ptr<cancellation_callback> registration;
  void operator()() {
    if (sleep->decide()) sleep->done.set_value();
  }
  void abandon(std::exception_ptr why) noexcept {
    if (sleep->decide()) sleep->done.set_exception(std::move(why));
  }
};

}  // namespace
}  // namespace detail

future<void> timer_service::sleep_cancellable(clock::time_point deadline, const cancellation_token& token, executor* ex,
                                              const char* who) {
  executor& target = executor_for(ex, who).get();
  if (token.is_cancelled()) {
    return make_exceptional_future<void>(
        std::make_exception_ptr(cancelled_error(std::string(who) + ": cancelled before the sleep began")), target);
  }
  auto sleep = std::make_shared<detail::cancellable_sleep>(target, queue_);
  future<void> f = sleep->done.get_future();
  std::weak_ptr<detail::cancellable_sleep> weak = sleep;
  // May run at once, here, if the token is cancelled meanwhile.
  auto registration = std::unique_ptr<cancellation_callback>(new cancellation_callback(token, [weak] {
    const std::shared_ptr<detail::cancellable_sleep> s = weak.lock();
    if (!s || !s->decide()) return;
    timer_handle armed;
    {
      std::lock_guard<std::mutex> guard(s->lock);
      if (s->handle) {
        armed = std::move(s->handle);
      } else {
        s->cancel_armed = true;
      }
    }
    // Destroys the timer's task, and with it this registration (from
    // inside its own callback, which does not wait).
    if (armed) cancel_on(*s->queue, armed);
    s->done.set_exception(std::make_exception_ptr(cancelled_error("weft::timer_service: the sleep was cancelled")));
  }));
  if (sleep->decided.load()) return f;  // cancelled during the registration
  timer_handle h;
  try {
    h = arm(deadline, reached(deadline), &target,
            unique_task(detail::cancellable_sleep_task(sleep, std::move(registration))), who);
  } catch (...) {
    // Refused: a shut-down service abandoned the task, which failed the
    // sleep (unless the token did); a failed allocation dropped it unrun,
    // so the sleep is failed here. The caller hears it from this
    // exception, so the future's error counts as seen.
    if (sleep->decide()) sleep->done.set_exception(std::current_exception());
    f.wait();
    try {
      f.get();
    } catch (...) {
    }
    throw;
  }
  bool cancel_now = false;
  {
    std::lock_guard<std::mutex> guard(sleep->lock);
    if (sleep->cancel_armed) {
      cancel_now = true;
    } else {
      sleep->handle = std::move(h);
    }
  }
  if (cancel_now && h) cancel(h);
  return f;
}

future<void> timer_service::sleep_until(clock::time_point t, const cancellation_token& token, executor& ex) {
  return sleep_cancellable(t, token, &ex, "weft::timer_service::sleep_until");
}

future<void> timer_service::sleep_until(clock::time_point t, const cancellation_token& token) {
  return sleep_cancellable(t, token, nullptr, "weft::timer_service::sleep_until");
}

future<void> timer_service::sleep_until(clock::time_point t, executor& ex) {
  return sleep(t, reached(t), &ex, "weft::timer_service::sleep_until");
}

future<void> timer_service::sleep_until(clock::time_point t) {
  return sleep(t, reached(t), nullptr, "weft::timer_service::sleep_until");
}

void timer_service::shutdown() noexcept { queue_->shutdown(); }

bool timer_service::is_shut_down() const noexcept { return queue_->closed(); }

std::size_t timer_service::pending() const noexcept { return queue_->pending(); }

clock::time_point timer_service::next_deadline() const noexcept { return queue_->next_deadline(); }

timer_service& default_timer_service() {
  static timer_service& service = timer_service::of(default_pool());
  return service;
}

future<void> sleep_until(clock::time_point t) { return default_timer_service().sleep_until(t); }

}  // namespace v1
}  // namespace weft
