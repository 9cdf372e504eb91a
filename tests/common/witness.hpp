// tests/common/witness.hpp: a capture that counts its live owners, so a
// test sees when a callable (and what it captured) was destroyed.
#ifndef WEFT_TESTS_COMMON_WITNESS_HPP
#define WEFT_TESTS_COMMON_WITNESS_HPP

#include <atomic>
#include <memory>
#include <utility>

namespace weft_test {

/// Counts the live owners of one resource: copies own it too, a
/// moved-from witness does not.
class witness {
 public:
  explicit witness(std::shared_ptr<std::atomic<int>> live) : live_(std::move(live)) { live_->fetch_add(1); }
  witness(const witness& o) : live_(o.live_) {
    if (live_) live_->fetch_add(1);
  }
  witness(witness&& o) noexcept : live_(std::move(o.live_)) {}
  witness& operator=(const witness&) = delete;
  ~witness() {
    if (live_) live_->fetch_sub(1);
  }

 private:
  std::shared_ptr<std::atomic<int>> live_;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_WITNESS_HPP
