// weft/service.hpp: long-lived components that live and die with a pool.
//
// A timer service, the waiter lists of coordination primitives, anything
// that keeps futures pending on behalf of an executor, must resolve them
// when that executor shuts down (nothing may hang), and must be gone when
// it is destroyed. A service_registry holds such services for one owner
// (thread_pool::services()): each type at most once, created on first use,
// shut down when the owner shuts down, in reverse order of creation, and
// destroyed with the owner, in reverse order too, so a service created
// later may use one created earlier until its own end.
//
// Thread-safety: every member may be called from any thread.
#ifndef WEFT_SERVICE_HPP
#define WEFT_SERVICE_HPP

#include <memory>
#include <mutex>
#include <typeindex>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace weft {
inline namespace v1 {

class service_registry;

/// Base of every service. A service is created by its registry (see
/// service_registry::use()) and destroyed by it.
class service {
 public:
  virtual ~service() = default;
  service(const service&) = delete;
  service& operator=(const service&) = delete;

 protected:
  service() = default;

 private:
  friend class service_registry;
  /// The owner is shutting down: resolve every future the service keeps
  /// pending (fail it with executor_shutdown or cancelled_error) and refuse
  /// new work from now on. Called exactly once, with no lock of the
  /// registry held, on the thread that shuts the owner down (possibly one
  /// of its workers). Must not throw.
  virtual void shutdown() noexcept = 0;
};

/// The services of one owner (a thread_pool).
class service_registry {
 public:
  service_registry() = default;
  service_registry(const service_registry&) = delete;
  service_registry& operator=(const service_registry&) = delete;
  /// Shuts down what is not yet (see shutdown()), then destroys every
  /// service in reverse order of creation.
  ~service_registry();

  /// The service of type S, made by `make()` (a callable returning
  /// std::unique_ptr<S>) if there is none yet. Concurrent first uses make
  /// exactly one: `make` runs with the registry's lock held, so it must not
  /// use this registry itself. Throws executor_shutdown once the owner has
  /// shut down (nothing is made then), and what `make` throws (nothing is
  /// added then).
  ///
  ///   auto& timers = pool.services().use<my_timers>([] { return std::make_unique<my_timers>(); });
  template <class S, class Make>
  S& use(Make make) {
    static_assert(std::is_base_of<service, S>::value, "service_registry::use<S>: S must derive from weft::service");
    std::lock_guard<std::mutex> lock(mutex_);
    if (service* s = find_locked(typeid(S))) return static_cast<S&>(*s);
    throw_if_shut_down_locked();
    std::unique_ptr<S> made = make();
    if (!made) throw_null_service();
    S& result = *made;
    add_locked(typeid(S), std::move(made));
    return result;
  }

  /// The service of type S if it was made, else null. Never throws.
  template <class S>
  S* find() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<S*>(find_locked(typeid(S)));
  }

  /// Shuts every service down, newest first, once; later use() throws
  /// executor_shutdown. Idempotent; called by the owner's shutdown.
  /// Never throws.
  void shutdown() noexcept;

  /// True once shutdown() has begun.
  bool is_shut_down() const noexcept;

 private:
  struct entry {
    std::type_index type;
    std::unique_ptr<service> svc;
  };
  service* find_locked(const std::type_info& type) const noexcept;
  void add_locked(const std::type_info& type, std::unique_ptr<service> svc);
  void throw_if_shut_down_locked() const;
  [[noreturn]] static void throw_null_service();

  mutable std::mutex mutex_;
  std::vector<entry> services_;  // in order of creation
  bool shut_down_ = false;
};

}  // namespace v1
}  // namespace weft

#endif  // WEFT_SERVICE_HPP
