// blocking_pool: an elastic set of boost::threads around one queue.
//
// A mutex and a condition variable are the right tool here: every task
// blocks for far longer than the lock is held, and idle threads must sleep
// without spinning. The standard ones, not Boost's: the threads' waits need
// no interruption (it is disabled outside calls), and Boost's condition
// variable takes a second, internal mutex on every wait and notify, which
// was the most contended lock of a burst of calls.
//
// Sleeping threads are woken one at a time, each woken thread waking the
// next (see wake_one()), so a submitter pays for one wake-up per burst.
#include "weft/blocking_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <vector>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/thread.hpp>

#include "executor_registry.hpp"
#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {

namespace detail {

void rethrow_translated(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::thread_interrupted&) {
    throw cancelled_error("weft: blocking call cancelled while running (interrupted)");
  }
}

executor& offload_continuation_executor() { return default_pool(); }

}  // namespace detail

namespace {

struct queued_call {
  unique_task task;
  cancellation_token token;  // a default token when the call is not bound to one
};

std::atomic<unsigned> blocking_names{0};

}  // namespace

struct blocking_pool::impl {
  impl(std::size_t max, std::chrono::milliseconds idle) : max_threads(max), idle_timeout(idle) {}

  void execute(unique_task task, cancellation_token token) {
    if (!task) throw std::invalid_argument("weft::blocking_pool::execute: the task argument is empty");
    std::unique_lock<std::mutex> lock(mutex);
    if (closed) {
      lock.unlock();
      task.abandon(std::make_exception_ptr(executor_shutdown("weft: blocking_pool shut down before the call ran")));
      throw executor_shutdown("weft: blocking_pool is shut down");
    }
    queue.push_back(queued_call{std::move(task), std::move(token)});
    // Wakes a sleeping thread unless one is already on its way, and starts
    // one more thread if the sleeping ones cannot take every queued call.
    const bool wake = wake_one();
    if (queue.size() > idle && live < max_threads) {
      ++live;
      bool pushed = false;
      try {
        threads.push_back(nullptr);
        pushed = true;
        threads.back() = new boost::thread([this] { worker(); });
      } catch (...) {
        if (pushed) threads.pop_back();  // not another thread's handle
        --live;
        if (live == 0) {
          // No thread will ever take the call: hand it back failed rather
          // than leave it queued behind an error the caller already got.
          queued_call call = std::move(queue.back());
          queue.pop_back();
          lock.unlock();
          call.task.abandon(std::current_exception());
          throw;
        }
        // Otherwise the call stays queued for an existing thread.
      }
    }
    std::vector<boost::thread*> done;
    done.swap(exited);
    lock.unlock();
    // After the unlock: a thread woken while the lock is held would only
    // block on it again (another context switch per call).
    if (wake) work_ready.notify_one();
    join_all(done);
  }

  static void join_all(std::vector<boost::thread*>& ts) {
    for (boost::thread* t : ts) {
      t->join();  // it has left worker(): at most a few instructions to go
      delete t;
    }
    ts.clear();
  }

  void worker() {
    const std::string name = "weft-blocking-" + std::to_string(blocking_names.fetch_add(1));
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    boost::this_thread::disable_interruption outside_calls;  // only calls are interruptible
    std::unique_lock<std::mutex> lock(mutex);
    // execute() holds the lock until this thread's handle is stored.
    boost::thread* const me = find_self();
    for (;;) {
      while (queue.empty() && !closed) {
        ++idle;
        const bool woke = work_ready.wait_for(lock, idle_timeout) == std::cv_status::no_timeout;
        --idle;
        if (wakes_pending != 0) --wakes_pending;
        if (!woke && queue.empty()) break;  // idle too long: shrink
      }
      if (queue.empty()) break;
      queued_call call = std::move(queue.front());
      queue.pop_front();
      ++running;
      // Pass the wake-up on if calls are still waiting for a thread.
      const bool wake = wake_one();
      lock.unlock();
      if (wake) work_ready.notify_one();
      run(call, me, outside_calls);
      lock.lock();
      --running;
    }
    --live;
    // Hand this thread's handle to whoever comes next, to be joined.
    threads.erase(std::find(threads.begin(), threads.end(), me));
    exited.push_back(me);
    thread_exited.notify_all();
  }

  // Under the lock: true if the caller is to notify one sleeping thread
  // (after unlocking). At most one wake-up is in flight at a time: the
  // thread it wakes passes it on if calls are still waiting. A burst of
  // calls then costs the submitter one wake-up, not one per call (each is
  // a system call and a context switch, ~10 us on a VM), and the submitter
  // stays ahead of the threads, which then find the next call queued
  // instead of sleeping until it comes.
  bool wake_one() noexcept {
    if (wakes_pending != 0 || queue.empty() || idle == 0) return false;
    ++wakes_pending;
    return true;
  }

  boost::thread* find_self() const {
    const auto id = boost::this_thread::get_id();
    for (boost::thread* t : threads) {
      if (t != nullptr && t->get_id() == id) return t;
    }
    return nullptr;
  }

  void run(queued_call& call, boost::thread* me, boost::this_thread::disable_interruption& di) {
    if (cancelling) {
      call.task.abandon(std::make_exception_ptr(executor_shutdown("weft: blocking_pool shut down before the call ran")));
      return;
    }
    if (call.token.is_cancelled()) {
      call.task.abandon(std::make_exception_ptr(cancelled_error("weft: blocking call cancelled before it started")));
      return;
    }
    {
      // From here until the call has returned, cancelling the token
      // interrupts this thread. The callback's destructor waits for an
      // interrupt in progress, so none reaches the thread's next call
      // (one that arrived after the call returned is cleared below). For a
      // default token it registers nothing.
      cancellation_callback interrupt(call.token, [me] { me->interrupt(); });
      if (call.token.is_cancelled()) {
        // Cancelled between the check above and the registration: the call
        // has not started, so it never does.
        call.task.abandon(std::make_exception_ptr(cancelled_error("weft: blocking call cancelled before it started")));
      } else {
        boost::this_thread::restore_interruption interruptible(di);
        try {
          call.task();
        } catch (const boost::thread_interrupted&) {
          // A plain task (not offload) was interrupted: nothing to report.
        } catch (...) {
          report_unhandled_error(std::current_exception());
        }
      }
    }
    // An interrupt that arrived after the call ended must not hit the next one.
    try {
      boost::this_thread::restore_interruption interruptible(di);
      boost::this_thread::interruption_point();
    } catch (const boost::thread_interrupted&) {
    }
  }

  bool is_own_thread() const {
    std::lock_guard<std::mutex> lock(mutex);
    return find_self() != nullptr;
  }

  void shutdown(shutdown_mode mode) {
    if (is_own_thread()) {
      throw std::logic_error("weft::blocking_pool::shutdown: called from one of the pool's own threads");
    }
    close(mode);
    wait_for_threads();
  }

  // Stops accepting calls; with cancel, drops the queued ones and interrupts
  // the running ones.
  void close(shutdown_mode mode) {
    std::unique_lock<std::mutex> lock(mutex);
    closed = true;
    std::deque<queued_call> dropped;
    if (mode == shutdown_mode::cancel) {
      cancelling = true;
      dropped.swap(queue);
      for (boost::thread* t : threads) t->interrupt();
    }
    work_ready.notify_all();
    lock.unlock();
    for (queued_call& c : dropped) {
      c.task.abandon(std::make_exception_ptr(executor_shutdown("weft: blocking_pool shut down before the call ran")));
    }
  }

  // After close(): waits until every thread has left worker(), then joins them.
  void wait_for_threads() {
    std::unique_lock<std::mutex> lock(mutex);
    while (live != 0) thread_exited.wait(lock);
    std::vector<boost::thread*> done;
    done.swap(exited);
    lock.unlock();
    join_all(done);
  }

  const std::size_t max_threads;
  const std::chrono::milliseconds idle_timeout;
  mutable std::mutex mutex;
  std::condition_variable work_ready;
  // Boost's: shutdown() called from inside a call of another blocking_pool
  // stays an interruption point for that call's cancellation.
  boost::condition_variable_any thread_exited;
  std::deque<queued_call> queue;
  std::vector<boost::thread*> threads;  // live threads
  std::vector<boost::thread*> exited;   // left worker(), not yet joined
  std::size_t live = 0;
  std::size_t idle = 0;
  std::size_t running = 0;
  std::size_t wakes_pending = 0;  // notified, not yet back from the wait (0 or 1)
  bool closed = false;
  // Atomic: run() reads it without the pool's mutex, racing shutdown(cancel).
  std::atomic<bool> cancelling{false};
};

blocking_pool::blocking_pool(std::size_t max_threads, std::chrono::milliseconds idle_timeout) {
  if (max_threads == 0) throw std::invalid_argument("weft::blocking_pool: the max_threads argument must be > 0");
  if (idle_timeout.count() < 0) idle_timeout = std::chrono::milliseconds(0);
  impl_.reset(new impl(max_threads, idle_timeout));
}

blocking_pool::~blocking_pool() {
  retire();  // later calls through futures fail with executor_shutdown ("destroyed")
  if (impl_->is_own_thread()) {
    // Destroyed by one of its own calls: that thread cannot join itself, so
    // the drain finishes on another thread, which then frees the pool.
    impl_->close(shutdown_mode::drain);
    std::shared_ptr<impl> keep = std::move(impl_);
    std::thread([keep]() mutable {
      keep->wait_for_threads();
      keep.reset();
    }).detach();
    return;
  }
  impl_->shutdown(shutdown_mode::drain);
}

void blocking_pool::execute(unique_task task) { impl_->execute(std::move(task), cancellation_token()); }

void blocking_pool::execute(unique_task task, const cancellation_token& token) {
  if (task && token.is_cancelled()) {
    // Cancelled already: refused here rather than queued for a thread to
    // refuse (which might start a thread for it).
    task.abandon(std::make_exception_ptr(cancelled_error("weft: blocking call cancelled before it started")));
    return;
  }
  impl_->execute(std::move(task), token);
}

void blocking_pool::shutdown(shutdown_mode mode) { impl_->shutdown(mode); }

std::size_t blocking_pool::thread_count() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->live;
}

std::size_t blocking_pool::idle_count() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->idle;
}

std::size_t blocking_pool::max_threads() const noexcept { return impl_->max_threads; }

blocking_pool& default_blocking_pool() {
  static blocking_pool* pool = [] {
    auto* p = new blocking_pool();  // never destroyed, like default_pool()
    detail::executor_registry::mark_immortal(*p);
    return p;
  }();
  return *pool;
}

}  // namespace v1
}  // namespace weft
