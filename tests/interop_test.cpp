// interop.hpp: from_boost, to_boost, from_std.
#include "weft/interop.hpp"

#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/thread/future.hpp>
#include <gtest/gtest.h>

#include "sync.hpp"
#include "thread_name.hpp"
#include "watchdog.hpp"
#include "weft/async.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bounded wait on a Boost future.
template <class T>
bool boost_ready_within(weft::boost_future<T>& f, double seconds = 20.0) {
  return f.wait_for(boost::chrono::milliseconds(weft_test::bound(seconds).count())) == boost::future_status::ready;
}

// ---- from_boost ------------------------------------------------------------------

TEST(FromBoost, GivesTheValue) {
  boost::promise<int> p;
  weft::future<int> f = weft::from_boost(weft::boost_future<int>(p.get_future()));
  EXPECT_FALSE(f.is_ready());
  p.set_value(5);
  EXPECT_EQ(get_within(f), 5);
}

TEST(FromBoost, GivesAValueThatWasAlreadyThere) {
  boost::promise<std::string> p;
  p.set_value("ready");
  EXPECT_EQ(get_within(weft::from_boost(weft::boost_future<std::string>(p.get_future()))), "ready");
}

TEST(FromBoost, KeepsTheExceptionType) {
  boost::promise<int> p;
  weft::future<int> f = weft::from_boost(weft::boost_future<int>(p.get_future()));
  p.set_exception(boost::copy_exception(custom_error("from boost")));
  try {
    get_within(f);
    FAIL() << "get() did not throw";
  } catch (const custom_error& e) {
    EXPECT_STREQ(e.what(), "from boost");
  }
}

TEST(FromBoost, Void) {
  boost::promise<void> p;
  weft::future<void> f = weft::from_boost(weft::boost_future<void>(p.get_future()));
  p.set_value();
  EXPECT_NO_THROW(get_within(f));
}

TEST(FromBoost, BrokenBoostPromiseFailsTheFuture) {
  weft::future<int> f;
  {
    boost::promise<int> p;
    f = weft::from_boost(weft::boost_future<int>(p.get_future()));
  }
  EXPECT_ANY_THROW(get_within(f));
}

TEST(FromBoost, InvalidFutureThrowsNoState) {
  try {
    (void)weft::from_boost(weft::boost_future<int>());
    FAIL() << "from_boost did not throw";
  } catch (const weft::future_error& e) {
    EXPECT_EQ(e.reason(), weft::future_errc::no_state);
  }
}

TEST(FromBoost, CalledOnAWorkerDoesNotBlockIt) {
  // The wait happens on the blocking pool: a one-worker pool stays free
  // while the Boost future is pending.
  weft::thread_pool pool(1);
  boost::promise<int> p;
  auto adopted = weft::async(pool, [&p] { return weft::from_boost(weft::boost_future<int>(p.get_future())); });
  auto other = weft::async(pool, [] { return 1; });
  EXPECT_EQ(get_within(other, 10), 1);
  EXPECT_FALSE(adopted.is_ready());
  p.set_value(9);
  EXPECT_EQ(get_within(adopted), 9);
}

TEST(FromBoost, ContinuationsRunOnTheDefaultPool) {
  boost::promise<int> p;
  auto f = weft::from_boost(weft::boost_future<int>(p.get_future())).then([](int v) {
    return weft::default_pool().running_in_this_thread() ? v : -1;
  });
  p.set_value(3);
  EXPECT_EQ(get_within(f), 3);
}

// ---- from_std --------------------------------------------------------------------

TEST(FromStd, GivesTheValue) {
  std::promise<std::string> p;
  weft::future<std::string> f = weft::from_std(p.get_future());
  p.set_value("std");
  EXPECT_EQ(get_within(f), "std");
}

TEST(FromStd, KeepsTheExceptionType) {
  std::promise<int> p;
  weft::future<int> f = weft::from_std(p.get_future());
  p.set_exception(std::make_exception_ptr(custom_error("from std")));
  EXPECT_THROW(get_within(f), custom_error);
}

TEST(FromStd, VoidAndMoveOnly) {
  std::promise<void> pv;
  auto fv = weft::from_std(pv.get_future());
  pv.set_value();
  EXPECT_NO_THROW(get_within(fv));
  std::promise<std::unique_ptr<int>> pm;
  auto fm = weft::from_std(pm.get_future());
  pm.set_value(std::make_unique<int>(4));
  EXPECT_EQ(*get_within(fm), 4);
}

TEST(FromStd, BrokenStdPromiseFailsWithStdFutureError) {
  weft::future<int> f;
  {
    std::promise<int> p;
    f = weft::from_std(p.get_future());
  }
  EXPECT_THROW(get_within(f), std::future_error);
}

TEST(FromStd, InvalidFutureThrowsNoState) {
  EXPECT_THROW(weft::from_std(std::future<int>()), weft::future_error);
}

TEST(FromStd, WaitsOnABlockingThreadNotOnAWorker) {
  weft::thread_pool pool(1);
  std::promise<int> p;
  auto adopted = weft::async(pool, [&p] { return weft::from_std(p.get_future()); });
  auto other = weft::async(pool, [] { return 2; });
  EXPECT_EQ(get_within(other, 10), 2);
  p.set_value(8);
  EXPECT_EQ(get_within(adopted), 8);
}

TEST(FromStd, StdAsyncResult) {
  auto f = weft::from_std(std::async(std::launch::async, [] { return 6; }));
  EXPECT_EQ(get_within(f), 6);
}

// ---- to_boost ----------------------------------------------------------------------

TEST(ToBoost, GivesTheValue) {
  weft::promise<int> p(weft::inline_executor());
  weft::boost_future<int> bf = weft::to_boost(p.get_future());
  EXPECT_FALSE(bf.is_ready());
  p.set_value(12);
  ASSERT_TRUE(bf.is_ready()) << "to_boost fulfils inline, with no thread in between";
  EXPECT_EQ(bf.get(), 12);
}

TEST(ToBoost, KeepsTheExceptionType) {
  weft::promise<int> p(weft::inline_executor());
  weft::boost_future<int> bf = weft::to_boost(p.get_future());
  p.set_exception(std::make_exception_ptr(custom_error("to boost")));
  ASSERT_TRUE(boost_ready_within(bf));
  try {
    bf.get();
    FAIL() << "get() did not throw";
  } catch (const custom_error& e) {
    EXPECT_STREQ(e.what(), "to boost");
  }
}

TEST(ToBoost, VoidAndMoveOnly) {
  weft::promise<void> pv(weft::inline_executor());
  auto bv = weft::to_boost(pv.get_future());
  pv.set_value();
  ASSERT_TRUE(boost_ready_within(bv));
  EXPECT_NO_THROW(bv.get());

  weft::promise<std::unique_ptr<int>> pm(weft::inline_executor());
  auto bm = weft::to_boost(pm.get_future());
  pm.set_value(std::make_unique<int>(3));
  ASSERT_TRUE(boost_ready_within(bm));
  EXPECT_EQ(*bm.get(), 3);
}

TEST(ToBoost, FromAPoolTask) {
  weft::thread_pool pool(2);
  auto bf = weft::to_boost(weft::async(pool, [] { return std::string("pooled"); }));
  ASSERT_TRUE(boost_ready_within(bf));
  EXPECT_EQ(bf.get(), "pooled");
}

TEST(ToBoost, BrokenWeftPromiseReachesTheBoostFuture) {
  weft::boost_future<int> bf;
  {
    weft::promise<int> p(weft::inline_executor());
    bf = weft::to_boost(p.get_future());
  }
  ASSERT_TRUE(boost_ready_within(bf));
  EXPECT_THROW(bf.get(), weft::broken_promise);
}

TEST(ToBoost, InvalidFutureThrowsNoState) {
  EXPECT_THROW(weft::to_boost(weft::future<int>()), weft::future_error);
}

TEST(Interop, RoundTripThroughBoostKeepsValueAndError) {
  auto back = weft::from_boost(weft::to_boost(weft::make_ready_future(21, weft::inline_executor())));
  EXPECT_EQ(get_within(back), 21);
  auto failed = weft::from_boost(
      weft::to_boost(weft::make_exceptional_future<int>(custom_error("round trip"), weft::inline_executor())));
  EXPECT_THROW(get_within(failed), custom_error);
}

}  // namespace
