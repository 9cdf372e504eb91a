// errors.hpp: weft's exception types and the unhandled-error handler.
#include "weft/errors.hpp"

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "error_capture.hpp"
#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::error_capture;

TEST(Errors, EveryFutureErrcHasItsOwnDescription) {
  const weft::future_errc all[] = {weft::future_errc::broken_promise, weft::future_errc::already_satisfied,
                                   weft::future_errc::already_retrieved, weft::future_errc::no_state};
  std::set<std::string> seen;
  for (auto e : all) {
    const std::string s = weft::to_string(e);
    EXPECT_FALSE(s.empty());
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_NE(weft::to_string(static_cast<weft::future_errc>(999)), nullptr);
}

TEST(Errors, FutureErrorCarriesItsReasonAndMessage) {
  weft::future_error e(weft::future_errc::no_state);
  EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  EXPECT_STREQ(e.what(), weft::to_string(weft::future_errc::no_state));
  const std::logic_error& base = e;
  EXPECT_STREQ(base.what(), e.what());
}

TEST(Errors, BrokenPromiseIsAFutureErrorWithThatReason) {
  try {
    throw weft::broken_promise();
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::broken_promise);
  }
}

TEST(Errors, ExecutorShutdownAndCancelledAreRuntimeErrors) {
  EXPECT_THROW(throw weft::executor_shutdown(), std::runtime_error);
  EXPECT_THROW(throw weft::cancelled_error(), std::runtime_error);
  EXPECT_STREQ(weft::executor_shutdown("custom").what(), "custom");
  EXPECT_STREQ(weft::cancelled_error("why").what(), "why");
  EXPECT_NE(std::string(weft::executor_shutdown().what()), "");
  EXPECT_NE(std::string(weft::cancelled_error().what()), "");
}

TEST(Errors, TimeoutIsARuntimeErrorDistinctFromCancelled) {
  EXPECT_THROW(throw weft::timeout_error(), std::runtime_error);
  EXPECT_STREQ(weft::timeout_error("late").what(), "late");
  EXPECT_NE(std::string(weft::timeout_error().what()), "");
  bool caught_as_cancelled = false;
  try {
    throw weft::timeout_error();
  } catch (const weft::cancelled_error&) {
    caught_as_cancelled = true;
  } catch (const weft::timeout_error&) {
  }
  EXPECT_FALSE(caught_as_cancelled);
}

TEST(Errors, QueueClosedIsARuntimeErrorDistinctFromCancelled) {
  EXPECT_THROW(throw weft::queue_closed(), std::runtime_error);
  EXPECT_STREQ(weft::queue_closed("done").what(), "done");
  EXPECT_STREQ(weft::queue_closed().what(), "weft: the queue is closed");
  bool caught_as_cancelled = false;
  try {
    throw weft::queue_closed();
  } catch (const weft::cancelled_error&) {
    caught_as_cancelled = true;
  } catch (const weft::queue_closed&) {
  }
  EXPECT_FALSE(caught_as_cancelled);
}

TEST(Errors, DescribeNamesTheException) {
  EXPECT_EQ(weft::describe(std::make_exception_ptr(std::runtime_error("described"))), "described");
  EXPECT_EQ(weft::describe(std::make_exception_ptr(42)), "unknown exception");
  EXPECT_EQ(weft::describe(std::exception_ptr()), "no exception");
}

TEST(UnhandledErrorHandler, SetReturnsThePreviousHandler) {
  int first_calls = 0, second_calls = 0;
  weft::unhandled_error_handler original = weft::set_unhandled_error_handler([&](std::exception_ptr) { ++first_calls; });
  ASSERT_TRUE(static_cast<bool>(original)) << "the default handler is returned, not an empty one";
  weft::unhandled_error_handler first = weft::set_unhandled_error_handler([&](std::exception_ptr) { ++second_calls; });
  weft::report_unhandled_error(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_EQ(second_calls, 1);
  first(std::make_exception_ptr(std::runtime_error("y")));  // the returned handler is the first one
  EXPECT_EQ(first_calls, 1);
  weft::set_unhandled_error_handler(original);
}

TEST(UnhandledErrorHandler, DefaultPrintsOneLineOnStderr) {
  weft::unhandled_error_handler previous = weft::set_unhandled_error_handler(nullptr);  // restore the default
  ::testing::internal::CaptureStderr();
  weft::report_unhandled_error(std::make_exception_ptr(std::runtime_error("lost error")));
  const std::string out = ::testing::internal::GetCapturedStderr();
  weft::set_unhandled_error_handler(previous);
  EXPECT_NE(out.find("lost error"), std::string::npos) << out;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "more than one line: " << out;
}

TEST(UnhandledErrorHandler, DefaultHandlerReachesStderrForADroppedFuture) {
  weft::unhandled_error_handler previous = weft::set_unhandled_error_handler(nullptr);
  ::testing::internal::CaptureStderr();
  { auto f = weft::make_exceptional_future<int>(std::runtime_error("dropped on the floor"), weft::inline_executor()); }
  const std::string out = ::testing::internal::GetCapturedStderr();
  weft::set_unhandled_error_handler(previous);
  EXPECT_NE(out.find("dropped on the floor"), std::string::npos) << out;
}

TEST(UnhandledErrorHandler, ThrowingHandlerDoesNotTerminate) {
  weft::unhandled_error_handler previous =
      weft::set_unhandled_error_handler([](std::exception_ptr) { throw std::runtime_error("handler threw"); });
  EXPECT_NO_THROW(weft::report_unhandled_error(std::make_exception_ptr(std::runtime_error("x"))));
  { auto f = weft::make_exceptional_future<int>(std::runtime_error("y"), weft::inline_executor()); }
  weft::set_unhandled_error_handler(previous);
}

TEST(UnhandledErrorHandler, ReceivesTheVeryExceptionOfADroppedFuture) {
  error_capture errors;
  auto e = std::make_exception_ptr(std::runtime_error("identity"));
  {
    weft::promise<int> p(weft::inline_executor());
    auto f = p.get_future();
    p.set_exception(e);
  }
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.errors()[0], e);
}

TEST(UnhandledErrorHandler, UserTaskThatThrowsOnAPoolIsReportedExactlyOnce) {
  error_capture errors;
  weft::thread_pool pool(2);
  for (int i = 0; i < 10; ++i) pool.execute([i] { throw std::runtime_error("task " + std::to_string(i)); });
  pool.shutdown();
  EXPECT_EQ(errors.count(), 10u);
  std::set<std::string> messages;
  for (const auto& m : errors.messages()) messages.insert(m);
  EXPECT_EQ(messages.size(), 10u);
}

TEST(UnhandledErrorHandler, ThrowingNonStdExceptionIsReportedToo) {
  error_capture errors;
  weft::thread_pool pool(1);
  pool.execute([] { throw 17; });
  pool.shutdown();
  ASSERT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "unknown exception");
}

TEST(UnhandledErrorHandler, ContinuationErrorNobodyReadsIsReportedOnce) {
  error_capture errors;
  weft::thread_pool pool(2);
  {
    auto f = weft::async(pool, [] { return 1; }).then([](int) -> int { throw std::runtime_error("in continuation"); });
  }  // dropped before or after it fails
  pool.shutdown();
  ASSERT_TRUE(errors.wait_for_count(1));
  EXPECT_EQ(errors.count(), 1u);
  EXPECT_EQ(errors.messages()[0], "in continuation");
}

TEST(UnhandledErrorHandler, MayBeCalledFromManyThreadsAtOnce) {
  std::atomic<int> calls{0};
  weft::unhandled_error_handler previous = weft::set_unhandled_error_handler([&](std::exception_ptr) { calls.fetch_add(1); });
  {
    std::vector<weft_test::joining_thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([] {
        for (int i = 0; i < 1000; ++i) weft::report_unhandled_error(std::make_exception_ptr(std::runtime_error("x")));
      });
    }
    // Swapping the handler while reports arrive is allowed too.
    for (int i = 0; i < 100; ++i) {
      weft::set_unhandled_error_handler([&](std::exception_ptr) { calls.fetch_add(1); });
    }
  }
  weft::set_unhandled_error_handler(previous);
  EXPECT_EQ(calls.load(), 4000);
}

}  // namespace
