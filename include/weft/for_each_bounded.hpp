// weft/for_each_bounded.hpp: bounded fan-out over a range, and batches.
//
//   // at most 8 fetches at a time; the pages in the order of the urls
//   weft::future<std::vector<page>> pages =
//       weft::for_each_bounded(urls, 8, [](const std::string& url) { return fetch(url); });
//
//   // rows inserted 100 at a time, one insert after the other
//   weft::future<void> done = weft::batch(rows, 100, [](std::vector<row> chunk) { return db.insert_many(std::move(chunk)); });
//
// - fn(item) (or fn(item, token)) returns a value, a future of one, void or
//   future<void>. It runs as a task on the executor given (default_pool()
//   by default), never while weft holds a lock. At most max_in_flight calls
//   are outstanding at once: a call counts from the moment its task is
//   handed to the executor until its value, or the future it returned,
//   is in.
// - The results come in input order: future<std::vector<R>>, or
//   future<void> when fn returns void or future<void>.
// - The first failure cancels the operation's token (the one fn is given):
//   no item starts after that, and calls that are running can see it and
//   stop early. Once every call that started has finished, the result
//   fails with an exception_group of the real failures, in input order. A
//   cancelled_error is not a real failure: it is what the cancel made of the
//   calls it cut short. A cancel through the caller's token stops the
//   operation the same way; the result then fails with cancelled_error
//   (or with the exception_group, if a call also failed for real).
// - The result completes only after every call that started has finished:
//   fn, the items and everything fn captured are destroyed before it
//   resolves, and nothing of the operation runs user code afterwards.
// - Items: the range is copied (an lvalue) or moved (an rvalue) into the
//   operation before the call returns, so the caller may drop theirs at
//   once. Each item is handed to fn as an rvalue, once (fn may take it by
//   value, by const reference or by rvalue reference) and destroyed as soon
//   as that call returns.
//
// Cost per item: one task handed to the executor (its callable fits a
// unique_task's inline buffer), plus one continuation when fn returns a
// future; the bookkeeping is a few atomic operations, no lock.
#ifndef WEFT_FOR_EACH_BOUNDED_HPP
#define WEFT_FOR_EACH_BOUNDED_HPP

#include <atomic>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/cancellation.hpp"
#include "weft/detail/continuation.hpp"
#include "weft/errors.hpp"
#include "weft/exception_group.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/unique_task.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

template <class F, class I, class = void>
struct takes_item_and_token : std::false_type {};
template <class F, class I>
struct takes_item_and_token<
    F, I, decltype(void(std::declval<F&>()(std::declval<I&&>(), std::declval<const cancellation_token&>())))>
    : std::true_type {};

/// Calls fn(item, token) when fn takes a token, fn(item) otherwise.
template <class F, class I, bool = takes_item_and_token<F, I>::value>
struct item_call {
  static auto call(F& f, I&& item, const cancellation_token& t) -> decltype(f(std::move(item), t)) {
    return f(std::move(item), t);
  }
};
template <class F, class I>
struct item_call<F, I, false> {
  static auto call(F& f, I&& item, const cancellation_token&) -> decltype(f(std::move(item))) {
    return f(std::move(item));
  }
};

template <class F, class I>
using item_result_t = decltype(item_call<F, I>::call(std::declval<F&>(), std::declval<I&&>(),
                                                     std::declval<const cancellation_token&>()));

/// One item's outcome: empty (not started, or not finished), a value or an
/// error. Written once, by the item's completion; read by the finish.
template <class V>
struct outcome_slot {
  std::exception_ptr error;
  bool has_value = false;
  typename std::aligned_storage<sizeof(V), alignof(V)>::type storage;

  outcome_slot() = default;
  outcome_slot(const outcome_slot&) = delete;
  outcome_slot& operator=(const outcome_slot&) = delete;
  ~outcome_slot() {
    if (has_value) value().~V();
  }
  V& value() noexcept { return *reinterpret_cast<V*>(&storage); }
  template <class A>
  void set(A&& a) {
    ::new (static_cast<void*>(&storage)) V(std::forward<A>(a));
    has_value = true;
  }
};
template <>
struct outcome_slot<void> {
  std::exception_ptr error;
};

/// What the output holds: std::vector<V>, or nothing for void.
template <class V>
struct bounded_output {
  using type = std::vector<V>;
  /// Moves the values out of the slots. Throws std::bad_alloc, what V's
  /// move throws.
  static result<type> collect(outcome_slot<V>* slots, std::size_t n) {
    type out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::move(slots[i].value()));
    return result<type>(std::move(out));
  }
  static void deliver(promise<type>& p, result<type>&& r) {
    if (r.has_value()) {
      p.set_value(std::move(r).value());
    } else {
      p.set_exception(r.error());
    }
  }
};
template <>
struct bounded_output<void> {
  using type = void;
  static result<void> collect(outcome_slot<void>*, std::size_t) noexcept { return result<void>(); }
  static void deliver(promise<void>& p, result<void>&& r) {
    if (r.has_value()) {
      p.set_value();
    } else {
      p.set_exception(r.error());
    }
  }
};

/// How the messages name the operation and what it works on.
struct bounded_names {
  const char* function;  // "weft::for_each_bounded"
  const char* one;       // "item"
  const char* many;      // "items"
};

/// An exception_ptr to E(what), or to the std::bad_alloc that making it
/// threw: for the noexcept paths that report an item's end.
template <class E>
std::exception_ptr error_ptr(const char* what) noexcept {
  try {
    return std::make_exception_ptr(E(what));
  } catch (...) {
    return std::current_exception();
  }
}

/// The shared state of one for_each_bounded() call.
///
/// Starting items (the pump): whoever frees a slot, or the call itself,
/// asks for a pump; the one request that finds none pending drains, that is,
/// starts items while slots are free, and keeps draining until no request
/// arrived meanwhile. So items are started by one thread at a time, with
/// no lock, and a call that completes inside the start of another (a ready
/// future, an inline executor) only leaves a request behind: the stack
/// stays flat however many items complete at once.
///
/// Lifetime: held by shared_ptr, by the call while it starts the first
/// items, by every item's task and completion; the finish (run by the
/// drainer once nothing is running and nothing more will start) destroys
/// fn and the items before it resolves the output.
template <class Item, class Fn>
class bounded_state : public std::enable_shared_from_this<bounded_state<Item, Fn>> {
  using call_t = item_call<Fn, Item>;
  using raw_result = item_result_t<Fn, Item>;
  using value_t = typename unwrap<raw_result>::type;

 public:
  using output = bounded_output<value_t>;
  using out_t = typename output::type;

  bounded_state(bounded_names names, std::vector<Item>&& items, std::size_t max_in_flight, Fn&& fn,
                const cancellation_token& parent, executor& ex)
      : names_(names),
        items_(std::move(items)),
        n_(items_.size()),
        max_(max_in_flight),
        fn_(new Fn(std::move(fn))),
        slots_(new outcome_slot<value_t>[n_]),
        source_(parent),
        token_(source_.token()),
        ex_(ex),
        done_(ex) {}

  future<out_t> get_future() { return done_.get_future(); }

  /// Asks for items to be started (or the output to be resolved); see the
  /// class comment. Never throws.
  void pump() noexcept {
    // seq_cst, as every access to requests_: the hand-over from one drainer
    // to the next is this counter's modification order.
    if (requests_.fetch_add(1) != 0) return;  // the drainer will see it
    std::size_t handled = 1;
    for (;;) {
      drain();
      const std::size_t left = requests_.fetch_sub(handled) - handled;
      if (left == 0) return;
      handled = left;  // requests that came in while draining: drain again
    }
  }

 private:
  // The task that runs one item on the executor. Reports the item's end
  // exactly once: run, abandoned by the executor, or destroyed unrun.
  struct item_task : abandonable_task {
    std::shared_ptr<bounded_state> st;
    std::size_t index;
    item_task(std::shared_ptr<bounded_state> s, std::size_t i) noexcept : st(std::move(s)), index(i) {}
    item_task(item_task&& o) noexcept : st(std::move(o.st)), index(o.index) {}
    item_task& operator=(item_task&&) = delete;
    ~item_task() {
      if (st) st->complete(index, error_ptr<executor_shutdown>("weft: a task was dropped unrun"));
    }
    void operator()() {
      std::shared_ptr<bounded_state> s = std::move(st);  // reported from here on
      s->run_item(index);
    }
    void abandon(std::exception_ptr why) noexcept {
      std::shared_ptr<bounded_state> s = std::move(st);
      s->complete(index, std::move(why));
    }
  };

  // Only the drainer runs this (see pump()), so next_ and finished_ are
  // plain members: each drain's accesses happen after the previous
  // drainer's through requests_.
  void drain() noexcept {
    while (!finished_) {
      // Checked before each start: once the cancel (a failure, the
      // caller's token) is visible here, nothing more starts.
      const bool stopped = source_.is_cancelled();
      if (!stopped && next_ < n_ && in_flight_.load() < max_) {
        start(next_++);
        continue;
      }
      if ((stopped || next_ == n_) && in_flight_.load() == 0) {
        finished_ = true;
        finish();
      }
      return;
    }
  }

  void start(std::size_t i) noexcept {
    in_flight_.fetch_add(1);  // before the task exists: its completion subtracts it
    try {
      ex_.execute(unique_task(item_task(this->shared_from_this(), i)));
    } catch (...) {
      // Refused: the executor abandoned the task (or its unwinding
      // destroyed it), which reported the item's failure already.
    }
  }

  void run_item(std::size_t i) noexcept {
    if (token_.is_cancelled()) {
      complete(i, error_ptr<cancelled_error>("weft: cancelled before the item started"));
      return;
    }
    run(i, std::integral_constant<bool, unwrap<raw_result>::is_future>());
  }

  // fn's call: the item is moved to a local that dies when fn returns,
  // before the item is reported complete.
  raw_result call(std::size_t i) {
    Item item(std::move(items_[i]));
    return call_t::call(*fn_, std::move(item), token_);
  }

  void run(std::size_t i, std::false_type /* fn returns a value */) noexcept {
    std::exception_ptr e;
    try {
      store(i);
    } catch (...) {
      e = std::current_exception();
    }
    complete(i, std::move(e));
  }
  template <class V = value_t, typename std::enable_if<!std::is_void<V>::value, int>::type = 0>
  void store(std::size_t i) {
    slots_[i].set(call(i));
  }
  template <class V = value_t, typename std::enable_if<std::is_void<V>::value, int>::type = 0>
  void store(std::size_t i) {
    call(i);
  }

  // fn returned a future: the item completes when it does. A future that
  // is ready completes it right here, inside the attach; that only asks
  // for a pump (see pump()).
  void run(std::size_t i, std::true_type /* fn returns a future */) noexcept {
    try {
      future<value_t> f = call(i);
      if (!f.valid()) throw std::invalid_argument(std::string(names_.function) + ": fn returned an invalid future");
      std::shared_ptr<bounded_state> self = this->shared_from_this();
      f.then_result(inline_executor(), [self, i](result<value_t> r) noexcept { self->complete_with(i, std::move(r)); });
    } catch (...) {
      // fn threw, or there was no memory to wait for its future (which is
      // then dropped, unconsumed: the attach allocates first).
      complete(i, std::current_exception());
    }
  }

  template <class V = value_t, typename std::enable_if<!std::is_void<V>::value, int>::type = 0>
  void complete_with(std::size_t i, result<V>&& r) noexcept {
    std::exception_ptr e;
    if (r.has_value()) {
      try {
        slots_[i].set(std::move(r).value());
      } catch (...) {
        e = std::current_exception();
      }
    } else {
      e = r.error();
    }
    complete(i, std::move(e));
  }
  template <class V = value_t, typename std::enable_if<std::is_void<V>::value, int>::type = 0>
  void complete_with(std::size_t i, result<void>&& r) noexcept {
    complete(i, r.has_value() ? std::exception_ptr() : r.error());
  }

  // Item i has finished (null: with its value stored). Exactly once per
  // started item, after fn returned and the item was destroyed.
  void complete(std::size_t i, std::exception_ptr e) noexcept {
    if (e) {
      slots_[i].error = std::move(e);
      // Before the slot is freed: the drainer that sees the free slot sees
      // the cancel too, so nothing starts in this item's place.
      source_.cancel();
    }
    // seq_cst: the slot's outcome happens-before the finish, which reads
    // it after seeing in_flight_ at 0 (this decrement or a later one).
    in_flight_.fetch_sub(1);
    pump();
  }

  // Once: nothing runs and nothing more will start.
  void finish() noexcept {
    // fn and the items (what they captured, and the moved-from husks) die
    // before the output resolves; so does the source, whose link on the
    // caller's token is dropped.
    fn_.reset();
    std::vector<Item>().swap(items_);
    { cancellation_source gone(std::move(source_)); }
    promise<out_t> done = std::move(done_);
    result<out_t> r = outcome();
    // The values not handed on (those of a run that failed) and the husks
    // of those that were die here, before the output resolves: a thread
    // woken by it must find nothing of the operation still running.
    slots_.reset();
    try {
      output::deliver(done, std::move(r));
    } catch (...) {  // a throwing move of the output: that is the outcome then
      done.set_exception(std::current_exception());
    }
  }

  // The output, built from the slots (values moved out of them): an
  // exception_group of the real failures, else cancelled_error if some item
  // never ran or was cut short, else the values in input order.
  result<out_t> outcome() noexcept {
    try {
      std::vector<std::exception_ptr> failures;
      bool cut_short = next_ < n_;
      for (std::size_t i = 0; i < next_; ++i) {
        const std::exception_ptr& e = slots_[i].error;
        if (!e) continue;
        if (is_cancelled_error(e)) {
          cut_short = true;
          continue;
        }
        failures.push_back(e);
      }
      if (!failures.empty()) {
        std::string message = std::string(names_.function) + ": " + std::to_string(failures.size()) + " of " +
                              std::to_string(n_) + " " + (n_ == 1 ? names_.one : names_.many) + " failed";
        return result<out_t>(std::make_exception_ptr(exception_group(std::move(message), std::move(failures))));
      }
      if (cut_short) {
        return result<out_t>(std::make_exception_ptr(
            cancelled_error(std::string(names_.function) + ": cancelled before every " + names_.one + " finished")));
      }
      return output::collect(slots_.get(), n_);
    } catch (...) {
      return result<out_t>(std::current_exception());
    }
  }

  const bounded_names names_;
  std::vector<Item> items_;
  const std::size_t n_;
  const std::size_t max_;
  std::unique_ptr<Fn> fn_;
  std::unique_ptr<outcome_slot<value_t>[]> slots_;
  cancellation_source source_;
  const cancellation_token token_;  // given to every call of fn
  executor_ref ex_;
  promise<out_t> done_;
  std::atomic<std::size_t> in_flight_{0};  // started and not yet complete
  std::atomic<std::size_t> requests_{0};   // pump requests not yet drained
  std::size_t next_ = 0;                   // the next item to start (the drainer's)
  bool finished_ = false;                  // the drainer's
};

template <class Items>
using range_item_t = typename std::decay<decltype(*std::begin(std::declval<Items&>()))>::type;

/// The items as a vector of their own: moved from an rvalue range, copied
/// from an lvalue one.
template <class Item, class Items>
std::vector<Item> take_items(Items&& items, std::true_type /* rvalue */) {
  return std::vector<Item>(std::make_move_iterator(std::begin(items)), std::make_move_iterator(std::end(items)));
}
template <class Item>
std::vector<Item> take_items(std::vector<Item>&& items, std::true_type /* rvalue */) {
  return std::move(items);
}
template <class Item, class Items>
std::vector<Item> take_items(Items&& items, std::false_type /* lvalue */) {
  return std::vector<Item>(std::begin(items), std::end(items));
}

template <class Item, class Fn>
using bounded_future_t = future<typename bounded_state<Item, Fn>::out_t>;

/// for_each_bounded() and batch(), once the arguments are checked.
template <class Item, class Fn>
bounded_future_t<Item, Fn> run_bounded(bounded_names names, std::vector<Item>&& items, std::size_t max_in_flight,
                                       Fn&& fn, const cancellation_token& token, executor& ex) {
  using state_t = bounded_state<Item, Fn>;
  using out_t = typename state_t::out_t;
  if (items.empty()) {
    promise<out_t> p(ex);
    future<out_t> f = p.get_future();
    using output = bounded_output<typename unwrap<item_result_t<Fn, Item>>::type>;
    output::deliver(p, output::collect(nullptr, 0));
    return f;
  }
  auto st = std::make_shared<state_t>(names, std::move(items), max_in_flight, std::move(fn), token, ex);
  future<out_t> f = st->get_future();
  st->pump();
  return f;
}

}  // namespace detail

/// Calls `fn` on every item of `items`, at most `max_in_flight` calls
/// outstanding at a time, and returns a future of the results in input
/// order: future<std::vector<R>> when fn returns R or future<R>,
/// future<void> when it returns void or future<void>. See the file
/// comment for the rules (start order, cancellation, failures, lifetimes).
///
/// - `fn(item)` or `fn(item, token)`: the token is cancelled on the first
///   failure and with `token`; fn may poll it to stop early. fn is called
///   from the executor's threads, several calls at once when
///   max_in_flight > 1, so it must be safe to call concurrently; it is
///   destroyed before the result resolves.
/// - Calls run as tasks on `ex` (default_pool() by default), where the
///   result's continuations run too. An executor that refuses a call fails
///   that item (with the reason it abandons the task with: executor_shutdown
///   for one that is shut down), as a failure of fn would.
/// - Empty `items`: a ready empty vector (a ready future<void>).
///
/// Thread-safety: may be called from any thread; `items` is read (copied
/// or moved) before the call returns, and nothing of the caller's is used
/// afterwards but `ex` and `token`'s source.
///
/// Throws std::invalid_argument if `max_in_flight` is 0; what copying or
/// moving the items or fn throws; std::bad_alloc.
template <class Items, class Fn, class Item = detail::range_item_t<Items>>
detail::bounded_future_t<Item, typename std::decay<Fn>::type> for_each_bounded(
    Items&& items, std::size_t max_in_flight, Fn&& fn, const cancellation_token& token = cancellation_token(),
    executor& ex = detail::default_executor()) {
  if (max_in_flight == 0) throw std::invalid_argument("weft::for_each_bounded: max_in_flight must be at least 1");
  typename std::decay<Fn>::type f(std::forward<Fn>(fn));
  return detail::run_bounded<Item>({"weft::for_each_bounded", "item", "items"},
                                   detail::take_items<Item>(std::forward<Items>(items), std::is_rvalue_reference<Items&&>()),
                                   max_in_flight, std::move(f), token, ex);
}

/// As for_each_bounded(items, max_in_flight, fn, cancellation_token(), ex).
template <class Items, class Fn, class Item = detail::range_item_t<Items>>
detail::bounded_future_t<Item, typename std::decay<Fn>::type> for_each_bounded(Items&& items,
                                                                                std::size_t max_in_flight, Fn&& fn,
                                                                                executor& ex) {
  return for_each_bounded(std::forward<Items>(items), max_in_flight, std::forward<Fn>(fn), cancellation_token(), ex);
}

/// Splits `items` into consecutive batches of `size` (the last may be
/// shorter) and calls `fn(std::vector<Item> batch)` (or `fn(batch, token)`)
/// on each, `max_in_flight` batches at a time, as for_each_bounded() does
/// with the batches as items: results in input order, one per batch
/// (future<std::vector<R>>, or future<void>); the first failure cancels
/// the batches not yet started; an exception_group of the failed batches.
///
/// Thread-safety: as for_each_bounded().
///
/// Throws std::invalid_argument if `size` or `max_in_flight` is 0; what
/// copying or moving the items or fn throws; std::bad_alloc.
template <class Items, class Fn, class Item = detail::range_item_t<Items>,
          class = typename std::enable_if<!std::is_integral<typename std::decay<Fn>::type>::value>::type>
detail::bounded_future_t<std::vector<Item>, typename std::decay<Fn>::type> batch(
    Items&& items, std::size_t size, std::size_t max_in_flight, Fn&& fn,
    const cancellation_token& token = cancellation_token(), executor& ex = detail::default_executor()) {
  if (size == 0) throw std::invalid_argument("weft::batch: size must be at least 1");
  if (max_in_flight == 0) throw std::invalid_argument("weft::batch: max_in_flight must be at least 1");
  typename std::decay<Fn>::type f(std::forward<Fn>(fn));
  std::vector<Item> all = detail::take_items<Item>(std::forward<Items>(items), std::is_rvalue_reference<Items&&>());
  std::vector<std::vector<Item>> batches;
  batches.reserve((all.size() + size - 1) / size);
  for (std::size_t at = 0; at < all.size(); at += size) {
    const std::size_t end = all.size() - at < size ? all.size() : at + size;
    batches.emplace_back(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(at)),
                         std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  return detail::run_bounded<std::vector<Item>>({"weft::batch", "batch", "batches"}, std::move(batches), max_in_flight, std::move(f), token,
                                                ex);
}

/// As batch(items, size, 1, fn, token, ex): one batch at a time, in order.
template <class Items, class Fn, class Item = detail::range_item_t<Items>,
          class = typename std::enable_if<!std::is_integral<typename std::decay<Fn>::type>::value>::type>
detail::bounded_future_t<std::vector<Item>, typename std::decay<Fn>::type> batch(
    Items&& items, std::size_t size, Fn&& fn, const cancellation_token& token = cancellation_token(),
    executor& ex = detail::default_executor()) {
  return batch(std::forward<Items>(items), size, 1, std::forward<Fn>(fn), token, ex);
}

/// As batch(items, size, max_in_flight, fn, cancellation_token(), ex).
template <class Items, class Fn, class Item = detail::range_item_t<Items>,
          class = typename std::enable_if<!std::is_integral<typename std::decay<Fn>::type>::value>::type>
detail::bounded_future_t<std::vector<Item>, typename std::decay<Fn>::type> batch(Items&& items, std::size_t size,
                                                                                  std::size_t max_in_flight, Fn&& fn,
                                                                                  executor& ex) {
  return batch(std::forward<Items>(items), size, max_in_flight, std::forward<Fn>(fn), cancellation_token(), ex);
}

/// As batch(items, size, 1, fn, cancellation_token(), ex).
template <class Items, class Fn, class Item = detail::range_item_t<Items>,
          class = typename std::enable_if<!std::is_integral<typename std::decay<Fn>::type>::value>::type>
detail::bounded_future_t<std::vector<Item>, typename std::decay<Fn>::type> batch(Items&& items, std::size_t size,
                                                                                  Fn&& fn, executor& ex) {
  return batch(std::forward<Items>(items), size, 1, std::forward<Fn>(fn), cancellation_token(), ex);
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_FOR_EACH_BOUNDED_HPP
