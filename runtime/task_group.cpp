// task_group's per-thread marker of a spawn inside its executor's execute().
#include "weft/task_group.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {
// Its address is the marker: never a state's.
const char refused_tag = 0;
}  // namespace

const void*& refused_spawn() noexcept {
  static thread_local const void* spawning = nullptr;
  return spawning;
}

const void* refused_marker() noexcept { return &refused_tag; }

}  // namespace detail
}  // namespace v1
}  // namespace weft
