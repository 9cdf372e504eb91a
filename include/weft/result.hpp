// weft/result.hpp: the outcome of an operation, a value or an exception.
//
// result<T> is what then_result() continuations receive and what
// when_all_settled() collects: asyncio's "return_exceptions=True" made into
// a type. result<void> holds no value.
#ifndef WEFT_RESULT_HPP
#define WEFT_RESULT_HPP

#include <exception>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace weft {
inline namespace v1 {

/// A value of type T or a std::exception_ptr, never both, never neither.
///
/// Not thread-safe (a plain value type). Copyable when T is.
template <class T>
class result {
  static_assert(!std::is_reference<T>::value, "result<T&> is not supported; use result<std::reference_wrapper<T>>");

 public:
  /// Holds `v`.
  result(const T& v) : has_value_(true) { ::new (static_cast<void*>(&value_)) T(v); }  // NOLINT
  result(T&& v) : has_value_(true) { ::new (static_cast<void*>(&value_)) T(std::move(v)); }  // NOLINT
  /// Holds the error `e`. Throws std::invalid_argument if `e` is null.
  result(std::exception_ptr e) : error_(std::move(e)), has_value_(false) {  // NOLINT
    if (!error_) throw std::invalid_argument("weft::result: the exception_ptr argument 'e' is null");
  }

  result(const result& o) : error_(o.error_), has_value_(o.has_value_) {
    if (has_value_) ::new (static_cast<void*>(&value_)) T(o.ref());
  }
  result(result&& o) noexcept(std::is_nothrow_move_constructible<T>::value)
      : error_(std::move(o.error_)), has_value_(o.has_value_) {
    if (has_value_) ::new (static_cast<void*>(&value_)) T(std::move(o.ref()));
  }
  result& operator=(result o) {
    destroy();
    error_ = std::move(o.error_);
    has_value_ = o.has_value_;
    if (has_value_) ::new (static_cast<void*>(&value_)) T(std::move(o.ref()));
    return *this;
  }
  ~result() { destroy(); }

  /// True when a value is held.
  bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }

  /// The value; rethrows the held exception if there is none.
  T& value() & {
    check();
    return ref();
  }
  const T& value() const& {
    check();
    return ref();
  }
  T&& value() && {
    check();
    return std::move(ref());
  }

  /// The held exception, or a null exception_ptr when a value is held.
  const std::exception_ptr& error() const noexcept { return error_; }

 private:
  void check() const {
    if (!has_value_) std::rethrow_exception(error_);
  }
  T& ref() noexcept { return *reinterpret_cast<T*>(&value_); }
  const T& ref() const noexcept { return *reinterpret_cast<const T*>(&value_); }
  void destroy() noexcept {
    if (has_value_) ref().~T();
    has_value_ = false;
  }

  typename std::aligned_storage<sizeof(T), alignof(T)>::type value_;
  std::exception_ptr error_;
  bool has_value_;
};

/// The outcome of an operation that produces no value: success or an error.
template <>
class result<void> {
 public:
  /// A success.
  result() noexcept = default;
  /// Holds the error `e`. Throws std::invalid_argument if `e` is null.
  result(std::exception_ptr e) : error_(std::move(e)) {  // NOLINT
    if (!error_) throw std::invalid_argument("weft::result: the exception_ptr argument 'e' is null");
  }

  /// True on success.
  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return !error_; }
  /// Returns on success; rethrows the held exception otherwise.
  void value() const {
    if (error_) std::rethrow_exception(error_);
  }
  /// The held exception, or a null exception_ptr on success.
  const std::exception_ptr& error() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_RESULT_HPP
