// Must-not-compile cases (suite 'compile'). check_compile.py builds this
// file once without a case macro (the control, which must compile) and once
// per case macro (which must fail with an error on the line marked for it).
#include <utility>

#include "weft/future.hpp"
#include "weft/promise.hpp"

int main() {
  weft::promise<int> p;
  weft::future<int> a = p.get_future();
#if defined(WEFT_COPY_FUTURE)
  weft::future<int> b(a);  // must-fail: WEFT_COPY_FUTURE
#elif defined(WEFT_COPY_ASSIGN_FUTURE)
  weft::future<int> b;
  b = a;  // must-fail: WEFT_COPY_ASSIGN_FUTURE
#elif defined(WEFT_COPY_PROMISE)
  weft::promise<int> q(p);  // must-fail: WEFT_COPY_PROMISE
  weft::future<int> b(std::move(a));
#else
  weft::future<int> b(std::move(a));  // the control: moving is the way
#endif
  p.set_value(1);
  return b.valid() ? 0 : 1;
}
