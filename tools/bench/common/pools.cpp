// The shared pools (see pools.hpp).
#include "pools.hpp"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "harness.hpp"
#include "legacy_pool.hpp"

namespace bench {

weft::thread_pool& weft_pool() {
  static auto* pool = new weft::thread_pool(opts().threads);
  return *pool;
}

tbb::task_arena& tbb_arena() {
  static auto* arena = new tbb::task_arena(static_cast<int>(opts().threads), 1);
  return *arena;
}

tbb::task_arena& tbb_enqueue_arena() {
  static auto* arena = new tbb::task_arena(static_cast<int>(opts().threads), 0);
  return *arena;
}

legacy_pool& the_legacy_pool() {
  static auto* pool = new legacy_pool(opts().threads);
  return *pool;
}

namespace {

class big_stack_thread {
 public:
  big_stack_thread() {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, std::size_t(1) << 30);
    if (pthread_create(&thread_, &attr, &big_stack_thread::main, this) != 0) {
      throw std::runtime_error("weft-bench: cannot start a thread with a 1 GiB stack");
    }
    pthread_attr_destroy(&attr);
  }

  void run(const std::function<void()>& fn) {
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &fn;
    error_ = nullptr;
    cv_.notify_all();
    cv_.wait(lock, [this] { return job_ == nullptr; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static void* main(void* self) {
    static_cast<big_stack_thread*>(self)->loop();
    return nullptr;
  }
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return job_ != nullptr; });
      const std::function<void()>* job = job_;
      lock.unlock();
      std::exception_ptr e;
      try {
        (*job)();
      } catch (...) {
        e = std::current_exception();
      }
      lock.lock();
      error_ = e;
      job_ = nullptr;
      cv_.notify_all();
    }
  }

  pthread_t thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  const std::function<void()>* job_ = nullptr;
  std::exception_ptr error_;
};

}  // namespace

void run_on_big_stack(const std::function<void()>& fn) {
  static auto* t = new big_stack_thread;  // never joined: it parks until exit
  t->run(fn);
}

}  // namespace bench
