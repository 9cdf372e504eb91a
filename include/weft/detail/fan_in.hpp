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

#include <array>
#include <atomic>
#include <cstddef>
#include <utility>
#include <vector>

#include "weft/detail/shared_state.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

template <class Node, std::size_t N>
struct node_storage {  // a fixed number of inputs (variadic when_all): inline
  explicit node_storage(std::size_t) noexcept {}
  Node* data() noexcept { return nodes.data(); }
  std::size_t size() const noexcept { return N; }
  std::array<Node, N> nodes;
};
template <class Node>
struct node_storage<Node, 0> {  // a range: on the heap
  explicit node_storage(std::size_t n) : nodes(n) {}
  Node* data() noexcept { return nodes.data(); }
  std::size_t size() const noexcept { return nodes.size(); }
  std::vector<Node> nodes;
};

/// Policy interface (static): `arrived(fan_in&, index, input)` may decide
/// early; `finish(fan_in&)` runs once, after the last input arrived.
/// `N` is the number of inputs when known at compile time, 0 otherwise.
template <class Out, class Policy, std::size_t N = 0>
class fan_in final : public state<Out> {
 public:
  // An arrival may complete this state, whose callback may be the node of
  // another fan-in (when_all of a when_all's future), and so on: nested
  // fan-ins would complete as a recursion as deep as the nesting. So the
  // arrival goes through arrive_or_defer(), which bounds it.
  struct node final : callback_node, deferred_arrival {
    fan_in* owner = nullptr;
    state_base* input = nullptr;
    bool deferrable = false;  // arrived inside fire_deferrable(), not put off
    void fire(state_base*) noexcept override { arrive_or_defer(*this); }
    // The input's task is returning: if this arrival completes the fan-in
    // right here, its continuation may be deferred as the input's would
    // be. Not if the arrival is put off: it then runs later, elsewhere.
    void fire_deferrable(state_base*) noexcept override {
      deferrable = !arrival_must_wait();
      arrive_or_defer(*this);
    }
    void arrive() noexcept override { owner->arrived(*this); }
  };

  fan_in(executor_ref ex, std::size_t n) : state<Out>(ex, 2), nodes_(n), remaining_(n) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_.data()[i].owner = this;
  }

  /// Takes over `input` as input number `i`. Call for every i, then start().
  void set_input(std::size_t i, state_base* input) noexcept { nodes_.data()[i].input = input; }

  /// Attaches every node. Inputs may arrive (and the outcome be built) before
  /// this returns, but the last arrival, which drops the producer reference,
  /// cannot happen before the last attach, so the nodes outlive the loop.
  void start() noexcept {
    for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_.data()[i].input->attach(&nodes_.data()[i]);
  }

  /// Claims the right to complete this state; true for exactly one caller.
  bool decide() noexcept { return !decided_.exchange(true, std::memory_order_acq_rel); }

  /// state<Out>::set_value / set_error for the policies: deferrable when
  /// the last input arrived deferrable (see node::fire_deferrable()).
  template <class... A>
  void set_value(A&&... a) {
    this->set_value_deferrable_if(finishing_deferrable_, std::forward<A>(a)...);
  }
  void set_error(std::exception_ptr e) noexcept { this->set_error_deferrable_if(finishing_deferrable_, std::move(e)); }

  std::size_t size() const noexcept { return nodes_.size(); }
  state_base* input(std::size_t i) noexcept { return nodes_.data()[i].input; }

 private:
  void arrived(node& nd) noexcept {
    Policy::arrived(*this, static_cast<std::size_t>(&nd - nodes_.data()), nd.input);
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Only the last arrival gets here, once: a plain member will do.
      finishing_deferrable_ = nd.deferrable;
      Policy::finish(*this);
      for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_.data()[i].input->release();
      this->release();
    }
  }

  node_storage<node, N> nodes_;
  std::atomic<std::size_t> remaining_;
  std::atomic<bool> decided_{false};
  bool finishing_deferrable_ = false;
};

}  // namespace detail
}  // namespace v1
}  // namespace weft

#endif  // WEFT_DETAIL_FAN_IN_HPP
