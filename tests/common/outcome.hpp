// tests/common/outcome.hpp: a ready future's outcome as a string, so one
// EXPECT_EQ checks both the error's type and its message.
#ifndef WEFT_TESTS_COMMON_OUTCOME_HPP
#define WEFT_TESTS_COMMON_OUTCOME_HPP

#include <string>

#include "weft/future.hpp"

namespace weft_test {

/// Consumes `f` (which should be ready): the what() of its error if that
/// is an E, "another error" for any other error, "no error" for a value.
template <class E, class T>
std::string error_of(weft::future<T>& f) {
  try {
    f.get();
  } catch (const E& e) {
    return e.what();
  } catch (...) {
    return "another error";
  }
  return "no error";
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_OUTCOME_HPP
