// weft/detail/fan_in.hpp: the state behind when_all, when_all_settled and
// when_any.
//
// One object gathers N inputs: it holds one callback node per input, keeps
// every input's state alive until all have arrived, and then builds its own
// outcome straight from those states (values are moved once, from the input
// to the output). No thread is started and no lock is taken: inputs arrive
// through an atomic countdown, and an early decision (the first error for
// when_all, the first outcome for when_any) is claimed with one exchange.
//
// Memory ordering: each node sees its input ready through the input's own
// acquire; the countdown's acq_rel chain then makes every input's outcome
// visible to whichever node arrives last and builds the result.
#ifndef WEFT_DETAIL_FAN_IN_HPP
#define WEFT_DETAIL_FAN_IN_HPP

#include <atomic>
#include <cstddef>
#include <utility>
#include <vector>

#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

/// Policy interface (static): `arrived(fan_in&, index, input)` may decide
/// early; `finish(fan_in&)` runs once, after the last input arrived.
template <class Out, class Policy>
class fan_in final : public state<Out> {
 public:
  struct node final : callback_node {
    fan_in* owner = nullptr;
    state_base* input = nullptr;
    void fire(state_base*) noexcept override { owner->arrived(*this); }
  };

  fan_in(executor* ex, std::size_t n) : state<Out>(ex, 2), nodes_(n), remaining_(n) {
    for (node& nd : nodes_) nd.owner = this;
  }

  /// Takes over `input` as input number `i`. Call for every i, then start().
  void set_input(std::size_t i, state_base* input) noexcept { nodes_[i].input = input; }

  /// Attaches every node. Inputs may arrive (and the outcome be built) before
  /// this returns.
  void start() noexcept {
    // Keep the node array alive while attaching even if everything arrives
    // before the loop ends: the producer reference is only dropped by the
    // last arrival, which cannot happen before the last attach.
    for (node& nd : nodes_) nd.input->attach(&nd);
  }

  /// Claims the right to complete this state; true for exactly one caller.
  bool decide() noexcept { return !decided_.exchange(true, std::memory_order_acq_rel); }

  std::size_t size() const noexcept { return nodes_.size(); }
  state_base* input(std::size_t i) const noexcept { return nodes_[i].input; }

 private:
  void arrived(node& nd) noexcept {
    Policy::arrived(*this, static_cast<std::size_t>(&nd - nodes_.data()), nd.input);
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      Policy::finish(*this);
      for (node& n : nodes_) n.input->release();
      this->release();
    }
  }

  std::vector<node> nodes_;
  std::atomic<std::size_t> remaining_;
  std::atomic<bool> decided_{false};
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_DETAIL_FAN_IN_HPP
