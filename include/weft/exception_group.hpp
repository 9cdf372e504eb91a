// weft/exception_group.hpp: several failures carried as one exception, and
// asyncio's `except*` over them.
//
// When several operations run together and more than one fails (the
// children of a task group, the items of a batch), no single exception
// says what happened. An exception_group holds every failure, in order,
// as std::exception_ptr (so nothing is sliced), and may hold other groups
// (a batch inside a task group). split<E>() and handle<E>() take it apart
// by type the way `except* E:` does; flatten() gives the leaves alone.
//
//   try {
//     run_batch().get();
//   } catch (const weft::exception_group& g) {
//     g.handle<network_error>([](const network_error& e) { log_and_retry_later(e); })
//         .rethrow_if_not_empty();   // everything else goes on up
//   }
//
// Terms: a group's *members* are its exceptions() in order; a member that is
// itself an exception_group is a *nested group*; any other member is a
// *leaf*. Matching (split, handle, split_if) looks at leaves and recurses
// into nested groups, keeping their nesting and their messages, except
// that E = exception_group (or a class derived from it) matches nested
// groups as a whole (see split()).
//
// Thread-safety: an exception_group is immutable after construction. Every
// member function is const and may be called from any number of threads
// at once, on one object or on copies (copies share the members). Copying
// never throws, as an exception type's copy should not.
#ifndef WEFT_EXCEPTION_GROUP_HPP
#define WEFT_EXCEPTION_GROUP_HPP

#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {
inline namespace v1 {
namespace detail {

/// Where split() puts one member of a group.
enum class split_verdict {
  match,    ///< on the matching side, as it is
  rest,     ///< on the rest side, as it is
  recurse,  ///< a nested group: split it, and put its parts on each side
};

/// Decides, member by member, where split() puts them. sort() is called
/// once per member, depth first, in order; it may throw (split() then
/// throws that).
class member_sorter {
 public:
  virtual split_verdict sort(const std::exception_ptr& member) const = 0;

 protected:
  ~member_sorter() = default;
};

}  // namespace detail

/// Several exceptions thrown as one (Python's ExceptionGroup).
///
/// Derives from std::runtime_error, as weft's other run-time errors do
/// (executor_shutdown, cancelled_error, timeout_error): a group is "these
/// operations failed while running", so code that only catches
/// std::runtime_error (or std::exception) still catches it, and the base
/// holds the what() text in a copy that cannot throw. Catch
/// `const weft::exception_group&` before `const std::runtime_error&`.
///
/// An empty group (no members) is allowed: it is what split() returns for
/// a side nothing went to, so `if (!part.empty())` asks whether there is
/// one. A derived class may be thrown and matched (split<my_group>()), but
/// the groups split(), handle() and flatten() make are plain
/// exception_groups (with the same message).
///
/// Immutable; thread-safe (see the file comment).
class exception_group : public std::runtime_error {
 public:
  /// The two sides of a split(): the members that matched and the rest,
  /// each a group with the message of the group split (empty when nothing
  /// went to that side).
  struct split_result;

  /// An empty group with an empty message. Throws std::bad_alloc.
  exception_group();

  /// A group of `exceptions`, in that order, described by `message` ("3 of
  /// 5 fetches failed"). Throws std::invalid_argument if a member is null
  /// (naming its index), std::bad_alloc.
  exception_group(std::string message, std::vector<std::exception_ptr> exceptions);

  /// The message given at construction (what() lists the members too).
  /// Never throws.
  const std::string& message() const noexcept;

  /// The members, in order. Never throws.
  const std::vector<std::exception_ptr>& exceptions() const noexcept;

  /// How many members (a nested group counts as one). Never throws.
  std::size_t size() const noexcept { return exceptions().size(); }

  /// True when the group has no members. Never throws.
  bool empty() const noexcept { return exceptions().empty(); }

  // what(), inherited: the message, the number of members and one line per
  // member, weft::describe() of it; a nested group's lines are indented
  // under its own:
  //
  //   3 of 5 fetches failed (3 exceptions)
  //     [0] service unavailable: key 302
  //     [1] shard 2 (2 exceptions)
  //         [0] not found: key 1300
  //         [1] unknown exception
  //     [2] deadline exceeded
  //
  // Bounded: at most max_listed members per group and about max_what_chars
  // characters in all, then "... and N more". Computed once, at
  // construction.

  /// How many members what() lists per group.
  static constexpr std::size_t max_listed = 20;
  /// About how long what() may grow before it stops listing.
  static constexpr std::size_t max_what_chars = 4096;

  /// Splits the group like `except* E:`. Every leaf that a `catch (const
  /// E&)` would catch goes to `matching`, every other leaf to `rest`; a
  /// nested group is split the same way, and its parts (with its message)
  /// take its place on each side, so each side keeps the nesting of the
  /// original. A nested group whose members all go to one side goes there
  /// as it is (the same exception_ptr); an empty nested group goes nowhere
  /// (it holds no failure).
  ///
  /// - E = std::exception or std::runtime_error (bases of exception_group):
  ///   nested groups are still recursed into, never matched as a whole, so
  ///   `matching` gets every leaf of that type.
  /// - E = exception_group, or a class derived from it: a nested group of
  ///   that type goes to `matching` as a whole; every leaf goes to `rest`.
  ///   (The group itself is never matched as a whole, unlike Python's.)
  /// - Leaves that do not derive from std::exception (`throw 42;`) go to
  ///   `rest` unless E catches them (E = int); split_if() with a predicate
  ///   that is always true matches everything.
  ///
  /// Throws std::bad_alloc.
  template <class E>
  split_result split() const;

  /// As split(), with `pred(const std::exception_ptr& leaf) -> bool`
  /// deciding for each leaf (true: matching). Nested groups are always
  /// recursed into; `pred` never sees one. Throws what `pred` throws,
  /// std::bad_alloc.
  template <class Pred>
  split_result split_if(Pred&& pred) const;

  /// Handles the E's in the group, like an `except* E:` block: calls
  /// `fn(const E&)` for each member split<E>() would put in `matching`
  /// (depth first, in order) and returns the rest (split<E>().rest), which
  /// is empty when everything was handled; rethrow_if_not_empty() throws it
  /// on.
  ///
  /// If `fn` throws, the other matches are still handled, and nothing is
  /// lost: a new exception from `fn` is added at the end of the returned
  /// group (as a member of its own), as an exception raised in an `except*`
  /// block joins what propagates; `fn` rethrowing the leaf it was given
  /// (`throw;`) leaves that leaf unhandled, in its place in the rest.
  /// Throws std::bad_alloc.
  template <class E, class F>
  exception_group handle(F&& fn) const;

  /// A group with the same message whose members are the leaves of this
  /// group and of every nested group, depth first, in order. Throws
  /// std::bad_alloc.
  exception_group flatten() const;

  /// Throws a copy of *this (as an exception_group) unless the group is
  /// empty; returns otherwise. For what handle() and split() leave over.
  void rethrow_if_not_empty() const;

 private:
  struct data;

  split_result split_by(const detail::member_sorter& sorter) const;

  std::shared_ptr<const data> data_;  // null for an empty group with no message
};

struct exception_group::split_result {
  exception_group matching;  ///< the members that matched; empty if none did
  exception_group rest;      ///< the others; empty if every member matched
};

namespace detail {

// E is a group type: a nested group of type E matches as a whole; other
// nested groups are recursed into; leaves never match.
template <class E, class OnMatch>
split_verdict sort_member(const std::exception_ptr& member, OnMatch& on_match, std::true_type) {
  try {
    std::rethrow_exception(member);
  } catch (const exception_group& g) {
    const E* e = dynamic_cast<const E*>(&g);
    if (e == nullptr) return split_verdict::recurse;
    return on_match(*e, member) ? split_verdict::match : split_verdict::rest;
  } catch (...) {
    return split_verdict::rest;
  }
}

// Any other E: nested groups are recursed into first, so an E that is a
// base of exception_group (std::exception) matches leaves only.
template <class E, class OnMatch>
split_verdict sort_member(const std::exception_ptr& member, OnMatch& on_match, std::false_type) {
  try {
    std::rethrow_exception(member);
  } catch (const exception_group&) {
    return split_verdict::recurse;
  } catch (const E& e) {
    return on_match(e, member) ? split_verdict::match : split_verdict::rest;
  } catch (...) {
    return split_verdict::rest;
  }
}

template <class E>
using is_group_type = std::is_base_of<exception_group, E>;

template <class E, class OnMatch>
class type_sorter final : public member_sorter {
 public:
  explicit type_sorter(OnMatch& on_match) : on_match_(on_match) {}
  split_verdict sort(const std::exception_ptr& member) const override {
    return sort_member<E>(member, on_match_, is_group_type<E>());
  }

 private:
  OnMatch& on_match_;
};

struct always_match {
  template <class E>
  bool operator()(const E&, const std::exception_ptr&) const noexcept {
    return true;
  }
};

template <class Pred>
class predicate_sorter final : public member_sorter {
 public:
  explicit predicate_sorter(Pred& pred) : pred_(pred) {}
  split_verdict sort(const std::exception_ptr& member) const override {
    try {
      std::rethrow_exception(member);
    } catch (const exception_group&) {
      return split_verdict::recurse;
    } catch (...) {
    }
    return pred_(static_cast<const std::exception_ptr&>(member)) ? split_verdict::match : split_verdict::rest;
  }

 private:
  Pred& pred_;
};

// handle()'s call of fn for one match, inside split's catch of that match:
// a new exception from fn is kept for the rest; fn rethrowing the match
// itself (`throw;`: the same exception object, so an equal exception_ptr)
// leaves it in the rest, in place.
template <class E, class F>
class handling {
 public:
  handling(F& fn, std::vector<std::exception_ptr>& raised) : fn_(fn), raised_(raised) {}
  bool operator()(const E& e, const std::exception_ptr& member) {
    try {
      fn_(e);
      return true;
    } catch (...) {
      std::exception_ptr x = std::current_exception();
      if (x == member) return false;
      raised_.push_back(std::move(x));
      return true;
    }
  }

 private:
  F& fn_;
  std::vector<std::exception_ptr>& raised_;
};

/// `g` with `more` added at the end of its members (handle()'s rest and
/// what its fn threw). Throws std::bad_alloc.
exception_group append_members(const exception_group& g, std::vector<std::exception_ptr> more);

}  // namespace detail

template <class E>
exception_group::split_result exception_group::split() const {
  static_assert(!std::is_reference<E>::value, "split<E>: E must not be a reference type");
  detail::always_match m;
  return split_by(detail::type_sorter<E, detail::always_match>(m));
}

template <class Pred>
exception_group::split_result exception_group::split_if(Pred&& pred) const {
  return split_by(detail::predicate_sorter<typename std::remove_reference<Pred>::type>(pred));
}

template <class E, class F>
exception_group exception_group::handle(F&& fn) const {
  static_assert(!std::is_reference<E>::value, "handle<E>: E must not be a reference type");
  using fn_t = typename std::remove_reference<F>::type;
  std::vector<std::exception_ptr> raised;
  detail::handling<E, fn_t> h(fn, raised);
  split_result parts = split_by(detail::type_sorter<E, detail::handling<E, fn_t>>(h));
  if (raised.empty()) return std::move(parts.rest);
  return detail::append_members(parts.rest, std::move(raised));
}

}  // namespace v1
}  // namespace weft

#endif  // WEFT_EXCEPTION_GROUP_HPP
