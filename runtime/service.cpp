// service_registry: the services of a pool, shut down and destroyed with it.
#include "weft/service.hpp"

#include <stdexcept>

#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {

service_registry::~service_registry() {
  shutdown();
  // Newest first: a service may use an older one until its own end.
  while (!services_.empty()) services_.pop_back();
}

void service_registry::shutdown() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Not under the lock: a service resolving its futures may run code (an
  // inline continuation) that looks a service up. Safe without it: once
  // shut_down_ is set nothing is added (use() throws) and nothing is
  // removed before the registry's destructor, so the list only is read.
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) it->svc->shutdown();
}

bool service_registry::is_shut_down() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return shut_down_;
}

service* service_registry::find_locked(const std::type_info& type) const noexcept {
  const std::type_index key(type);
  for (const entry& e : services_) {
    if (e.type == key) return e.svc.get();
  }
  return nullptr;
}

void service_registry::add_locked(const std::type_info& type, std::unique_ptr<service> svc) {
  services_.push_back(entry{std::type_index(type), std::move(svc)});
}

void service_registry::throw_if_shut_down_locked() const {
  if (shut_down_) throw executor_shutdown("weft: the pool's services are shut down; no new service can be made");
}

void service_registry::throw_null_service() {
  throw std::invalid_argument("weft::service_registry::use: the make argument returned a null service");
}

}  // namespace v1
}  // namespace weft
