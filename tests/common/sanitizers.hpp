// tests/common/sanitizers.hpp: which sanitizer a test is built with.
//
// WEFT_TEST_TSAN is defined in a ThreadSanitizer build (GCC's and Clang's
// spellings both), where weft's blocked get() helps instead of suspending,
// so tests that nest waiters keep the nesting within a worker's stack.
#ifndef WEFT_TESTS_COMMON_SANITIZERS_HPP
#define WEFT_TESTS_COMMON_SANITIZERS_HPP

#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_TSAN 1
#endif
#endif

#endif  // WEFT_TESTS_COMMON_SANITIZERS_HPP
