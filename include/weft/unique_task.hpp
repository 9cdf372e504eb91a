// weft/unique_task.hpp: a move-only `void()` callable with small-buffer
// storage.
//
// std::function needs copyable callables, and C++14 has no
// move_only_function; every task weft queues carries a promise or a future,
// both move-only, so executors take a unique_task. Callables up to three
// pointers in size (and nothrow-movable) are stored inline, so handing a
// continuation to an executor allocates nothing.
#ifndef WEFT_UNIQUE_TASK_HPP
#define WEFT_UNIQUE_TASK_HPP

#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

namespace weft {
inline namespace v1 {
namespace detail {

struct unique_task_access;

/// Base for weft's own task types: a task that derives from it is told why
/// it is dropped (abandon(e)) instead of being silently destroyed, so the
/// future behind it fails with `e` (executor_shutdown, cancelled_error).
struct abandonable_task {};

}  // namespace detail

/// A move-only, type-erased `void()` callable.
///
/// Not thread-safe: one owner at a time, like any value. Invoking an empty
/// unique_task is a precondition violation (checked with an assertion in
/// debug builds only, since it sits on the hottest path).
class unique_task {
 public:
  /// An empty task.
  unique_task() noexcept = default;

  /// Wraps `f`; stores it inline when it fits, otherwise on the heap.
  /// Throws std::bad_alloc when a large callable cannot be allocated.
  template <class F, class D = typename std::decay<F>::type,
            class = typename std::enable_if<!std::is_same<D, unique_task>::value>::type>
  unique_task(F&& f) {  // NOLINT: implicit, like std::function
    static_assert(std::is_move_constructible<D>::value, "unique_task needs a movable callable");
    construct<D>(std::forward<F>(f), fits_inline<D>());
  }

  unique_task(unique_task&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) {
      ops_->relocate(&other.storage_, &storage_);
      other.ops_ = nullptr;
    }
  }

  unique_task& operator=(unique_task&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_ != nullptr) {
        ops_->relocate(&other.storage_, &storage_);
        other.ops_ = nullptr;
      }
    }
    return *this;
  }

  unique_task(const unique_task&) = delete;
  unique_task& operator=(const unique_task&) = delete;

  ~unique_task() { reset(); }

  /// True when the task holds a callable.
  explicit operator bool() const noexcept { return ops_ != nullptr; }

  /// Runs the callable once and leaves the task empty (the callable is
  /// destroyed right after it returns, even if it throws).
  void operator()() {
    const ops* o = ops_;
    ops_ = nullptr;
    o->invoke_and_destroy(&storage_);
  }

  /// Drops the callable without running it, telling weft's own tasks why
  /// (their future then fails with `why`); other callables are just
  /// destroyed. Leaves the task empty. Never throws.
  void abandon(std::exception_ptr why) noexcept {
    const ops* o = ops_;
    if (o != nullptr) {
      ops_ = nullptr;
      o->abandon(&storage_, std::move(why));
    }
  }

  /// Destroys the callable without running it.
  void reset() noexcept {
    const ops* o = ops_;
    if (o != nullptr) {
      ops_ = nullptr;
      o->destroy(&storage_);
    }
  }

 private:
  friend struct detail::unique_task_access;

  static constexpr std::size_t inline_size = 3 * sizeof(void*);
  using storage_t = typename std::aligned_storage<inline_size, alignof(void*)>::type;

  struct ops {
    void (*invoke_and_destroy)(storage_t*);
    void (*relocate)(storage_t* from, storage_t* to) noexcept;
    void (*destroy)(storage_t*) noexcept;
    void (*abandon)(storage_t*, std::exception_ptr) noexcept;
  };

  template <class D>
  using fits_inline = std::integral_constant<bool, sizeof(D) <= inline_size &&
                                                       alignof(D) <= alignof(storage_t) &&
                                                       std::is_nothrow_move_constructible<D>::value>;

  template <class D>
  static void abandon_callable(D& d, std::exception_ptr why, std::true_type) noexcept {
    d.abandon(std::move(why));
  }
  template <class D>
  static void abandon_callable(D&, std::exception_ptr, std::false_type) noexcept {}
  template <class D>
  static void abandon_callable(D& d, std::exception_ptr why) noexcept {
    abandon_callable(d, std::move(why), std::is_base_of<detail::abandonable_task, D>());
  }

  template <class D>
  struct inline_ops {
    static D& get(storage_t* s) noexcept { return *reinterpret_cast<D*>(s); }
    static void invoke_and_destroy(storage_t* s) {
      struct guard {
        storage_t* s;
        ~guard() { get(s).~D(); }
      } g{s};
      get(s)();
    }
    static void relocate(storage_t* from, storage_t* to) noexcept {
      ::new (static_cast<void*>(to)) D(std::move(get(from)));
      get(from).~D();
    }
    static void destroy(storage_t* s) noexcept { get(s).~D(); }
    static void abandon(storage_t* s, std::exception_ptr why) noexcept {
      abandon_callable(get(s), std::move(why));
      get(s).~D();
    }
    static constexpr ops table{&invoke_and_destroy, &relocate, &destroy, &abandon};
  };

  template <class D>
  struct heap_ops {
    static D*& get(storage_t* s) noexcept { return *reinterpret_cast<D**>(s); }
    static void invoke_and_destroy(storage_t* s) {
      struct guard {
        D* p;
        ~guard() { delete p; }
      } g{get(s)};
      (*g.p)();
    }
    static void relocate(storage_t* from, storage_t* to) noexcept {
      ::new (static_cast<void*>(to)) D*(get(from));
    }
    static void destroy(storage_t* s) noexcept { delete get(s); }
    static void abandon(storage_t* s, std::exception_ptr why) noexcept {
      abandon_callable(*get(s), std::move(why));
      delete get(s);
    }
    static constexpr ops table{&invoke_and_destroy, &relocate, &destroy, &abandon};
  };

  template <class D, class F>
  void construct(F&& f, std::true_type) {
    ::new (static_cast<void*>(&storage_)) D(std::forward<F>(f));
    ops_ = &inline_ops<D>::table;
  }
  template <class D, class F>
  void construct(F&& f, std::false_type) {
    ::new (static_cast<void*>(&storage_)) D*(new D(std::forward<F>(f)));
    ops_ = &heap_ops<D>::table;
  }

  const ops* ops_ = nullptr;
  storage_t storage_;
};

template <class D>
constexpr unique_task::ops unique_task::inline_ops<D>::table;
template <class D>
constexpr unique_task::ops unique_task::heap_ops<D>::table;

namespace detail {

/// Where a task's callable lives while it runs, when it is stored inline
/// (weft's own tasks always are): a pool compares it with the task that
/// marks itself with enter_task(), to know that task is the one it started.
struct unique_task_access {
  static const void* target(const unique_task& t) noexcept { return &t.storage_; }
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_UNIQUE_TASK_HPP
