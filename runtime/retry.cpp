// retry(): the policy's checks, the backoff's delays and seeds, and the
// retry's errors. The state machine is a template, in weft/retry.hpp.
#include "weft/retry.hpp"

#include <atomic>
#include <cmath>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <string>

namespace weft {
inline namespace v1 {
namespace detail {

namespace {

// SplitMix64's finaliser.
std::uint64_t mix_state(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

[[noreturn]] void refuse(const char* who, const char* what) {
  throw std::invalid_argument(std::string(who) + ": " + what);
}

// A counter spread over all 64 bits: SplitMix64's step.
std::uint64_t mix(std::uint64_t z) noexcept { return mix_state(z + 0x9e3779b97f4a7c15ull); }

// One value per process from the system's entropy (the clock where that
// fails), so unseeded retries differ between processes too.
std::uint64_t process_salt() noexcept {
  static const std::uint64_t salt = [] {
    std::uint64_t s = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    try {
      std::random_device rd;
      s ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
      // No entropy source: the clock alone still separates processes.
    }
    return s;
  }();
  return salt;
}

// A seed for a policy that left it 0: distinct for each call (a counter),
// never 0 itself.
std::uint64_t draw_seed() noexcept {
  // Relaxed: only the counter's own uniqueness matters.
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t s = mix(process_salt() + counter.fetch_add(1, std::memory_order_relaxed));
  return s != 0 ? s : 1;
}

// The high 64 bits of a * b, in portable C++ (no __int128 under -Wpedantic).
std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) noexcept {
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
  return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

}  // namespace

void check_retry_policy(const retry_policy& p, const char* who) {
  if (p.max_attempts < 1) refuse(who, "policy.max_attempts is less than 1 (it counts every call, the first one too)");
  if (p.base_delay < clock::duration::zero()) refuse(who, "policy.base_delay is negative");
  if (p.max_delay < clock::duration::zero()) refuse(who, "policy.max_delay is negative");
  if (p.base_delay > p.max_delay) refuse(who, "policy.base_delay is greater than policy.max_delay");
  if (!(p.multiplier >= 1.0) || std::isinf(p.multiplier)) {
    refuse(who, "policy.multiplier must be a finite number of at least 1 (it is less, infinite or NaN)");
  }
  if (p.jitter != retry_jitter::none && p.jitter != retry_jitter::full && p.jitter != retry_jitter::equal &&
      p.jitter != retry_jitter::decorrelated) {
    refuse(who, "policy.jitter is not a retry_jitter value");
  }
  if (p.time_limit < clock::duration::zero()) refuse(who, "policy.time_limit is negative");
  if (p.ex == &inline_executor()) {
    refuse(who, "policy.ex is inline_executor(); each attempt must be a task of its own (use a pool)");
  }
}

std::exception_ptr retry_gave_up(const std::exception_ptr& last, int attempts) noexcept {
  try {
    return std::make_exception_ptr(retry_error(last, attempts));
  } catch (...) {
    return std::current_exception();
  }
}

std::exception_ptr retry_too_late(const std::exception_ptr& last, int attempts) noexcept {
  try {
    if (!last) {
      return std::make_exception_ptr(
          timeout_error("weft::retry: the deadline passed before the first attempt could start"));
    }
    const std::string what = "weft::retry: attempt " + std::to_string(attempts + 1) +
                             " could not start before the deadline; " + std::to_string(attempts) +
                             (attempts == 1 ? " attempt" : " attempts") + " failed, the last with: " + describe(last);
    try {
      std::rethrow_exception(last);
    } catch (...) {
      // Nests `last` (the exception being handled) in the timeout_error.
      std::throw_with_nested(timeout_error(what));
    }
  } catch (...) {
    return std::current_exception();  // the nested timeout_error (or std::bad_alloc)
  }
  return std::exception_ptr();  // not reached: every path above returns or throws
}

std::exception_ptr retry_cancelled() noexcept {
  try {
    return std::make_exception_ptr(cancelled_error("weft::retry: cancelled"));
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace detail

retry_backoff::retry_backoff(const retry_policy& policy)
    : base_(policy.base_delay),
      cap_(policy.max_delay),
      multiplier_(policy.multiplier),
      jitter_(policy.jitter),
      exp_(policy.base_delay),
      prev_(policy.base_delay),
      seed_(0) {
  detail::check_retry_policy(policy, "weft::retry_backoff");
  seed_ = policy.seed != 0 ? policy.seed : detail::draw_seed();
  state_ = seed_;
}

std::uint64_t retry_backoff::draw() noexcept {
  // SplitMix64 (Steele, Lea and Flood, 2014): a Weyl sequence through a
  // finaliser; passes BigCrush, and its whole state is one word.
  state_ += 0x9e3779b97f4a7c15ull;
  return detail::mix_state(state_);
}

clock::duration retry_backoff::uniform(clock::duration lo, clock::duration hi) noexcept {
  // lo <= hi, both >= 0: the span fits an unsigned 64-bit count, and so
  // does span + 1. Scaling a 64-bit draw by (span + 1) / 2^64 is biased by
  // at most span / 2^64, far below a nanosecond's worth for any delay.
  const std::uint64_t span = static_cast<std::uint64_t>(hi.count() - lo.count());
  if (span == 0) return lo;
  return lo + clock::duration(static_cast<clock::duration::rep>(detail::mul_high(draw(), span + 1)));
}

clock::duration retry_backoff::next() noexcept {
  using rep = clock::duration::rep;
  clock::duration d;
  switch (jitter_) {
    case retry_jitter::none:
      d = exp_;
      break;
    case retry_jitter::full:
      d = uniform(clock::duration::zero(), exp_);
      break;
    case retry_jitter::equal: {
      // ceil(exp/2) + uniform(0, floor(exp/2)): within [exp/2, exp].
      const clock::duration half = exp_ / 2;
      d = (exp_ - half) + uniform(clock::duration::zero(), half);
      break;
    }
    case retry_jitter::decorrelated:
    default: {
      // prev_ >= base_ always (every delay is, and cap_ >= base_), so the
      // range is never empty. 3 * prev_ saturates.
      const rep limit = std::numeric_limits<rep>::max() / 3;
      const clock::duration hi = prev_.count() > limit ? clock::duration::max() : prev_ * 3;
      d = std::min(cap_, uniform(base_, hi));
      prev_ = d;
      break;
    }
  }
  // The exponent saturates: once exp_ reaches the cap it stays there, so
  // no number of retries overflows. Through long double: exact for every
  // count below 2^64 on x86, and a product at or past the cap is the cap.
  if (exp_ < cap_) {
    const long double grown = static_cast<long double>(exp_.count()) * multiplier_;
    exp_ = grown >= static_cast<long double>(cap_.count()) ? cap_ : clock::duration(static_cast<rep>(grown));
  }
  return d;
}

}  // namespace v1
}  // namespace weft
