// tests/common/stress.hpp: sizes and seeds for stress tests.
//
// Every count is multiplied by WEFT_STRESS_SCALE (a float, default 1.0; the
// sanitizer builds run with a small scale) and never drops below a minimum
// that still means something. Randomised tests take their seed from
// WEFT_STRESS_SEED when set (to replay a failure), otherwise from the
// clock, and print it.
#ifndef WEFT_TESTS_COMMON_STRESS_HPP
#define WEFT_TESTS_COMMON_STRESS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

namespace weft_test {

/// WEFT_STRESS_SCALE, default 1.0 (non-positive or unparsable values too).
inline double stress_scale() {
  const char* v = std::getenv("WEFT_STRESS_SCALE");
  if (v == nullptr || *v == '\0') return 1.0;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  return (end != v && d > 0) ? d : 1.0;
}

/// `n` times the stress scale, at least `minimum`.
inline std::size_t scaled(std::size_t n, std::size_t minimum) {
  const double s = static_cast<double>(n) * stress_scale();
  const std::size_t k = static_cast<std::size_t>(s);
  return k < minimum ? minimum : k;
}

/// The seed for this test: WEFT_STRESS_SEED or the clock; printed (and
/// recorded as a test property) so a failure can be replayed.
inline std::uint32_t test_seed() {
  std::uint32_t seed;
  const char* v = std::getenv("WEFT_STRESS_SEED");
  if (v != nullptr && *v != '\0') {
    seed = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 0));
  } else {
    seed = static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::printf("[ seed     ] %s.%s: WEFT_STRESS_SEED=%u (scale %.3g)\n", info ? info->test_suite_name() : "?",
              info ? info->name() : "?", seed, stress_scale());
  std::fflush(stdout);
  ::testing::Test::RecordProperty("seed", static_cast<int>(seed & 0x7fffffff));
  return seed;
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_STRESS_HPP
