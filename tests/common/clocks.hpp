// tests/common/clocks.hpp: a clock the test moves by hand.
//
// manual_clock meets the standard's Clock requirements (it is not steady):
// its now() stands still until a test calls set(). A timed wait on it must
// follow it, not steady_clock: while it stands still the wait cannot time
// out however long it lasts.
#ifndef WEFT_TESTS_COMMON_CLOCKS_HPP
#define WEFT_TESTS_COMMON_CLOCKS_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ratio>

namespace weft_test {

/// A clock in milliseconds that moves only when set(). Thread-safe.
struct manual_clock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<manual_clock>;
  static constexpr bool is_steady = false;

  static time_point now() noexcept { return time_point(duration(ticks().load())); }
  /// Moves the clock to `ms` milliseconds past its epoch (back or forth).
  static void set(rep ms) noexcept { ticks().store(ms); }
  /// The time point `ms` milliseconds past the epoch.
  static time_point at(rep ms) noexcept { return time_point(duration(ms)); }

 private:
  static std::atomic<rep>& ticks() noexcept {
    static std::atomic<rep> t{0};
    return t;
  }
};

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_CLOCKS_HPP
