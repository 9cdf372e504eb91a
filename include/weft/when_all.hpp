// weft/when_all.hpp: waiting for many futures at once.
//
//   when_all(first, last), when_all(container)  -> future<std::vector<T>>
//   when_all(f1, f2, ...)                        -> future<std::tuple<T1, T2, ...>>
//   when_all_settled(first, last / container)    -> future<std::vector<result<T>>>
//   when_any(first, last / container)            -> future<std::pair<std::size_t, result<T>>>
//
// asyncio's gather(), gather(return_exceptions=True) and wait(FIRST_COMPLETED).
// Every input future is consumed. No thread is started per call and no
// worker blocks: the inputs complete one shared countdown. The result
// future's continuations run on the first input's executor (default_pool()
// for empty input).
//
// Thread-safety: the calls consume their arguments, so the caller must own
// them; the inputs may be fulfilled concurrently from any threads.
#ifndef WEFT_WHEN_ALL_HPP
#define WEFT_WHEN_ALL_HPP

#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/fan_in.hpp"
#include "weft/future.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

template <class It>
using future_value_t = typename std::decay<decltype(*std::declval<It&>())>::type::value_type;

template <class T>
void move_value_into(std::vector<T>& out, state_base* s) {
  out.push_back(std::move(static_cast<state<T>*>(s)->value_ref()));
}

/// when_all's rule for arrivals: the first input to fail decides the outcome.
struct first_error_wins {
  template <class S>
  static void arrived(S& self, std::size_t, state_base* in) noexcept {
    if (in->failed() && self.decide()) self.set_error(in->error_ref());
  }
};

/// when_all over a range: the first error wins; otherwise the values in order.
template <class T>
struct all_policy : first_error_wins {
  using out_t = std::vector<T>;
  template <class S>
  static void finish(S& self) noexcept {
    if (!self.decide()) return;
    try {
      out_t values;
      values.reserve(self.size());
      for (std::size_t i = 0; i < self.size(); ++i) move_value_into(values, self.input(i));
      self.set_value(std::move(values));
    } catch (...) {
      self.set_error(std::current_exception());
    }
  }
};

/// when_all over futures of void: done when all are done.
template <>
struct all_policy<void> : first_error_wins {
  using out_t = void;
  template <class S>
  static void finish(S& self) noexcept {
    if (self.decide()) self.set_value();
  }
};

template <class T>
struct settled_policy {
  using out_t = std::vector<result<T>>;
  template <class S>
  static void arrived(S&, std::size_t, state_base*) noexcept {}
  template <class S>
  static void finish(S& self) noexcept {
    try {
      out_t results;
      results.reserve(self.size());
      for (std::size_t i = 0; i < self.size(); ++i) {
        results.push_back(take_result(*static_cast<state<T>*>(self.input(i)), std::is_void<T>()));
      }
      self.set_value(std::move(results));
    } catch (...) {
      self.set_error(std::current_exception());
    }
  }
};

template <class T>
struct any_policy {
  using out_t = std::pair<std::size_t, result<T>>;
  template <class S>
  static void arrived(S& self, std::size_t index, state_base* in) noexcept {
    if (!self.decide()) return;
    try {
      self.set_value(index, take_result(*static_cast<state<T>*>(in), std::is_void<T>()));
    } catch (...) {
      self.set_error(std::current_exception());
    }
  }
  template <class S>
  static void finish(S&) noexcept {}
};

template <class... Ts>
struct tuple_policy : first_error_wins {
  using out_t = std::tuple<stored_t<Ts>...>;
  template <class S>
  static void finish(S& self) noexcept {
    if (!self.decide()) return;
    try {
      build(self, std::index_sequence_for<Ts...>());
    } catch (...) {
      self.set_error(std::current_exception());
    }
  }

 private:
  template <class S, std::size_t... I>
  static void build(S& self, std::index_sequence<I...>) {
    self.set_value(std::move(static_cast<state<Ts>*>(self.input(I))->value_ref())...);
  }
};

template <class Policy, class It>
future<typename Policy::out_t> gather(It first, It last) {
  using out_t = typename Policy::out_t;
  using state_t = fan_in<out_t, Policy>;
  executor_ref ex;
  for (It it = first; it != last; ++it) detail::throw_if_no_state(it->valid() ? &*it : nullptr);
  const std::size_t n = static_cast<std::size_t>(std::distance(first, last));
  auto* s = new state_t(n == 0 ? &default_executor() : nullptr, n);
  std::size_t i = 0;
  for (It it = first; it != last; ++it, ++i) {
    auto* in = future_access::release(*it);
    if (!ex) ex = in->exec_;
    s->set_input(i, in);
  }
  if (ex) s->exec_ = ex;
  future<out_t> result = future_access::adopt<out_t>(s);
  if (n == 0) {
    Policy::finish(*s);
    s->release();
  } else {
    s->start();
  }
  return result;
}

template <class Range>
using range_iterator_t = decltype(std::begin(std::declval<Range&>()));

}  // namespace detail

/// Waits for every future in [first, last) (iterators to future<T>, which
/// are consumed). Gives the values in input order; fails with the first
/// error to occur (the other inputs still run; their outcomes are dropped).
/// Empty input: ready at once with an empty vector. For future<void> inputs
/// the result is future<void>. Throws future_error(no_state) if an input is
/// invalid (then nothing is consumed), std::bad_alloc.
template <class It, class = detail::future_value_t<It>>
future<typename detail::all_policy<detail::future_value_t<It>>::out_t> when_all(It first, It last) {
  return detail::gather<detail::all_policy<detail::future_value_t<It>>>(first, last);
}
/// when_all(std::begin(c), std::end(c)) for a container of futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_all(Range&& futures) -> decltype(when_all(std::declval<It>(), std::declval<It>())) {
  return when_all(std::begin(futures), std::end(futures));
}
/// Waits for futures of different types; gives a tuple of their values
/// (a future<void> contributes an empty placeholder). Fails with the
/// first error to occur.
template <class T1, class... Ts>
future<std::tuple<detail::stored_t<T1>, detail::stored_t<Ts>...>> when_all(future<T1>&& f1, future<Ts>&&... fs) {
  using policy = detail::tuple_policy<T1, Ts...>;
  using out_t = typename policy::out_t;
  detail::throw_if_no_state(f1.valid() ? &f1 : nullptr);
  using expand = int[];
  (void)expand{0, (detail::throw_if_no_state(fs.valid() ? &fs : nullptr), 0)...};
  auto* s = new detail::fan_in<out_t, policy, 1 + sizeof...(Ts)>(nullptr, 1 + sizeof...(Ts));
  detail::state_base* ins[] = {detail::future_access::release(f1), detail::future_access::release(fs)...};
  for (std::size_t i = 0; i < 1 + sizeof...(Ts); ++i) s->set_input(i, ins[i]);
  s->exec_ = ins[0]->exec_;
  future<out_t> result = detail::future_access::adopt<out_t>(s);
  s->start();
  return result;
}

/// Waits for every future in [first, last); never fails: gives each outcome
/// as a result<T>, in input order. Empty input: ready at once.
template <class It, class = detail::future_value_t<It>>
future<std::vector<result<detail::future_value_t<It>>>> when_all_settled(It first, It last) {
  return detail::gather<detail::settled_policy<detail::future_value_t<It>>>(first, last);
}
/// when_all_settled over a container of futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_all_settled(Range&& futures) -> decltype(when_all_settled(std::declval<It>(), std::declval<It>())) {
  return when_all_settled(std::begin(futures), std::end(futures));
}

/// Gives the index and outcome of the first future in [first, last) to
/// complete; the others still run and their outcomes are dropped. Empty
/// input: ready at once, failed with std::invalid_argument (there is no
/// first).
template <class It, class = detail::future_value_t<It>>
future<std::pair<std::size_t, result<detail::future_value_t<It>>>> when_any(It first, It last) {
  using T = detail::future_value_t<It>;
  if (first == last) {
    return make_exceptional_future<std::pair<std::size_t, result<T>>>(
        std::make_exception_ptr(std::invalid_argument("weft::when_any: the range argument is empty")));
  }
  return detail::gather<detail::any_policy<T>>(first, last);
}
/// when_any over a container of futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_any(Range&& futures) -> decltype(when_any(std::declval<It>(), std::declval<It>())) {
  return when_any(std::begin(futures), std::end(futures));
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_WHEN_ALL_HPP
