// What the runtime needs to know about ThreadSanitizer: whether it is on,
// and how to tell it about happens-before edges that oneTBB provides but
// TSan cannot see (Debian's oneTBB is not instrumented, and its fences are
// not modelled; see docs/testing.md, "ThreadSanitizer and oneTBB").
#ifndef WEFT_RUNTIME_SANITIZERS_HPP
#define WEFT_RUNTIME_SANITIZERS_HPP

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#ifdef WEFT_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace weft {
inline namespace v1 {
namespace detail {

#ifdef WEFT_TSAN
constexpr bool tsan_build = true;
// The compiler barriers keep plain loads and stores from moving across the
// annotation (clang hoisted a read above __tsan_acquire once).
inline void tsan_release(void* p) noexcept {
  asm volatile("" ::: "memory");
  __tsan_release(p);
}
inline void tsan_acquire(void* p) noexcept {
  __tsan_acquire(p);
  asm volatile("" ::: "memory");
}
#else
constexpr bool tsan_build = false;
inline void tsan_release(void*) noexcept {}
inline void tsan_acquire(void*) noexcept {}
#endif

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_RUNTIME_SANITIZERS_HPP
