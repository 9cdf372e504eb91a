// Must-not-compile cases (suite 'compile'). check_compile.py builds this
// file once without a case macro (the control, which must compile) and once
// per case macro (which must fail with an error on the line marked for it).
#include <memory>
#include <utility>
#include <vector>

#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/when_all.hpp"

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
#elif defined(WEFT_WHEN_ALL_LVALUE_FUTURE)
  weft::future<int> c = weft::make_ready_future(2);
  auto all = weft::when_all(c, weft::make_ready_future(3));  // must-fail: WEFT_WHEN_ALL_LVALUE_FUTURE
  weft::future<int> b(std::move(a));
#elif defined(WEFT_WHEN_ALL_CONST_FUTURES)
  const std::vector<weft::future<int>> cs;
  auto all = weft::when_all(cs);  // must-fail: WEFT_WHEN_ALL_CONST_FUTURES
  weft::future<int> b(std::move(a));
#elif defined(WEFT_WHEN_ALL_NOT_FUTURES)
  std::vector<std::vector<int>> vs;
  auto all = weft::when_all(vs);  // must-fail: WEFT_WHEN_ALL_NOT_FUTURES
  weft::future<int> b(std::move(a));
#elif defined(WEFT_WHEN_ALL_SHARED_MOVE_ONLY)
  weft::promise<std::unique_ptr<int>> q;
  std::vector<weft::shared_future<std::unique_ptr<int>>> ss{q.get_future().share()};
  auto all = weft::when_all(ss);  // must-fail: WEFT_WHEN_ALL_SHARED_MOVE_ONLY
  weft::future<int> b(std::move(a));
#else
  weft::future<int> b(std::move(a));  // the control: moving is the way
  // when_all takes futures as rvalues and shared_futures as they are.
  weft::shared_future<int> s = weft::make_ready_future(2);
  auto all = weft::when_all(weft::make_ready_future(1), s);
  auto many = weft::when_all(std::vector<weft::shared_future<int>>{s, s});
#endif
  p.set_value(1);
  return b.valid() ? 0 : 1;
}
