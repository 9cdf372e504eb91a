// unique_task: a move-only void() callable with small-buffer storage.
#include "weft/unique_task.hpp"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

// Counts heap allocations made by this thread, so the tests can tell inline
// storage from heap storage by behaviour. The sanitizers bring their own
// operator new (clang's static runtime even clashes with a replacement), so
// there the counting tests skip and the address checks below remain.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_SANITIZED 1
#endif
#endif

namespace {
thread_local std::size_t allocations = 0;
}

#ifndef WEFT_TEST_SANITIZED
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#define SKIP_IF_SANITIZED() (void)0
#else
#define SKIP_IF_SANITIZED() GTEST_SKIP() << "allocation counting needs the plain operator new"
#endif

namespace {

struct allocation_counter {
  std::size_t start = allocations;
  std::size_t count() const { return allocations - start; }
};

// A callable that records how often it is run, moved and destroyed.
struct tracked {
  struct log {
    int runs = 0;
    int moves = 0;
    int destroyed = 0;
  };
  log* l;
  explicit tracked(log* p) noexcept : l(p) {}
  tracked(tracked&& o) noexcept : l(o.l) {
    o.l = nullptr;
    ++l->moves;
  }
  tracked(const tracked&) = delete;
  ~tracked() {
    if (l != nullptr) ++l->destroyed;
  }
  void operator()() { ++l->runs; }
};

// As tracked, but too big for the inline buffer.
struct big_tracked : tracked {
  using tracked::tracked;
  char payload[128] = {};
};

// Small but with a throwing move: must not be stored inline.
struct throwing_move {
  int* runs;
  explicit throwing_move(int* r) : runs(r) {}
  throwing_move(throwing_move&& o) noexcept(false) : runs(o.runs) {}
  void operator()() { ++*runs; }
};

// weft's own tasks derive from abandonable_task and learn why they are dropped.
struct abandon_probe : weft::detail::abandonable_task {
  std::string* why;
  int* runs;
  abandon_probe(std::string* w, int* r) noexcept : why(w), runs(r) {}
  void operator()() { ++*runs; }
  void abandon(std::exception_ptr e) noexcept {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      *why = ex.what();
    }
  }
};
struct big_abandon_probe : abandon_probe {
  using abandon_probe::abandon_probe;
  char payload[128] = {};
};

TEST(UniqueTask, DefaultConstructedTaskIsEmpty) {
  weft::unique_task t;
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, RunsTheStoredCallableOnceAndBecomesEmpty) {
  int runs = 0;
  weft::unique_task t([&runs] { ++runs; });
  ASSERT_TRUE(static_cast<bool>(t));
  t();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, StoresAPointerSizedCallableWithoutAllocating) {
  SKIP_IF_SANITIZED();
  int runs = 0;
  allocation_counter a;
  weft::unique_task t([&runs] { ++runs; });
  weft::unique_task moved(std::move(t));
  moved();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(runs, 1);
}

TEST(UniqueTask, StoresAThreePointerCallableWithoutAllocating) {
  SKIP_IF_SANITIZED();
  void* a1 = nullptr;
  void* a2 = nullptr;
  int runs = 0;
  int* r = &runs;
  allocation_counter a;
  weft::unique_task t([a1, a2, r] {
    if (a1 == nullptr && a2 == nullptr) ++*r;
  });
  t();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(runs, 1);
}

TEST(UniqueTask, StoresALargeCallableOnTheHeapWithOneAllocation) {
  SKIP_IF_SANITIZED();
  tracked::log log;
  allocation_counter a;
  {
    weft::unique_task t{big_tracked(&log)};
    EXPECT_EQ(a.count(), 1u);
    t();
  }
  EXPECT_EQ(log.runs, 1);
  EXPECT_EQ(log.destroyed, 1);
}

TEST(UniqueTask, StoresASmallCallableWithAThrowingMoveOnTheHeap) {
  SKIP_IF_SANITIZED();
  int runs = 0;
  allocation_counter a;
  weft::unique_task t{throwing_move(&runs)};
  EXPECT_EQ(a.count(), 1u);
  t();
  EXPECT_EQ(runs, 1);
}

// Where the callable lives: a probe records its own address when run.
template <std::size_t Pad>
struct where_probe {
  const void** seen;
  char pad[Pad == 0 ? 1 : Pad];
  void operator()() { *seen = this; }
};

template <class Probe>
bool runs_inside_the_task_object() {
  const void* seen = nullptr;
  weft::unique_task t{Probe{&seen, {}}};
  const char* begin = reinterpret_cast<const char*>(&t);
  t();
  const char* p = static_cast<const char*>(seen);
  return p >= begin && p < begin + sizeof(weft::unique_task);
}

TEST(UniqueTask, SmallCallableLivesInsideTheTaskObject) {
  EXPECT_TRUE(runs_inside_the_task_object<where_probe<1>>());
  EXPECT_TRUE(runs_inside_the_task_object<where_probe<2 * sizeof(void*)>>());  // three pointers in all
}

TEST(UniqueTask, LargeCallableLivesOutsideTheTaskObject) {
  EXPECT_FALSE(runs_inside_the_task_object<where_probe<3 * sizeof(void*)>>());
  EXPECT_FALSE(runs_inside_the_task_object<where_probe<256>>());
}

TEST(UniqueTask, SmallCallableWithAThrowingMoveLivesOutsideTheTaskObject) {
  struct probe {
    const void** seen;
    probe(const void** s) : seen(s) {}
    probe(probe&& o) noexcept(false) : seen(o.seen) {}
    void operator()() { *seen = this; }
  };
  const void* seen = nullptr;
  weft::unique_task t{probe(&seen)};
  const char* begin = reinterpret_cast<const char*>(&t);
  t();
  const char* p = static_cast<const char*>(seen);
  EXPECT_FALSE(p >= begin && p < begin + sizeof(weft::unique_task));
}

TEST(UniqueTask, MovingAHeapTaskMovesOnlyThePointer) {
  SKIP_IF_SANITIZED();
  tracked::log log;
  weft::unique_task t{big_tracked(&log)};
  const int moves_after_construction = log.moves;
  allocation_counter a;
  weft::unique_task u(std::move(t));
  weft::unique_task v;
  v = std::move(u);
  EXPECT_EQ(log.moves, moves_after_construction);
  EXPECT_EQ(a.count(), 0u);
  EXPECT_FALSE(static_cast<bool>(t));
  EXPECT_FALSE(static_cast<bool>(u));
  v();
  EXPECT_EQ(log.runs, 1);
  EXPECT_EQ(log.destroyed, 1);
}

TEST(UniqueTask, MovingAnInlineTaskRelocatesTheCallable) {
  tracked::log log;
  weft::unique_task t{tracked(&log)};
  weft::unique_task u(std::move(t));
  EXPECT_FALSE(static_cast<bool>(t));
  ASSERT_TRUE(static_cast<bool>(u));
  u();
  EXPECT_EQ(log.runs, 1);
  EXPECT_EQ(log.destroyed, 1);  // exactly one live object was ever run and destroyed
}

TEST(UniqueTask, AcceptsMoveOnlyCallables) {
  auto p = std::make_unique<int>(41);
  int seen = 0;
  weft::unique_task t([p = std::move(p), &seen]() mutable { seen = ++*p; });
  weft::unique_task u(std::move(t));
  u();
  EXPECT_EQ(seen, 42);
}

TEST(UniqueTask, DestroysTheCallableRightAfterItRuns) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  weft::unique_task t([token] {});
  token.reset();
  EXPECT_FALSE(watch.expired());
  t();
  EXPECT_TRUE(watch.expired());
}

TEST(UniqueTask, DestroysTheCallableEvenWhenItThrows) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  weft::unique_task t([token] { throw std::runtime_error("boom"); });
  token.reset();
  EXPECT_THROW(t(), std::runtime_error);
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, DestroysAHeapCallableEvenWhenItThrows) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  char big[100] = {};
  weft::unique_task t([token, big] {
    (void)big;
    throw std::runtime_error("boom");
  });
  token.reset();
  EXPECT_THROW(t(), std::runtime_error);
  EXPECT_TRUE(watch.expired());
}

TEST(UniqueTask, DestructorDestroysTheCallableWithoutRunningIt) {
  tracked::log small, big;
  {
    weft::unique_task a{tracked(&small)};
    weft::unique_task b{big_tracked(&big)};
  }
  EXPECT_EQ(small.runs, 0);
  EXPECT_EQ(small.destroyed, 1);
  EXPECT_EQ(big.runs, 0);
  EXPECT_EQ(big.destroyed, 1);
}

TEST(UniqueTask, ResetDestroysTheCallableWithoutRunningIt) {
  tracked::log log;
  weft::unique_task t{tracked(&log)};
  t.reset();
  EXPECT_FALSE(static_cast<bool>(t));
  EXPECT_EQ(log.runs, 0);
  EXPECT_EQ(log.destroyed, 1);
  t.reset();  // no-op on an empty task
  EXPECT_EQ(log.destroyed, 1);
}

TEST(UniqueTask, MoveAssignmentDestroysThePreviousCallable) {
  tracked::log first, second;
  weft::unique_task t{tracked(&first)};
  t = weft::unique_task{tracked(&second)};
  EXPECT_EQ(first.destroyed, 1);
  EXPECT_EQ(first.runs, 0);
  t();
  EXPECT_EQ(second.runs, 1);
}

TEST(UniqueTask, SelfMoveAssignmentKeepsTheCallable) {
  tracked::log log;
  weft::unique_task t{tracked(&log)};
  weft::unique_task& alias = t;
  t = std::move(alias);
  ASSERT_TRUE(static_cast<bool>(t));
  t();
  EXPECT_EQ(log.runs, 1);
}

TEST(UniqueTask, AbandonTellsAnInlineAbandonableTaskWhy) {
  std::string why;
  int runs = 0;
  weft::unique_task t{abandon_probe(&why, &runs)};
  t.abandon(std::make_exception_ptr(std::runtime_error("pool closed")));
  EXPECT_EQ(why, "pool closed");
  EXPECT_EQ(runs, 0);
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, AbandonTellsAHeapAbandonableTaskWhy) {
  std::string why;
  int runs = 0;
  weft::unique_task t{big_abandon_probe(&why, &runs)};
  t.abandon(std::make_exception_ptr(std::runtime_error("cancelled")));
  EXPECT_EQ(why, "cancelled");
  EXPECT_EQ(runs, 0);
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, AbandonDestroysAPlainCallableWithoutRunningIt) {
  tracked::log small, big;
  weft::unique_task a{tracked(&small)};
  weft::unique_task b{big_tracked(&big)};
  a.abandon(std::make_exception_ptr(std::runtime_error("x")));
  b.abandon(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_EQ(small.runs + big.runs, 0);
  EXPECT_EQ(small.destroyed, 1);
  EXPECT_EQ(big.destroyed, 1);
  EXPECT_FALSE(static_cast<bool>(a));
  EXPECT_FALSE(static_cast<bool>(b));
}

TEST(UniqueTask, AbandonOnAnEmptyTaskDoesNothing) {
  weft::unique_task t;
  t.abandon(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_FALSE(static_cast<bool>(t));
}

TEST(UniqueTask, WrapsAFunctionPointer) {
  static int runs = 0;
  runs = 0;
  struct f {
    static void call() { ++runs; }
  };
  weft::unique_task t(&f::call);
  t();
  EXPECT_EQ(runs, 1);
}

TEST(UniqueTask, ManyTasksInAContainerEachRunOnce) {
  std::vector<weft::unique_task> tasks;
  std::vector<int> hits(1000, 0);
  for (int i = 0; i < 1000; ++i) {
    if (i % 2 == 0) {
      tasks.emplace_back([&hits, i] { ++hits[i]; });
    } else {
      char pad[64] = {};
      tasks.emplace_back([&hits, i, pad] { hits[i] += 1 + pad[0]; });
    }
  }
  for (auto& t : tasks) t();
  for (int h : hits) ASSERT_EQ(h, 1);
}

}  // namespace
