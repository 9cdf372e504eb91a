// weft/interop.hpp: bridges to boost::future and std::future.
//
// Kept apart from weft.hpp so that code which does not use Boost futures
// does not pay for <boost/thread/future.hpp>.
//
//   from_boost(boost_future<T>)  -> weft::future<T>
//   from_std(std::future<T>)     -> weft::future<T>
//   to_boost(weft::future<T>)    -> boost_future<T>
//
// boost_future<T> is boost::future<T> (BOOST_THREAD_VERSION >= 3) or
// boost::unique_future<T> (Boost's default, version 2).
//
// from_boost and from_std wait for the foreign future on the blocking pool
// (default_blocking_pool()), never on a compute worker; their continuations
// run on default_pool(). to_boost fulfils a boost::promise from an inline
// continuation, so it ties up no thread at all.
#ifndef WEFT_INTEROP_HPP
#define WEFT_INTEROP_HPP

#include <exception>
#include <future>
#include <type_traits>
#include <utility>

#include <boost/thread/future.hpp>

#include "weft/blocking_pool.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/result.hpp"

namespace weft {
inline namespace v1 {

/// Boost's move-only future type as this translation unit configured Boost:
/// boost::future with BOOST_THREAD_VERSION >= 3, boost::unique_future before.
#if defined(BOOST_THREAD_PROVIDES_FUTURE)
template <class T>
using boost_future = boost::future<T>;
#else
template <class T>
using boost_future = boost::unique_future<T>;
#endif

namespace detail {

template <class Foreign>
struct foreign_wait {
  Foreign f;
  auto operator()() -> decltype(f.get()) { return f.get(); }
};

// Carries a std::exception_ptr inside a boost::exception_ptr;
// boost::rethrow_exception (which boost::future::get uses) calls rethrow(),
// which throws the original object: no type is lost. Not
// boost::current_exception(): it slices anything derived from a standard
// exception (std::runtime_error, std::logic_error, ...) to that base.
// clone_base has been Boost.Exception's cloning interface since Boost 1.36.
class std_exception_carrier final : public boost::exception_detail::clone_base {
 public:
  explicit std_exception_carrier(std::exception_ptr e) noexcept : e_(std::move(e)) {}
  clone_base const* clone() const override { return new std_exception_carrier(*this); }
  void rethrow() const override { std::rethrow_exception(e_); }

 private:
  std::exception_ptr e_;
};

template <class T>
void set_boost_error(boost::promise<T>& p, const std::exception_ptr& e) {
  p.set_exception(boost::exception_ptr(boost::shared_ptr<const boost::exception_detail::clone_base>(new std_exception_carrier(e))));
}

template <class T>
void set_boost(boost::promise<T>& p, result<T>&& r, std::false_type) {
  if (r.has_value()) {
    p.set_value(std::move(r).value());
  } else {
    set_boost_error(p, r.error());
  }
}
template <class T>
void set_boost(boost::promise<T>& p, result<T>&& r, std::true_type) {
  if (r.has_value()) {
    p.set_value();
  } else {
    set_boost_error(p, r.error());
  }
}

}  // namespace detail

/// Adopts a boost::future: waits for it on the blocking pool and gives its
/// outcome. Consumes `f`. Throws future_error(no_state) if `f` is invalid,
/// executor_shutdown if the blocking pool is shut down.
template <class T>
future<T> from_boost(boost_future<T> f) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  return offload(detail::foreign_wait<boost_future<T>>{std::move(f)});
}

/// Adopts a std::future: waits for it on the blocking pool (std::future has
/// no continuations) and gives its outcome. Consumes `f`. Throws
/// future_error(no_state) if `f` is invalid.
template <class T>
future<T> from_std(std::future<T> f) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  return offload(detail::foreign_wait<std::future<T>>{std::move(f)});
}

/// Hands a weft future to code that expects a boost::future. The
/// boost::promise is fulfilled inline by the thread that completes `f`.
/// Consumes `f`; throws future_error(no_state) if `f` is invalid.
template <class T>
boost_future<T> to_boost(future<T> f) {
  if (!f.valid()) throw future_error(future_errc::no_state);
  boost::promise<T> p;
  boost_future<T> out = p.get_future();
  f.then_result(inline_executor(), [p = std::move(p)](result<T> r) mutable {
    detail::set_boost(p, std::move(r), std::is_void<T>());
  });
  return out;
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_INTEROP_HPP
