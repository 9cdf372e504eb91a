// weft/when_all.hpp: waiting for many futures at once.
//
//   when_all(first, last), when_all(container)  -> future<std::vector<T>>
//   when_all(f1, f2, ...)                        -> future<std::tuple<T1, T2, ...>>
//   when_all_settled(first, last / container)    -> future<std::vector<result<T>>>
//   when_any(first, last / container)            -> future<std::pair<std::size_t, result<T>>>
//
// asyncio's gather(), gather(return_exceptions=True) and wait(FIRST_COMPLETED).
// Every input future is consumed. An input may also be a shared_future<T>
// (a range of them, or any argument of the variadic when_all): it is only
// read, contributes a copy of its value (or its error), and stays valid, as
// do its other copies, so T must be copy-constructible. No thread is
// started per call and no worker blocks: the inputs complete one shared
// countdown. The result future's continuations run on the first input's
// executor (default_pool() for empty input).
//
// Thread-safety: the calls consume their future arguments, so the caller
// must own them; a shared_future input may be used meanwhile through its
// other copies; the inputs may be fulfilled concurrently from any threads.
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

/// True for the element types a range input may have: future<T>,
/// shared_future<T>, const shared_future<T>.
template <class F>
struct is_future_or_shared : std::false_type {};
template <class T>
struct is_future_or_shared<future<T>> : std::true_type {};
template <class T>
struct is_future_or_shared<shared_future<T>> : std::true_type {};
template <class T>
struct is_future_or_shared<const shared_future<T>> : std::true_type {};
/// True for const future<T>, which when_all cannot consume.
template <class E>
struct is_const_future : std::false_type {};
template <class T>
struct is_const_future<const future<T>> : std::true_type {};

/// How gather() takes the inputs of a range of `E` (an element type, const
/// kept): a future<T> is consumed, its state becomes the input; a
/// shared_future<T> is read, a shared_copy of its outcome becomes the
/// input. Whatever may throw (std::bad_alloc) is done by the constructor,
/// before any input is taken; take() never throws. Used by the calling
/// thread only.
template <class E>
struct range_inputs;
template <class T>
struct range_inputs<future<T>> {
  template <class It>
  range_inputs(It, It, std::size_t) noexcept {}
  state<T>* take(std::size_t, future<T>& f) noexcept { return future_access::release(f); }
};
template <class T>
struct range_inputs<shared_future<T>> {
  template <class It>
  range_inputs(It first, It last, std::size_t n) {
    copies_.reserve(n);
    for (; first != last; ++first) copies_.push_back(shared_access::make_copy(*first));
  }
  state<T>* take(std::size_t i, const shared_future<T>& s) noexcept { return shared_access::link(s, std::move(copies_[i])); }

 private:
  std::vector<shared_copy_ptr<T>> copies_;
};
template <class T>
struct range_inputs<const shared_future<T>> : range_inputs<shared_future<T>> {
  using range_inputs<shared_future<T>>::range_inputs;
};

template <class Policy, class It>
future<typename Policy::out_t> gather(It first, It last) {
  using out_t = typename Policy::out_t;
  using state_t = fan_in<out_t, Policy>;
  using element_t = typename std::remove_reference<decltype(*first)>::type;
  static_assert(is_future_or_shared<element_t>::value || is_const_future<element_t>::value,
                "weft::when_all, when_all_settled and when_any take a range of weft::future<T> or "
                "weft::shared_future<T>");
  static_assert(!is_const_future<element_t>::value,
                "weft::when_all, when_all_settled and when_any consume their future<T> inputs: pass a "
                "range of non-const futures (a range of const shared_future<T> is fine)");
  executor_ref ex;
  for (It it = first; it != last; ++it) detail::throw_if_no_state(it->valid() ? &*it : nullptr);
  const std::size_t n = static_cast<std::size_t>(std::distance(first, last));
  range_inputs<element_t> inputs(first, last, n);
  auto* s = new state_t(n == 0 ? &default_executor() : nullptr, n);
  std::size_t i = 0;
  for (It it = first; it != last; ++it, ++i) {
    auto* in = inputs.take(i, *it);
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

/// True if every B::value is (C++14 has no std::conjunction).
template <class... B>
struct all_of : std::true_type {};
template <class B, class... Bs>
struct all_of<B, Bs...> : std::integral_constant<bool, B::value && all_of<Bs...>::value> {};

/// A variadic when_all argument, as deduced by a forwarding reference (F),
/// is accepted if it is a future or a shared_future, however passed...
template <class F>
using when_all_arg = is_future_or_shared<typename std::decay<F>::type>;
template <class F>
using arg_value_t = typename std::decay<F>::type::value_type;
/// ...and can be taken if it is a shared_future, or a future passed as a
/// non-const rvalue (then F is the future type itself).
template <class F>
using consumable_arg =
    std::integral_constant<bool, std::is_same<F, typename std::decay<F>::type>::value ||
                                     !std::is_same<typename std::decay<F>::type, future<arg_value_t<F>>>::value>;

/// A variadic when_all argument made ready to be taken (see range_inputs):
/// prepare_arg() may throw (std::bad_alloc), take() never does. Used by
/// the calling thread only.
template <class T>
struct future_arg {
  using value_type = T;
  future<T>& f;
  state<T>* take() noexcept { return future_access::release(f); }
};
template <class T>
struct shared_arg {
  using value_type = T;
  const shared_future<T>& s;
  shared_copy_ptr<T> copy;
  state<T>* take() noexcept { return shared_access::link(s, std::move(copy)); }
};
template <class T>
future_arg<T> prepare_arg(future<T>& f) noexcept {
  return future_arg<T>{f};
}
template <class T>
shared_arg<T> prepare_arg(const shared_future<T>& s) {
  return shared_arg<T>{s, shared_access::make_copy(s)};
}

/// The variadic when_all over prepared arguments: allocating the fan-in,
/// the last step that may throw (std::bad_alloc), comes before any
/// argument is taken.
template <class... Args>
future<std::tuple<stored_t<typename Args::value_type>...>> gather_args(Args... args) {
  using policy = tuple_policy<typename Args::value_type...>;
  using out_t = typename policy::out_t;
  auto* s = new fan_in<out_t, policy, sizeof...(Args)>(nullptr, sizeof...(Args));
  state_base* ins[] = {args.take()...};
  for (std::size_t i = 0; i < sizeof...(Args); ++i) s->set_input(i, ins[i]);
  s->exec_ = ins[0]->exec_;
  future<out_t> result = future_access::adopt<out_t>(s);
  s->start();
  return result;
}

}  // namespace detail

/// Waits for every future in [first, last) (iterators to future<T>, which
/// are consumed, or to shared_future<T>, whose values are copied and which
/// stay valid). Gives the values in input order; fails with the first
/// error to occur (the other inputs still run; their outcomes are dropped).
/// Empty input: ready at once with an empty vector. For future<void> inputs
/// the result is future<void>. Throws future_error(no_state) if an input is
/// invalid, std::bad_alloc (either way nothing is consumed).
template <class It, class = detail::future_value_t<It>>
future<typename detail::all_policy<detail::future_value_t<It>>::out_t> when_all(It first, It last) {
  return detail::gather<detail::all_policy<detail::future_value_t<It>>>(first, last);
}
/// when_all(std::begin(c), std::end(c)) for a container of futures or of
/// shared_futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_all(Range&& futures) -> decltype(when_all(std::declval<It>(), std::declval<It>())) {
  return when_all(std::begin(futures), std::end(futures));
}
/// Waits for futures of different types; gives a tuple of their values
/// (a future<void> contributes an empty placeholder). Fails with the
/// first error to occur. Each argument is a future<T>, passed as an rvalue
/// (std::move(f)) and consumed, or a shared_future<T>, passed any way,
/// whose value is copied and which stays valid. Throws
/// future_error(no_state) if an argument is invalid, std::bad_alloc
/// (either way nothing is consumed).
template <class F1, class... Fs,
          class = typename std::enable_if<detail::all_of<detail::when_all_arg<F1>, detail::when_all_arg<Fs>...>::value>::type>
future<std::tuple<detail::stored_t<detail::arg_value_t<F1>>, detail::stored_t<detail::arg_value_t<Fs>>...>> when_all(F1&& f1, Fs&&... fs) {
  static_assert(detail::all_of<detail::consumable_arg<F1>, detail::consumable_arg<Fs>...>::value,
                "weft::when_all consumes its future<T> arguments: pass each as std::move(f) "
                "(a shared_future<T> may be passed as it is; it is not consumed)");
  detail::throw_if_no_state(f1.valid() ? &f1 : nullptr);
  using expand = int[];
  (void)expand{0, (detail::throw_if_no_state(fs.valid() ? &fs : nullptr), 0)...};
  return detail::gather_args(detail::prepare_arg(f1), detail::prepare_arg(fs)...);
}

/// Waits for every future in [first, last); never fails: gives each outcome
/// as a result<T>, in input order. Empty input: ready at once. Inputs as
/// for when_all: futures are consumed, shared_futures copied from. Throws
/// future_error(no_state) if an input is invalid, std::bad_alloc (either
/// way nothing is consumed).
template <class It, class = detail::future_value_t<It>>
future<std::vector<result<detail::future_value_t<It>>>> when_all_settled(It first, It last) {
  return detail::gather<detail::settled_policy<detail::future_value_t<It>>>(first, last);
}
/// when_all_settled over a container of futures or of shared_futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_all_settled(Range&& futures) -> decltype(when_all_settled(std::declval<It>(), std::declval<It>())) {
  return when_all_settled(std::begin(futures), std::end(futures));
}

/// Gives the index and outcome of the first future in [first, last) to
/// complete; the others still run and their outcomes are dropped. Empty
/// input: ready at once, failed with std::invalid_argument (there is no
/// first). Inputs as for when_all: futures are consumed, shared_futures
/// copied from. Throws future_error(no_state) if an input is invalid,
/// std::bad_alloc (either way nothing is consumed).
template <class It, class = detail::future_value_t<It>>
future<std::pair<std::size_t, result<detail::future_value_t<It>>>> when_any(It first, It last) {
  using T = detail::future_value_t<It>;
  if (first == last) {
    return make_exceptional_future<std::pair<std::size_t, result<T>>>(
        std::make_exception_ptr(std::invalid_argument("weft::when_any: the range argument is empty")));
  }
  return detail::gather<detail::any_policy<T>>(first, last);
}
/// when_any over a container of futures or of shared_futures.
template <class Range, class It = detail::range_iterator_t<Range>>
auto when_any(Range&& futures) -> decltype(when_any(std::declval<It>(), std::declval<It>())) {
  return when_any(std::begin(futures), std::end(futures));
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_WHEN_ALL_HPP
