// Runs code on a thread with a small stack, so a test sees a recursion
// that grows with its input overflow instead of passing on a big stack.
#ifndef WEFT_TESTS_COMMON_SMALL_STACK_HPP
#define WEFT_TESTS_COMMON_SMALL_STACK_HPP

#include <cstddef>

#include <boost/thread/thread.hpp>

namespace weft_test {

/// Runs `f` on a new thread whose stack holds `bytes` (256 KiB by default),
/// and joins it.
template <class F>
void on_small_stack(F f, std::size_t bytes = 256 * 1024) {
  boost::thread::attributes attrs;
  attrs.set_stack_size(bytes);
  boost::thread t(attrs, f);
  t.join();
}

}  // namespace weft_test

#endif  // WEFT_TESTS_COMMON_SMALL_STACK_HPP
