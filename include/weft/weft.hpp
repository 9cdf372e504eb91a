// weft/weft.hpp: every public weft header but the two that include Boost
// (interop.hpp; timeout.hpp, for boost::optional) and the test kit
// (weft/testing.hpp, for tests).
#ifndef WEFT_WEFT_HPP
#define WEFT_WEFT_HPP

#include "weft/async.hpp"
#include "weft/async_mutex.hpp"
#include "weft/async_queue.hpp"
#include "weft/blocking_pool.hpp"
#include "weft/cancellation.hpp"
#include "weft/bounded_buffer.hpp"
#include "weft/clock.hpp"
#include "weft/condition.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/exception_group.hpp"
#include "weft/executor.hpp"
#include "weft/for_each_bounded.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/retry.hpp"
#include "weft/semaphore.hpp"
#include "weft/service.hpp"
#include "weft/shared_future.hpp"
#include "weft/task_group.hpp"
#include "weft/thread_pool.hpp"
#include "weft/timer.hpp"
#include "weft/unique_task.hpp"
#include "weft/when_all.hpp"

#endif  // WEFT_WEFT_HPP
