// exception_group.hpp: several failures as one exception; split, handle,
// flatten and what().
#include "weft/exception_group.hpp"

#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "sync.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"

namespace {

using weft::exception_group;
using ptrs = std::vector<std::exception_ptr>;

struct network_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct dns_error : network_error {
  using network_error::network_error;
};
struct parse_error : std::logic_error {
  using std::logic_error::logic_error;
};
// A group type of the caller's own.
struct batch_error : exception_group {
  using exception_group::exception_group;
};

template <class E>
std::exception_ptr ep(const std::string& what) {
  return std::make_exception_ptr(E(what));
}

std::exception_ptr group_ptr(const std::string& message, ptrs members) {
  return std::make_exception_ptr(exception_group(message, std::move(members)));
}

// The group inside `p` (which must hold one).
exception_group group_of(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const exception_group& g) {
    return g;
  } catch (...) {
  }
  ADD_FAILURE() << "not a group: " << weft::describe(p);
  return exception_group();
}

bool is_group(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const exception_group&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::vector<std::string> whats(const ptrs& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(weft::describe(m));
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// --- construction and access ---------------------------------------------

TEST(ExceptionGroup, HoldsItsMessageAndMembersInOrder) {
  const ptrs members = {ep<network_error>("a"), ep<parse_error>("b"), std::make_exception_ptr(42)};
  const exception_group g("three failed", members);
  EXPECT_EQ(g.message(), "three failed");
  EXPECT_EQ(g.size(), 3u);
  EXPECT_FALSE(g.empty());
  ASSERT_EQ(g.exceptions().size(), 3u);
  EXPECT_EQ(g.exceptions(), members);  // the same exception objects, not copies
}

TEST(ExceptionGroup, DefaultAndEmptyGroupsAreEmpty) {
  const exception_group none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.message(), "");
  EXPECT_TRUE(none.exceptions().empty());
  const exception_group named("nothing failed", {});
  EXPECT_TRUE(named.empty());
  EXPECT_EQ(named.message(), "nothing failed");
}

TEST(ExceptionGroup, NullMemberIsRejectedByIndex) {
  try {
    exception_group("m", {ep<network_error>("a"), std::exception_ptr()});
    FAIL() << "a null member was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weft::exception_group"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exceptions[1]"), std::string::npos) << e.what();
  }
}

TEST(ExceptionGroup, IsARuntimeErrorAndTravelsThroughAFuture) {
  static_assert(std::is_base_of<std::runtime_error, exception_group>::value, "a run-time error");
  auto f = weft::make_exceptional_future<int>(exception_group("batch", {ep<network_error>("down")}));
  try {
    f.get();
    FAIL() << "no exception";
  } catch (const exception_group& g) {
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(weft::describe(g.exceptions()[0]), "down");
  }
  try {
    throw exception_group("batch", {});
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("batch"), std::string::npos);
  }
}

TEST(ExceptionGroup, CopiesShareTheMembersAndCannotThrow) {
  static_assert(std::is_nothrow_copy_constructible<exception_group>::value, "an exception copies without throwing");
  static_assert(std::is_nothrow_copy_assignable<exception_group>::value, "and assigns without throwing");
  const exception_group g("m", {ep<network_error>("a"), ep<parse_error>("b")});
  exception_group copy = g;
  EXPECT_EQ(copy.exceptions(), g.exceptions());
  EXPECT_EQ(&copy.exceptions(), &g.exceptions());  // shared, not copied
  EXPECT_STREQ(copy.what(), g.what());
  exception_group assigned;
  assigned = g;
  EXPECT_EQ(assigned.message(), "m");
  EXPECT_EQ(assigned.exceptions(), g.exceptions());
  try {
    throw copy;  // copied into the exception object
  } catch (const exception_group& caught) {
    EXPECT_EQ(caught.exceptions(), g.exceptions());
    EXPECT_STREQ(caught.what(), g.what());
  }
}

// --- what() --------------------------------------------------------------

TEST(ExceptionGroup, WhatListsMessageCountAndEveryMember) {
  const exception_group g("3 of 5 fetches failed",
                          {ep<network_error>("service unavailable: key 302"), std::make_exception_ptr(7),
                           ep<weft::timeout_error>("deadline exceeded")});
  EXPECT_EQ(std::string(g.what()),
            "3 of 5 fetches failed (3 exceptions)\n"
            "  [0] service unavailable: key 302\n"
            "  [1] unknown exception\n"
            "  [2] deadline exceeded");
}

TEST(ExceptionGroup, WhatIndentsNestedGroups) {
  const exception_group g("outer", {ep<network_error>("a"),
                                    group_ptr("inner", {ep<parse_error>("b"), group_ptr("innermost", {ep<dns_error>("c")})}),
                                    ep<network_error>("d")});
  EXPECT_EQ(std::string(g.what()),
            "outer (3 exceptions)\n"
            "  [0] a\n"
            "  [1] inner (2 exceptions)\n"
            "      [0] b\n"
            "      [1] innermost (1 exception)\n"
            "          [0] c\n"
            "  [2] d");
}

TEST(ExceptionGroup, WhatOfAnEmptyOrUnnamedGroup) {
  EXPECT_EQ(std::string(exception_group().what()), "exception group (0 exceptions)");
  EXPECT_EQ(std::string(exception_group("", {ep<network_error>("x")}).what()), "exception group (1 exception)\n  [0] x");
}

TEST(ExceptionGroup, WhatOfAHugeGroupIsBounded) {
  ptrs members;
  for (int i = 0; i < 100000; ++i) members.push_back(ep<network_error>("error " + std::to_string(i)));
  const exception_group g("many", members);
  const std::string what = g.what();
  EXPECT_EQ(what.find("many (100000 exceptions)"), 0u) << what.substr(0, 100);
  EXPECT_EQ(count(what, "\n  ["), exception_group::max_listed);
  EXPECT_NE(what.find("  [0] error 0\n"), std::string::npos);
  EXPECT_NE(what.find("\n  ... and " + std::to_string(100000 - exception_group::max_listed) + " more"),
            std::string::npos)
      << what;
  EXPECT_EQ(g.size(), 100000u);  // only what() is bounded
}

TEST(ExceptionGroup, WhatOfLongDescriptionsIsBounded) {
  ptrs members;
  for (int i = 0; i < 10; ++i) members.push_back(ep<network_error>(std::string(3000, 'x')));
  const std::string what = exception_group("long", members).what();
  EXPECT_LE(what.size(), exception_group::max_what_chars + 200);
  EXPECT_NE(what.find(" ...\n  ... and "), std::string::npos) << what.substr(what.size() - 100);
  // Nesting cannot multiply it: a group of groups of such groups.
  const std::exception_ptr inner = group_ptr("inner", members);
  const std::exception_ptr middle = group_ptr("middle", ptrs(10, inner));
  const std::string deep = exception_group("outer", ptrs(10, middle)).what();
  EXPECT_LE(deep.size(), exception_group::max_what_chars + 200);
  EXPECT_NE(deep.find("and 9 more"), std::string::npos);
}

TEST(ExceptionGroup, WhatCutsOnlyBetweenUtf8Characters) {
  // 'é' is two bytes; whichever byte the budget ends on, no sequence is cut.
  for (std::size_t pad = 0; pad < 2; ++pad) {
    const std::string what = exception_group("m", {ep<network_error>(std::string(pad, 'a') + [] {
                                                     std::string s;
                                                     for (int i = 0; i < 4000; ++i) s += "\xc3\xa9";
                                                     return s;
                                                   }())})
                                 .what();
    const std::size_t end = what.rfind(" ...");
    ASSERT_NE(end, std::string::npos);
    EXPECT_NE(static_cast<unsigned char>(what[end - 1]), 0xC3u) << "a sequence was cut, pad " << pad;
  }
}

// --- split ---------------------------------------------------------------

TEST(ExceptionGroup, SplitFlatGroupByType) {
  const ptrs members = {ep<network_error>("n1"), ep<parse_error>("p1"), ep<dns_error>("d1"), ep<parse_error>("p2")};
  const exception_group g("batch", members);
  const exception_group::split_result parts = g.split<network_error>();
  EXPECT_EQ(parts.matching.exceptions(), (ptrs{members[0], members[2]}));
  EXPECT_EQ(parts.rest.exceptions(), (ptrs{members[1], members[3]}));
  EXPECT_EQ(parts.matching.message(), "batch");
  EXPECT_EQ(parts.rest.message(), "batch");
}

TEST(ExceptionGroup, SplitWithNoMatchOrAllMatchingLeavesOneSideEmpty) {
  const exception_group g("batch", {ep<network_error>("n1"), ep<dns_error>("d1")});
  const auto none = g.split<parse_error>();
  EXPECT_TRUE(none.matching.empty());
  EXPECT_EQ(none.rest.exceptions(), g.exceptions());
  const auto all = g.split<network_error>();
  EXPECT_TRUE(all.rest.empty());
  EXPECT_EQ(all.matching.exceptions(), g.exceptions());
  const auto of_empty = exception_group().split<network_error>();
  EXPECT_TRUE(of_empty.matching.empty());
  EXPECT_TRUE(of_empty.rest.empty());
}

TEST(ExceptionGroup, SplitKeepsTheNestingAndEachGroupsMessage) {
  const std::exception_ptr n1 = ep<network_error>("n1");
  const std::exception_ptr p1 = ep<parse_error>("p1");
  const std::exception_ptr n2 = ep<network_error>("n2");
  const std::exception_ptr p2 = ep<parse_error>("p2");
  const std::exception_ptr all_network = group_ptr("all network", {ep<dns_error>("d"), ep<network_error>("n3")});
  const std::exception_ptr mixed = group_ptr("mixed", {n2, group_ptr("deeper", {p2, ep<dns_error>("d2")})});
  const exception_group g("top", {n1, mixed, p1, all_network});

  const auto parts = g.split<network_error>();
  // matching: n1, mixed' = {n2, deeper' = {d2}}, all_network (as it was)
  ASSERT_EQ(parts.matching.size(), 3u);
  EXPECT_EQ(parts.matching.exceptions()[0], n1);
  const exception_group mixed_m = group_of(parts.matching.exceptions()[1]);
  EXPECT_EQ(mixed_m.message(), "mixed");
  ASSERT_EQ(mixed_m.size(), 2u);
  EXPECT_EQ(mixed_m.exceptions()[0], n2);
  const exception_group deeper_m = group_of(mixed_m.exceptions()[1]);
  EXPECT_EQ(deeper_m.message(), "deeper");
  EXPECT_EQ(whats(deeper_m.exceptions()), (std::vector<std::string>{"d2"}));
  EXPECT_EQ(parts.matching.exceptions()[2], all_network);  // identity kept: it went whole

  // rest: mixed' = {deeper' = {p2}}, p1
  ASSERT_EQ(parts.rest.size(), 2u);
  const exception_group mixed_r = group_of(parts.rest.exceptions()[0]);
  EXPECT_EQ(mixed_r.message(), "mixed");
  ASSERT_EQ(mixed_r.size(), 1u);
  const exception_group deeper_r = group_of(mixed_r.exceptions()[0]);
  EXPECT_EQ(deeper_r.message(), "deeper");
  EXPECT_EQ(deeper_r.exceptions(), (ptrs{p2}));
  EXPECT_EQ(parts.rest.exceptions()[1], p1);
}

TEST(ExceptionGroup, SplitDropsEmptyNestedGroups) {
  const exception_group g("top", {group_ptr("empty", {}), ep<network_error>("n")});
  const auto parts = g.split<network_error>();
  EXPECT_EQ(whats(parts.matching.exceptions()), (std::vector<std::string>{"n"}));
  EXPECT_TRUE(parts.rest.empty());
}

TEST(ExceptionGroup, SplitOnStdExceptionMatchesEveryStandardLeafNotGroupsWhole) {
  const std::exception_ptr odd = std::make_exception_ptr(42);
  const exception_group g("top", {ep<network_error>("n"), odd, group_ptr("inner", {ep<parse_error>("p"), odd})});
  const auto parts = g.split<std::exception>();
  ASSERT_EQ(parts.matching.size(), 2u);
  EXPECT_EQ(weft::describe(parts.matching.exceptions()[0]), "n");
  const exception_group inner_m = group_of(parts.matching.exceptions()[1]);  // recursed into, not taken whole
  EXPECT_EQ(whats(inner_m.exceptions()), (std::vector<std::string>{"p"}));
  // rest: the non-standard leaves, with their nesting
  ASSERT_EQ(parts.rest.size(), 2u);
  EXPECT_EQ(parts.rest.exceptions()[0], odd);
  EXPECT_EQ(group_of(parts.rest.exceptions()[1]).exceptions(), (ptrs{odd}));
}

TEST(ExceptionGroup, SplitOnRuntimeErrorLeavesLogicErrors) {
  const exception_group g("top", {ep<network_error>("n"), ep<parse_error>("p"), ep<weft::timeout_error>("t")});
  const auto parts = g.split<std::runtime_error>();
  EXPECT_EQ(whats(parts.matching.exceptions()), (std::vector<std::string>{"n", "t"}));
  EXPECT_EQ(whats(parts.rest.exceptions()), (std::vector<std::string>{"p"}));
}

TEST(ExceptionGroup, SplitOnANonStandardTypeCatchesIt) {
  const std::exception_ptr odd = std::make_exception_ptr(42);
  const exception_group g("top", {ep<network_error>("n"), odd});
  const auto parts = g.split<int>();
  EXPECT_EQ(parts.matching.exceptions(), (ptrs{odd}));
  EXPECT_EQ(whats(parts.rest.exceptions()), (std::vector<std::string>{"n"}));
}

TEST(ExceptionGroup, SplitOnExceptionGroupTakesNestedGroupsWhole) {
  const std::exception_ptr inner = group_ptr("inner", {ep<network_error>("n")});
  const std::exception_ptr leaf = ep<parse_error>("p");
  const exception_group g("top", {leaf, inner});
  const auto parts = g.split<exception_group>();
  EXPECT_EQ(parts.matching.exceptions(), (ptrs{inner}));
  EXPECT_EQ(parts.rest.exceptions(), (ptrs{leaf}));
}

TEST(ExceptionGroup, SplitOnADerivedGroupTypeFindsItAtAnyDepth) {
  const std::exception_ptr batch = std::make_exception_ptr(batch_error("batch 7", {ep<network_error>("n")}));
  const std::exception_ptr plain = group_ptr("plain", {ep<parse_error>("p"), batch});
  const exception_group g("top", {plain, ep<network_error>("m")});
  const auto parts = g.split<batch_error>();
  ASSERT_EQ(parts.matching.size(), 1u);
  const exception_group plain_m = group_of(parts.matching.exceptions()[0]);
  EXPECT_EQ(plain_m.message(), "plain");
  EXPECT_EQ(plain_m.exceptions(), (ptrs{batch}));  // the batch_error itself, type and all
  try {
    std::rethrow_exception(plain_m.exceptions()[0]);
  } catch (const batch_error& b) {
    EXPECT_EQ(b.message(), "batch 7");
  }
  ASSERT_EQ(parts.rest.size(), 2u);
  EXPECT_EQ(whats(group_of(parts.rest.exceptions()[0]).exceptions()), (std::vector<std::string>{"p"}));
}

TEST(ExceptionGroup, SplitIfUsesThePredicateOnLeavesOnly) {
  const exception_group g("top", {ep<network_error>("keep 1"), group_ptr("inner", {ep<parse_error>("drop"),
                                                                                   std::make_exception_ptr(3)})});
  int calls = 0;
  const auto parts = g.split_if([&](const std::exception_ptr& leaf) {
    ++calls;
    EXPECT_FALSE(is_group(leaf));
    return weft::describe(leaf).find("keep") == 0 || weft::describe(leaf) == "unknown exception";
  });
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(parts.matching.size(), 2u);
  EXPECT_EQ(whats(group_of(parts.matching.exceptions()[1]).exceptions()),
            (std::vector<std::string>{"unknown exception"}));
  EXPECT_EQ(whats(group_of(parts.rest.exceptions()[0]).exceptions()), (std::vector<std::string>{"drop"}));
  // Everything, non-standard leaves too.
  const auto all = g.split_if([](const std::exception_ptr&) { return true; });
  EXPECT_TRUE(all.rest.empty());
  EXPECT_EQ(all.matching.exceptions(), g.exceptions());
}

TEST(ExceptionGroup, SplitIfPropagatesWhatThePredicateThrows) {
  const exception_group g("top", {ep<network_error>("n")});
  EXPECT_THROW(g.split_if([](const std::exception_ptr&) -> bool { throw parse_error("bad predicate"); }),
               parse_error);
}

// --- handle --------------------------------------------------------------

TEST(ExceptionGroup, HandleCallsFnForEachMatchDepthFirstAndReturnsTheRest) {
  const std::exception_ptr p1 = ep<parse_error>("p1");
  const exception_group g("top", {ep<network_error>("n1"), group_ptr("inner", {ep<dns_error>("d1"), p1}),
                                  ep<network_error>("n2")});
  std::vector<std::string> handled;
  const exception_group rest = g.handle<network_error>([&](const network_error& e) { handled.push_back(e.what()); });
  EXPECT_EQ(handled, (std::vector<std::string>{"n1", "d1", "n2"}));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest.message(), "top");
  EXPECT_EQ(group_of(rest.exceptions()[0]).exceptions(), (ptrs{p1}));
  EXPECT_THROW(rest.rethrow_if_not_empty(), exception_group);
}

TEST(ExceptionGroup, HandlingEverythingLeavesNothingToRethrow) {
  const exception_group g("top", {ep<network_error>("n1"), group_ptr("inner", {ep<dns_error>("d1")})});
  int handled = 0;
  const exception_group rest = g.handle<std::exception>([&](const std::exception&) { ++handled; });
  EXPECT_EQ(handled, 2);
  EXPECT_TRUE(rest.empty());
  EXPECT_NO_THROW(rest.rethrow_if_not_empty());
}

TEST(ExceptionGroup, RethrowIfNotEmptyThrowsTheGroupItself) {
  const exception_group g("top", {ep<parse_error>("p")});
  try {
    g.handle<network_error>([](const network_error&) {}).rethrow_if_not_empty();
    FAIL() << "nothing thrown";
  } catch (const exception_group& rest) {
    EXPECT_EQ(rest.exceptions(), g.exceptions());
    EXPECT_STREQ(rest.what(), g.what());
  }
}

TEST(ExceptionGroup, HandleAddsWhatFnThrowsToTheRestAndHandlesTheOthers) {
  const exception_group g("top", {ep<network_error>("n1"), ep<parse_error>("p1"), ep<network_error>("n2"),
                                  ep<network_error>("n3")});
  std::vector<std::string> handled;
  const exception_group rest = g.handle<network_error>([&](const network_error& e) {
    handled.push_back(e.what());
    if (std::string(e.what()) == "n2") throw weft::timeout_error("handler for n2 timed out");
  });
  EXPECT_EQ(handled, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(whats(rest.exceptions()), (std::vector<std::string>{"p1", "handler for n2 timed out"}));
  EXPECT_EQ(rest.message(), "top");
}

TEST(ExceptionGroup, HandleFnThatRethrowsLeavesTheLeafInPlace) {
  const std::exception_ptr n2 = ep<network_error>("n2");
  const exception_group g("top", {ep<network_error>("n1"), group_ptr("inner", {n2, ep<parse_error>("p")})});
  const exception_group rest = g.handle<network_error>([](const network_error& e) {
    if (std::string(e.what()) == "n2") throw;  // not mine after all
  });
  ASSERT_EQ(rest.size(), 1u);
  const exception_group inner = group_of(rest.exceptions()[0]);
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner.exceptions()[0], n2);  // the leaf itself, where it was
  EXPECT_EQ(weft::describe(inner.exceptions()[1]), "p");
}

TEST(ExceptionGroup, HandleOnAGroupTypeGetsTheNestedGroups) {
  const exception_group g("top", {group_ptr("a", {ep<network_error>("n")}), ep<parse_error>("p"),
                                  group_ptr("b", {})});
  std::vector<std::string> seen;
  const exception_group rest = g.handle<exception_group>([&](const exception_group& e) { seen.push_back(e.message()); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(whats(rest.exceptions()), (std::vector<std::string>{"p"}));
}

// --- flatten -------------------------------------------------------------

TEST(ExceptionGroup, FlattenGivesTheLeavesDepthFirst) {
  const std::exception_ptr a = ep<network_error>("a");
  const std::exception_ptr b = ep<parse_error>("b");
  const std::exception_ptr c = std::make_exception_ptr(3);
  const std::exception_ptr d = ep<dns_error>("d");
  const exception_group g("top", {a, group_ptr("x", {b, group_ptr("y", {c}), group_ptr("empty", {})}), d});
  const exception_group flat = g.flatten();
  EXPECT_EQ(flat.message(), "top");
  EXPECT_EQ(flat.exceptions(), (ptrs{a, b, c, d}));
  EXPECT_EQ(g.size(), 3u);  // the original is untouched
  EXPECT_TRUE(exception_group().flatten().empty());
}

// --- threads -------------------------------------------------------------

TEST(ExceptionGroup, ManyThreadsMayReadOneGroupAtOnce) {
  ptrs members;
  for (int i = 0; i < 50; ++i) {
    members.push_back(i % 2 == 0 ? ep<network_error>("n") : group_ptr("g", {ep<parse_error>("p"), ep<dns_error>("d")}));
  }
  const exception_group g("shared", members);
  const std::string expected_what = g.what();
  constexpr int threads = 4;
  weft_test::latch start(threads);
  std::vector<std::thread> ts;
  std::vector<int> ok(threads, 0);
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      start.arrive_and_wait_within();
      for (int round = 0; round < 20; ++round) {
        const exception_group copy = g;
        const auto parts = copy.split<network_error>();
        const exception_group rest = g.handle<parse_error>([](const parse_error&) {});
        const bool good = parts.matching.flatten().size() == 50 && parts.rest.flatten().size() == 25 &&
                          rest.flatten().size() == 50 && expected_what == g.what();
        if (good) ++ok[t];
      }
    });
  }
  for (auto& t : ts) t.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(ok[t], 20) << "thread " << t;
}

}  // namespace
