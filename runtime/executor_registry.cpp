// The executor registry (see executor_registry.hpp).
#include "executor_registry.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "weft/errors.hpp"

namespace weft {
inline namespace v1 {
namespace detail {

namespace {

// 256 slots a chunk, at most 65,536 chunks: 16M executors alive at once.
constexpr std::uint32_t chunk_bits = 8;
constexpr std::uint32_t chunk_size = 1u << chunk_bits;
constexpr std::uint32_t max_chunks = 1u << 16;

// A cache line's size each, so one executor's in-flight count shares its
// line with at most one neighbour's (C++14's new cannot over-align).
struct slot {
  std::atomic<std::uint32_t> generation{1};  // never 0, so a reference is never null
  std::atomic<std::uint32_t> in_flight{0};   // calls between the check and execute()'s return
  std::atomic<executor*> target{nullptr};
  char padding[64 - 2 * sizeof(std::atomic<std::uint32_t>) - sizeof(std::atomic<executor*>)];
};

// Chunks are allocated once and never freed: a stale reference reads a
// slot that still exists. Acquire/release: a chunk is filled in before its
// pointer is published (under the registry's mutex, but read without it).
std::atomic<slot*> chunks[max_chunks];

struct free_slots {
  std::mutex mutex;
  std::vector<std::uint32_t> free;
  std::uint32_t next = 0;
};

free_slots& registry() {
  static auto* r = new free_slots;  // outlives every executor, even static ones
  return *r;
}

slot& slot_at(std::uint32_t index) noexcept {
  return chunks[index >> chunk_bits].load(std::memory_order_acquire)[index & (chunk_size - 1)];
}

std::uint64_t encode(std::uint32_t generation, std::uint32_t index) noexcept {
  return (static_cast<std::uint64_t>(generation) << 32) | (static_cast<std::uint64_t>(index) << 1);
}
std::uint32_t index_of(std::uint64_t bits) noexcept { return static_cast<std::uint32_t>(bits & 0xffffffffu) >> 1; }
std::uint32_t generation_of(std::uint64_t bits) noexcept { return static_cast<std::uint32_t>(bits >> 32); }

std::uint32_t take_slot() {
  free_slots& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.free.empty()) {
    const std::uint32_t index = r.free.back();
    r.free.pop_back();
    return index;
  }
  if (r.next == max_chunks * chunk_size) throw std::length_error("weft: too many executors alive at once");
  const std::uint32_t index = r.next;
  if ((index & (chunk_size - 1)) == 0) chunks[index >> chunk_bits].store(new slot[chunk_size], std::memory_order_release);
  ++r.next;
  return index;
}

void give_back_slot(std::uint32_t index) noexcept {
  free_slots& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  try {
    r.free.push_back(index);
  } catch (...) {
    // No memory to remember it: the slot is lost, not reused. Harmless.
  }
}

// The calls of this thread between the check and execute()'s return, as a
// list through their guards on its stack: retire() must not wait for its
// own thread.
struct in_flight_call {
  slot* s;
  in_flight_call* outer;
};
__attribute__((tls_model("initial-exec"))) thread_local in_flight_call* calls_here = nullptr;

std::uint32_t in_flight_here(const slot& s) noexcept {
  std::uint32_t n = 0;
  for (const in_flight_call* c = calls_here; c != nullptr; c = c->outer) n += c->s == &s ? 1u : 0u;
  return n;
}

// Ends a registration (the slot's generation moves on) and waits for the
// calls that passed the check before that. Idempotent.
void end_registration(std::uint64_t bits) noexcept {
  if (bits == 0 || (bits & 1u) != 0) return;  // unregistered, or immortal
  const std::uint32_t index = index_of(bits);
  const std::uint32_t generation = generation_of(bits);
  slot& s = slot_at(index);
  // Only the executor that owns the registration retires it, and one thread
  // at a time (its destructor), so a load then a store do.
  if (s.generation.load(std::memory_order_seq_cst) != generation) return;  // retired already
  // A generation about to wrap would make some old reference match again:
  // such a slot is retired for good instead (after 2^32 - 1 executors in it).
  const bool worn_out = generation == 0xffffffffu;
  s.generation.store(worn_out ? 0u : generation + 1, std::memory_order_seq_cst);
  // Calls this very thread has in flight on the slot (an abandon cascade
  // inside execute() that ended up destroying the executor) are not waited
  // for: they cannot leave before this returns.
  const std::uint32_t own = in_flight_here(s);
  while (s.in_flight.load(std::memory_order_seq_cst) != own) std::this_thread::yield();
  s.target.store(nullptr, std::memory_order_relaxed);
  if (!worn_out) give_back_slot(index);
}

[[noreturn]] void refuse_destroyed(unique_task& task) {
  const char* const what = "weft: the executor was destroyed before the task ran";
  task.abandon(std::make_exception_ptr(executor_shutdown(what)));
  throw executor_shutdown(what);
}

}  // namespace

void executor_registry::mark_immortal(executor& ex) noexcept {
  // The slot goes back for reuse; the registration word no longer names it.
  end_registration(ex.registration_);
  ex.registration_ = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&ex)) | 1u;
}

void execute_registered(std::uint64_t bits, unique_task&& task, bool defer) {
  if (bits == 0) {
    task.abandon(std::make_exception_ptr(std::invalid_argument("weft: no executor to run the task on")));
    throw std::invalid_argument("weft: no executor to run the task on");
  }
  if (execute_on_own_pool(bits, task, defer)) return;
  slot& s = slot_at(index_of(bits));
  // seq_cst, both: see the header (retire() stores the generation, then
  // loads the count; we add to the count, then load the generation).
  s.in_flight.fetch_add(1, std::memory_order_seq_cst);
  if (s.generation.load(std::memory_order_seq_cst) != generation_of(bits)) {
    // Left before the task is abandoned: what its failure runs may retire
    // another executor, which could be the one reusing this slot.
    s.in_flight.fetch_sub(1, std::memory_order_release);
    refuse_destroyed(task);
  }
  struct leave {
    in_flight_call call;
    explicit leave(slot& sl) noexcept : call{&sl, calls_here} { calls_here = &call; }
    // Release: what execute() did happens-before retire() returns.
    ~leave() {
      calls_here = call.outer;
      call.s->in_flight.fetch_sub(1, std::memory_order_release);
    }
  } guard(s);
  // Relaxed: the target was stored before the registration was handed out,
  // which happens-before this call (through the state that carried it).
  executor* target = s.target.load(std::memory_order_relaxed);
  if (defer) {
    target->defer(std::move(task));
  } else {
    target->execute(std::move(task));
  }
}

executor& executor_ref::get() const {
  if ((bits_ & 1u) != 0) return *reinterpret_cast<executor*>(static_cast<std::uintptr_t>(bits_ & ~std::uint64_t{1}));
  if (bits_ == 0) throw std::invalid_argument("weft: no executor");
  slot& s = slot_at(index_of(bits_));
  // The generation before and after the target: a slot retired, or reused
  // by another executor, in between shows in one of them.
  const std::uint32_t before = s.generation.load(std::memory_order_acquire);
  executor* target = s.target.load(std::memory_order_acquire);
  const std::uint32_t after = s.generation.load(std::memory_order_acquire);
  if (before != generation_of(bits_) || after != before || target == nullptr) {
    throw executor_shutdown("weft: the executor was destroyed");
  }
  return *target;
}

}  // namespace detail

executor::executor() : registration_(0) {
  const std::uint32_t index = detail::take_slot();
  detail::slot& s = detail::slot_at(index);
  s.target.store(this, std::memory_order_relaxed);
  registration_ = detail::encode(s.generation.load(std::memory_order_relaxed), index);
}

executor::executor(const executor&) : executor() {}

executor::~executor() { retire(); }

void executor::retire() noexcept { detail::end_registration(registration_); }

}  // namespace v1
}  // namespace weft
