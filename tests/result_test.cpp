// result<T>: a value or an exception_ptr, never both, never neither.
#include "weft/result.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

struct counted {
  static int live;
  int v;
  explicit counted(int x) : v(x) { ++live; }
  counted(const counted& o) : v(o.v) { ++live; }
  counted(counted&& o) noexcept : v(o.v) { ++live; }
  ~counted() { --live; }
};
int counted::live = 0;

std::exception_ptr make_error(const char* what) { return std::make_exception_ptr(std::runtime_error(what)); }

TEST(Result, HoldsAValue) {
  weft::result<int> r(42);
  EXPECT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_FALSE(r.error());
}

TEST(Result, HoldsAnErrorAndValueRethrowsIt) {
  weft::result<int> r(make_error("bad"));
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  ASSERT_TRUE(r.error());
  try {
    r.value();
    FAIL() << "value() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "bad");
  }
}

TEST(Result, RethrowsTheVeryExceptionObjectItHolds) {
  auto e = make_error("same");
  weft::result<std::string> r(e);
  EXPECT_EQ(r.error(), e);
}

TEST(Result, RejectsANullExceptionPointer) {
  EXPECT_THROW(weft::result<int>{std::exception_ptr()}, std::invalid_argument);
  EXPECT_THROW(weft::result<void>{std::exception_ptr()}, std::invalid_argument);
}

TEST(Result, CopiesAndMovesItsValue) {
  weft::result<std::string> a(std::string("hello"));
  weft::result<std::string> b(a);
  EXPECT_EQ(a.value(), "hello");
  EXPECT_EQ(b.value(), "hello");
  weft::result<std::string> c(std::move(a));
  EXPECT_EQ(c.value(), "hello");
}

TEST(Result, CopiesAnError) {
  weft::result<int> a(make_error("x"));
  weft::result<int> b(a);
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(a.error(), b.error());
}

TEST(Result, HoldsAMoveOnlyValueAndMovesItOut) {
  weft::result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(Result, AssigningAnErrorOverAValueDestroysTheValue) {
  {
    weft::result<counted> r(counted(1));
    EXPECT_EQ(counted::live, 1);
    r = weft::result<counted>(make_error("x"));
    EXPECT_EQ(counted::live, 0);
    EXPECT_FALSE(r.has_value());
    r = weft::result<counted>(counted(2));
    EXPECT_EQ(counted::live, 1);
    EXPECT_EQ(r.value().v, 2);
  }
  EXPECT_EQ(counted::live, 0);
}

TEST(Result, SelfAssignmentKeepsTheValue) {
  weft::result<std::string> r(std::string("keep"));
  weft::result<std::string>& alias = r;
  r = alias;
  EXPECT_EQ(r.value(), "keep");
}

TEST(Result, DestroysItsValueExactlyOnce) {
  {
    std::vector<weft::result<counted>> v;
    for (int i = 0; i < 100; ++i) v.emplace_back(counted(i));
    EXPECT_EQ(counted::live, 100);
  }
  EXPECT_EQ(counted::live, 0);
}

TEST(Result, ValueIsMutableThroughAnLvalue) {
  weft::result<int> r(1);
  r.value() = 5;
  EXPECT_EQ(r.value(), 5);
}

TEST(ResultVoid, DefaultIsSuccess) {
  weft::result<void> r;
  EXPECT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_NO_THROW(r.value());
  EXPECT_FALSE(r.error());
}

TEST(ResultVoid, HoldsAnErrorAndValueRethrowsIt) {
  weft::result<void> r(make_error("void failed"));
  EXPECT_FALSE(r.has_value());
  EXPECT_THROW(r.value(), std::runtime_error);
  EXPECT_TRUE(r.error());
}

}  // namespace
