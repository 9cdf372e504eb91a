// weft/weft.hpp: every public weft header but the Boost interop one.
#ifndef WEFT_WEFT_HPP
#define WEFT_WEFT_HPP

#include "weft/async.hpp"
#include "weft/blocking_pool.hpp"
#include "weft/cancellation.hpp"
#include "weft/errors.hpp"
#include "weft/executor.hpp"
#include "weft/future.hpp"
#include "weft/promise.hpp"
#include "weft/result.hpp"
#include "weft/service.hpp"
#include "weft/shared_future.hpp"
#include "weft/thread_pool.hpp"
#include "weft/unique_task.hpp"
#include "weft/when_all.hpp"

#endif  // WEFT_WEFT_HPP
