// tests/common/thread_name.hpp: the calling thread's name (pthread).
#ifndef WEFT_TESTS_COMMON_THREAD_NAME_HPP
#define WEFT_TESTS_COMMON_THREAD_NAME_HPP

#include <pthread.h>

#include <string>

namespace weft_test {

inline std::string this_thread_name() {
  char buf[32] = {0};
  if (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0) return "?";
  return buf;
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_THREAD_NAME_HPP
