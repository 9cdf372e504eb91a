// exception_group: construction, what(), and the walk behind split(),
// handle() and flatten().
#include "weft/exception_group.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {

constexpr std::size_t exception_group::max_listed;
constexpr std::size_t exception_group::max_what_chars;

// Shared, never modified: copying a group (as every throw and catch by
// value does) copies one pointer and cannot throw.
struct exception_group::data {
  std::string message;
  std::vector<std::exception_ptr> members;
};

namespace {

const std::string& no_message() {
  static const std::string empty;
  return empty;
}

const std::vector<std::exception_ptr>& no_members() {
  static const std::vector<std::exception_ptr> empty;
  return empty;
}

// Indents every line but the first of `text` by `indent`.
std::string indent_continuation(const std::string& text, const char* indent) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

// Cuts `s` to at most `n` bytes, not inside a UTF-8 sequence, and marks the cut.
void cut(std::string& s, std::size_t n) {
  if (s.size() <= n) return;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;
  s.resize(n);
  s += " ...";
}

std::string count_of(std::size_t n) { return std::to_string(n) + (n == 1 ? " exception" : " exceptions"); }

// what(): the header line, then one line per member until max_listed
// members or max_what_chars characters are reached. A nested group's
// description is its own (already bounded) what(), indented under its line.
std::string make_what(const std::string& message, const std::vector<std::exception_ptr>& members) {
  std::string out = message.empty() ? std::string("exception group") : message;
  out += " (" + count_of(members.size()) + ")";
  const std::size_t n = members.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i == exception_group::max_listed || out.size() >= exception_group::max_what_chars) {
      out += "\n  ... and " + std::to_string(n - i) + " more";
      break;
    }
    std::string line = "\n  [" + std::to_string(i) + "] " + indent_continuation(describe(members[i]), "    ");
    // At least a few words of the first member that does not fit.
    cut(line, std::max<std::size_t>(exception_group::max_what_chars - out.size(), 64));
    out += line;
  }
  return out;
}

const std::vector<std::exception_ptr>& checked(const std::vector<std::exception_ptr>& members) {
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!members[i]) {
      throw std::invalid_argument("weft::exception_group: exceptions[" + std::to_string(i) +
                                  "] is a null exception_ptr");
    }
  }
  return members;
}

std::exception_ptr as_ptr(exception_group g) { return std::make_exception_ptr(std::move(g)); }

// One side of a nested group's split, in the place of the nested group:
// the group itself when that side kept every member (so a nested group
// that went all one way keeps its identity and type), nothing when it got
// none, otherwise a new group with the nested group's message.
void place(std::vector<std::exception_ptr>& side, const std::exception_ptr& original, const exception_group& nested,
           std::vector<std::exception_ptr>&& part) {
  if (part.empty()) return;
  if (part == nested.exceptions()) {
    side.push_back(original);
    return;
  }
  side.push_back(as_ptr(exception_group(nested.message(), std::move(part))));
}

void split_members(const std::vector<std::exception_ptr>& members, const detail::member_sorter& sorter,
                   std::vector<std::exception_ptr>& matching, std::vector<std::exception_ptr>& rest) {
  for (const std::exception_ptr& m : members) {
    switch (sorter.sort(m)) {
      case detail::split_verdict::match:
        matching.push_back(m);
        break;
      case detail::split_verdict::rest:
        rest.push_back(m);
        break;
      case detail::split_verdict::recurse:
        // Inside the handler: the nested group is only certain to live
        // while it is being handled (a rethrow may throw a copy).
        try {
          std::rethrow_exception(m);
        } catch (const exception_group& nested) {
          std::vector<std::exception_ptr> nested_matching;
          std::vector<std::exception_ptr> nested_rest;
          split_members(nested.exceptions(), sorter, nested_matching, nested_rest);
          place(matching, m, nested, std::move(nested_matching));
          place(rest, m, nested, std::move(nested_rest));
        } catch (...) {
          rest.push_back(m);  // not a group after all: a leaf nothing matched
        }
        break;
    }
  }
}

void flatten_into(const std::vector<std::exception_ptr>& members, std::vector<std::exception_ptr>& leaves) {
  for (const std::exception_ptr& m : members) {
    try {
      std::rethrow_exception(m);
    } catch (const exception_group& nested) {
      flatten_into(nested.exceptions(), leaves);
      continue;
    } catch (...) {
    }
    leaves.push_back(m);
  }
}

}  // namespace

exception_group::exception_group() : std::runtime_error(make_what(std::string(), no_members())) {}

exception_group::exception_group(std::string message, std::vector<std::exception_ptr> exceptions)
    : std::runtime_error(make_what(message, checked(exceptions))),
      data_(std::make_shared<data>(data{std::move(message), std::move(exceptions)})) {}

const std::string& exception_group::message() const noexcept { return data_ ? data_->message : no_message(); }

const std::vector<std::exception_ptr>& exception_group::exceptions() const noexcept {
  return data_ ? data_->members : no_members();
}

exception_group::split_result exception_group::split_by(const detail::member_sorter& sorter) const {
  std::vector<std::exception_ptr> matching;
  std::vector<std::exception_ptr> rest;
  split_members(exceptions(), sorter, matching, rest);
  // A side that kept every member is this group (no new what() to build).
  auto side = [this](std::vector<std::exception_ptr>&& members) {
    if (members == exceptions()) return *this;
    return exception_group(message(), std::move(members));
  };
  return split_result{side(std::move(matching)), side(std::move(rest))};
}

exception_group exception_group::flatten() const {
  std::vector<std::exception_ptr> leaves;
  flatten_into(exceptions(), leaves);
  return exception_group(message(), std::move(leaves));
}

void exception_group::rethrow_if_not_empty() const {
  if (!empty()) throw exception_group(*this);
}

namespace detail {

exception_group append_members(const exception_group& g, std::vector<std::exception_ptr> more) {
  std::vector<std::exception_ptr> members;
  members.reserve(g.size() + more.size());
  members.insert(members.end(), g.exceptions().begin(), g.exceptions().end());
  members.insert(members.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return exception_group(g.message(), std::move(members));
}

}  // namespace detail
}  // namespace v1
}  // namespace weft
