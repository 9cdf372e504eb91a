// weft/bounded_buffer.hpp: a bounded FIFO buffer built on condition and
// async_mutex (the classic condition-variable buffer, asyncio.Condition's
// textbook use).
//
//   weft::bounded_buffer<job> jobs(16);
//   jobs.put(job{...});                             // waits while 16 are held
//   jobs.get().then([](job j) { run(std::move(j)); });  // waits while empty
//
// It is the textbook shape of a condition variable, kept readable to show
// how condition is used: every put() and get() locks the mutex, waits on a
// condition until its predicate holds, changes the deque and notifies the
// other side. It uses two conditions, "not full" and "not empty", rather
// than one: with a single condition a notify_one meant for a consumer can
// wake a producer that finds the buffer still full and waits again, and
// the consumer then waits forever beside items nobody announces to it.
// async_queue is the faster queue (no lock round trip per item, close()).
//
// Nothing blocks a thread: put() and get() return futures, which continue
// on the buffer's executor. Waiters are served in the order they reached
// the lock. A cancelled or timed-out put() (the token argument;
// timeout() / with_timeout() with its source) leaves no item behind (its
// item is destroyed), a cancelled get() takes none. Destroying the buffer
// fails the put() and get() calls still waiting with executor_shutdown,
// and destroys the items it held.
#ifndef WEFT_BOUNDED_BUFFER_HPP
#define WEFT_BOUNDED_BUFFER_HPP

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <stdexcept>
#include <utility>

#include "weft/async_mutex.hpp"
#include "weft/cancellation.hpp"
#include "weft/condition.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {

/// A bounded FIFO buffer of T: see the file comment. T must be
/// move-constructible.
///
/// Thread-safety: every member may be called from any number of threads at
/// once, except that the destructor must not race with other calls.
template <class T>
class bounded_buffer {
 public:
  /// An empty buffer holding at most `capacity` items, whose futures
  /// continue on `ex` (which should outlive the calls). Throws
  /// std::invalid_argument if `capacity` is 0, std::bad_alloc.
  explicit bounded_buffer(std::size_t capacity, executor& ex = detail::default_executor()) {
    if (capacity == 0) throw std::invalid_argument("weft::bounded_buffer: capacity must be at least 1");
    impl_ = std::make_shared<impl>(capacity, ex);
  }
  /// Fails the waiting put() and get() calls with executor_shutdown (a
  /// call between two of its steps fails when it takes the next) and
  /// destroys the items held once no step runs. Never throws.
  ~bounded_buffer() = default;
  bounded_buffer(const bounded_buffer&) = delete;
  bounded_buffer& operator=(const bounded_buffer&) = delete;

  /// Appends `item` once there is room: the future completes when it is
  /// in the buffer. If `token` is cancelled while the call waits (for the
  /// lock or for room), the future fails with cancelled_error and `item`
  /// is destroyed, not added. Throws std::bad_alloc.
  future<void> put(T item, const cancellation_token& token = cancellation_token()) {
    std::weak_ptr<impl> w = impl_;
    return locked_when(&impl::not_full, &has_room, token)
        .then([w, item = std::move(item)](async_mutex::guard g) mutable {
          std::shared_ptr<impl> self = alive(w);
          self->items.push_back(std::move(item));
          self->count.store(self->items.size(), std::memory_order_relaxed);  // a snapshot for size()
          self->not_empty.notify_one();
          g.unlock();
        });
  }

  /// Takes the oldest item once there is one. If `token` is cancelled
  /// while the call waits (for the lock or for an item), the future fails
  /// with cancelled_error and no item is taken. Once the call has the
  /// lock and an item, it takes it: a future dropped (or a with_timeout()
  /// given up) at that point loses the item with it; async_queue::pop()
  /// does not. Throws std::bad_alloc.
  future<T> get(const cancellation_token& token = cancellation_token()) {
    std::weak_ptr<impl> w = impl_;
    return locked_when(&impl::not_empty, &has_item, token).then([w](async_mutex::guard g) {
      std::shared_ptr<impl> self = alive(w);
      T item = std::move(self->items.front());
      self->items.pop_front();
      self->count.store(self->items.size(), std::memory_order_relaxed);  // a snapshot for size()
      self->not_full.notify_one();
      g.unlock();
      return item;
    });
  }

  /// How many items the buffer holds now (a snapshot). Never throws.
  std::size_t size() const noexcept {
    // Relaxed: a figure for monitoring; nothing is read through it.
    return impl_->count.load(std::memory_order_relaxed);
  }
  /// The most items the buffer holds. Never throws.
  std::size_t capacity() const noexcept { return impl_->capacity; }

 private:
  // Shared with the calls in progress, which hold it only while one of
  // their steps runs (a weak_ptr in between), so a destroyed buffer's
  // conditions and mutex go at once and fail whoever waits on them.
  struct impl {
    impl(std::size_t cap, executor& ex) : mutex(ex), not_full(mutex), not_empty(mutex), capacity(cap) {}
    async_mutex mutex;
    condition not_full;   // after the mutex: destroyed before it
    condition not_empty;
    std::deque<T> items;  // guarded by mutex
    std::atomic<std::size_t> count{0};
    const std::size_t capacity;
  };

  static bool has_room(const impl& s) { return s.items.size() < s.capacity; }
  static bool has_item(const impl& s) { return !s.items.empty(); }

  static std::shared_ptr<impl> alive(const std::weak_ptr<impl>& w) {
    std::shared_ptr<impl> self = w.lock();
    if (!self) throw executor_shutdown("weft::bounded_buffer: destroyed while this call was waiting");
    return self;
  }

  // Locks the mutex, then waits on `which` until `ready`; the future's
  // guard holds the lock.
  future<async_mutex::guard> locked_when(condition impl::*which, bool (*ready)(const impl&),
                                         const cancellation_token& token) {
    std::weak_ptr<impl> w = impl_;
    return impl_->mutex.lock(token).then([w, which, ready, token](async_mutex::guard g) {
      std::shared_ptr<impl> self = alive(w);
      // A buffer destroyed between two turns of the loop stops it; the
      // next step then fails with executor_shutdown.
      return (self.get()->*which).wait(std::move(g), [w, ready] {
        std::shared_ptr<impl> s = w.lock();
        return !s || ready(*s);
      }, token);
    });
  }

  std::shared_ptr<impl> impl_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_BOUNDED_BUFFER_HPP
