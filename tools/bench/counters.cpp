// What weft-bench counts besides time, for the whole process:
//
// - heap allocations and requested bytes: the global operator new and
//   delete are replaced. Each thread counts in a slot of its own (a plain
//   load and store, no RMW, no shared cache line), so counting does not
//   slow the workloads it measures; a thread's slot is folded into a global
//   total when it exits and reused by the next thread.
//   Not counted: oneTBB's task objects (oneTBB allocates them from its own
//   pooled allocator, for weft's pool and the TBB peers alike) and direct
//   malloc calls.
// - threads created: pthread_create is defined here, so every library's call
//   (std::thread, boost::thread, oneTBB's workers, asio) lands here first
//   and is counted before the real one runs.
// - system calls: a perf_event counter on the raw_syscalls:sys_enter
//   tracepoint, opened by main() before any thread exists and inherited by
//   every thread created after it. Where the kernel refuses (no tracefs, a
//   strict perf_event_paranoid) syscalls are reported as "n/a".
#include <dlfcn.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#include "harness.hpp"

namespace bench {
namespace {

struct alignas(64) alloc_slot {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<alloc_slot*> next_all{nullptr};
  alloc_slot* next_free = nullptr;
};

// Every slot ever made, newest first; slots are never freed.
std::atomic<alloc_slot*> all_slots{nullptr};
alloc_slot* free_slots = nullptr;  // guarded by slots_mutex
pthread_mutex_t slots_mutex = PTHREAD_MUTEX_INITIALIZER;
// Counts of threads that exited, and of allocations made while a thread had
// no slot (during its own exit).
std::atomic<std::uint64_t> retired_count{0}, retired_bytes{0};

pthread_key_t slot_key;
pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;
thread_local alloc_slot* my_slot = nullptr;
thread_local bool slot_gone = false;

void retire_slot(void* p) {
  auto* s = static_cast<alloc_slot*>(p);
  // Into the totals first, then cleared: a concurrent reader may count this
  // thread twice for an instant, never lose it.
  retired_count.fetch_add(s->count.load(std::memory_order_relaxed), std::memory_order_relaxed);
  retired_bytes.fetch_add(s->bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
  s->count.store(0, std::memory_order_relaxed);
  s->bytes.store(0, std::memory_order_relaxed);
  my_slot = nullptr;
  slot_gone = true;
  pthread_mutex_lock(&slots_mutex);
  s->next_free = free_slots;
  free_slots = s;
  pthread_mutex_unlock(&slots_mutex);
}

void make_key() { pthread_key_create(&slot_key, &retire_slot); }

alloc_slot* claim_slot() {
  pthread_once(&slot_key_once, &make_key);
  pthread_mutex_lock(&slots_mutex);
  alloc_slot* s = free_slots;
  if (s != nullptr) free_slots = s->next_free;
  pthread_mutex_unlock(&slots_mutex);
  if (s == nullptr) {
    void* mem = nullptr;
    if (posix_memalign(&mem, 64, sizeof(alloc_slot)) != 0) return nullptr;
    s = ::new (mem) alloc_slot();
    alloc_slot* head = all_slots.load(std::memory_order_relaxed);
    do {
      s->next_all.store(head, std::memory_order_relaxed);
    } while (!all_slots.compare_exchange_weak(head, s, std::memory_order_release, std::memory_order_relaxed));
  }
  pthread_setspecific(slot_key, s);
  return s;
}

inline void count_alloc(std::size_t n) noexcept {
  alloc_slot* s = my_slot;
  if (__builtin_expect(s == nullptr, 0)) {
    if (slot_gone || (s = claim_slot()) == nullptr) {
      retired_count.fetch_add(1, std::memory_order_relaxed);
      retired_bytes.fetch_add(n, std::memory_order_relaxed);
      return;
    }
    my_slot = s;
  }
  // Only this thread writes its slot: load + store is enough.
  s->count.store(s->count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  s->bytes.store(s->bytes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void* allocate(std::size_t n) {
  count_alloc(n);
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void* allocate_nothrow(std::size_t n) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}

std::atomic<std::uint64_t> threads_created{0};

int syscall_fd = -1;

int read_threads_alive() {
  // Plain read(2) into a stack buffer: no allocation, three syscalls (which
  // happen outside the measured window).
  char buf[4096];
  FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return -1;
  int threads = -1;
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    if (std::strncmp(buf, "Threads:", 8) == 0) {
      threads = std::atoi(buf + 8);
      break;
    }
  }
  std::fclose(f);
  return threads;
}

}  // namespace

void open_syscall_counter() {
  FILE* f = std::fopen("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id", "re");
  if (f == nullptr) f = std::fopen("/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id", "re");
  if (f == nullptr) return;
  long id = -1;
  if (std::fscanf(f, "%ld", &id) != 1) id = -1;
  std::fclose(f);
  if (id < 0) return;
  for (int exclude_kernel = 0; exclude_kernel < 2 && syscall_fd < 0; ++exclude_kernel) {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof attr;
    attr.config = static_cast<std::uint64_t>(id);
    attr.inherit = 1;  // threads created later count into this counter
    attr.exclude_kernel = static_cast<unsigned>(exclude_kernel);  // the entry point fires with user regs
    syscall_fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
  }
}

bool syscalls_countable() { return syscall_fd >= 0; }

namespace {
std::int64_t read_syscalls() {
  std::uint64_t v = 0;
  if (syscall_fd < 0 || read(syscall_fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) return -1;
  return static_cast<std::int64_t>(v);
}
}  // namespace

counters sample_counters(bool syscalls_first) {
  counters c;
  if (syscalls_first) c.syscalls = read_syscalls();
  c.threads_alive = read_threads_alive();
  c.threads_created = threads_created.load(std::memory_order_relaxed);
  std::uint64_t n = retired_count.load(std::memory_order_relaxed);
  std::uint64_t b = retired_bytes.load(std::memory_order_relaxed);
  for (alloc_slot* s = all_slots.load(std::memory_order_acquire); s != nullptr;
       s = s->next_all.load(std::memory_order_relaxed)) {
    n += s->count.load(std::memory_order_relaxed);
    b += s->bytes.load(std::memory_order_relaxed);
  }
  c.allocs = n;
  c.alloc_bytes = b;
  if (!syscalls_first) c.syscalls = read_syscalls();
  return c;
}

}  // namespace bench

// ---- interposed pthread_create ----------------------------------------------

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  using real_fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static real_fn real = [] {
    void* p = dlvsym(RTLD_NEXT, "pthread_create", "GLIBC_2.34");
    if (p == nullptr) p = dlsym(RTLD_NEXT, "pthread_create");
    return reinterpret_cast<real_fn>(p);
  }();
  bench::threads_created.fetch_add(1, std::memory_order_relaxed);
  return real(thread, attr, start, arg);
}

// ---- replaced operator new / delete ------------------------------------------

void* operator new(std::size_t n) { return bench::allocate(n); }
void* operator new[](std::size_t n) { return bench::allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return bench::allocate_nothrow(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return bench::allocate_nothrow(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
