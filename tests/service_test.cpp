// Services of a pool: made once on first use, shut down at the start of the
// pool's shutdown (newest first), destroyed with the pool (newest first).
#include "weft/service.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sync.hpp"
#include "watchdog.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/thread_pool.hpp"

namespace {

using weft_test::get_within;

// Records what happened to each service, in order.
struct journal {
  std::mutex mutex;
  std::vector<std::string> events;
  void add(const std::string& e) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(e);
  }
};

template <int N>
class recording_service final : public weft::service {
 public:
  explicit recording_service(journal& j) : journal_(j) { journal_.add("make " + std::to_string(N)); }
  ~recording_service() override { journal_.add("destroy " + std::to_string(N)); }

 private:
  void shutdown() noexcept override { journal_.add("shutdown " + std::to_string(N)); }
  journal& journal_;
};

// A service that keeps futures pending, as a timer service would, and
// fails them when its pool shuts down.
class pending_service final : public weft::service {
 public:
  explicit pending_service(weft::executor& ex) : ex_(ex) {}

  weft::future<int> wait() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) throw weft::executor_shutdown("pending_service: shut down");
    waiters_.emplace_back(ex_);
    return waiters_.back().get_future();
  }

 private:
  void shutdown() noexcept override {
    std::vector<weft::promise<int>> waiters;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w.set_exception(std::make_exception_ptr(weft::executor_shutdown("pending_service: shut down")));
  }

  weft::executor& ex_;
  std::mutex mutex_;
  bool closed_ = false;
  std::vector<weft::promise<int>> waiters_;
};

template <int N>
std::unique_ptr<recording_service<N>> make_recording(journal& j) {
  return std::make_unique<recording_service<N>>(j);
}

TEST(Services, UseMakesAServiceOnceAndFindsIt) {
  journal j;  // outlives the pool, whose services write to it as they die
  weft::thread_pool pool(1);
  int made = 0;
  auto make = [&] {
    ++made;
    return make_recording<1>(j);
  };
  auto& a = pool.services().use<recording_service<1>>(make);
  auto& b = pool.services().use<recording_service<1>>(make);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(pool.services().find<recording_service<1>>(), &a);
  EXPECT_EQ(pool.services().find<recording_service<2>>(), nullptr);
}

TEST(Services, ShutDownNewestFirstWhenThePoolShutsDownAndDestroyedNewestFirstWithIt) {
  journal j;
  {
    weft::thread_pool pool(1);
    pool.services().use<recording_service<1>>([&] { return make_recording<1>(j); });
    pool.services().use<recording_service<2>>([&] { return make_recording<2>(j); });
    pool.shutdown();
    pool.shutdown();  // idempotent: no second shutdown of the services
    EXPECT_TRUE(pool.services().is_shut_down());
  }
  const std::vector<std::string> expected{"make 1", "make 2", "shutdown 2", "shutdown 1", "destroy 2", "destroy 1"};
  EXPECT_EQ(j.events, expected);
}

TEST(Services, ThePoolsDestructorShutsThemDownToo) {
  journal j;
  { weft::thread_pool(1).services().use<recording_service<1>>([&] { return make_recording<1>(j); }); }
  const std::vector<std::string> expected{"make 1", "shutdown 1", "destroy 1"};
  EXPECT_EQ(j.events, expected);
}

TEST(Services, NoServiceIsMadeAfterShutdown) {
  weft::thread_pool pool(1);
  pool.shutdown();
  journal j;
  EXPECT_THROW(pool.services().use<recording_service<1>>([&] { return make_recording<1>(j); }), weft::executor_shutdown);
  EXPECT_TRUE(j.events.empty());
}

TEST(Services, AMakeThatThrowsOrReturnsNullAddsNothing) {
  weft::thread_pool pool(1);
  EXPECT_THROW(pool.services().use<recording_service<1>>(
                   []() -> std::unique_ptr<recording_service<1>> { throw std::runtime_error("no"); }),
               std::runtime_error);
  EXPECT_THROW(pool.services().use<recording_service<1>>([] { return std::unique_ptr<recording_service<1>>(); }),
               std::invalid_argument);
  EXPECT_EQ(pool.services().find<recording_service<1>>(), nullptr);
}

TEST(Services, RacingFirstUsesMakeExactlyOne) {
  journal j;
  weft::thread_pool pool(1);
  std::atomic<int> made{0};
  std::vector<recording_service<1>*> seen(8);
  weft_test::spin_barrier start(8);
  {
    std::vector<weft_test::joining_thread> ts;
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&, t] {
        start.arrive_and_wait();
        seen[t] = &pool.services().use<recording_service<1>>([&] {
          made.fetch_add(1);
          return make_recording<1>(j);
        });
      });
    }
  }
  EXPECT_EQ(made.load(), 1);
  for (auto* s : seen) EXPECT_EQ(s, seen[0]);
}

TEST(Services, FuturesAServiceKeepsPendingResolveWhenThePoolShutsDown) {
  weft::thread_pool pool(2);
  auto& svc = pool.services().use<pending_service>([&] { return std::make_unique<pending_service>(pool); });
  auto plain = svc.wait();
  std::atomic<int> continued{0};
  auto chained = svc.wait().then_result([&continued](weft::result<int> r) {
    continued.fetch_add(1);  // runs on the pool, during its drain
    return r.has_value();
  });
  pool.shutdown();
  EXPECT_THROW(get_within(plain), weft::executor_shutdown);
  EXPECT_FALSE(get_within(chained));
  EXPECT_EQ(continued.load(), 1);
  EXPECT_THROW(svc.wait(), weft::executor_shutdown);
}

TEST(Services, ThePoolsDestructorAloneLetsTheContinuationsOfFailedFuturesRun) {
  // No shutdown() call: the destructor shuts the services down while the
  // pool still accepts work, so these continuations run in its drain
  // instead of being refused as bound to a destroyed pool.
  std::atomic<int> continued{0};
  weft::future<bool> chained;
  {
    weft::thread_pool pool(2);
    auto& svc = pool.services().use<pending_service>([&] { return std::make_unique<pending_service>(pool); });
    chained = svc.wait().then_result([&continued](weft::result<int> r) {
      continued.fetch_add(1);
      return r.has_value();
    });
  }
  EXPECT_FALSE(get_within(chained));
  EXPECT_EQ(continued.load(), 1);
}

}  // namespace
