// The process-wide pool: one pool that every library and language binding in the process can
// share, created on first use, so that a process does not end up with a pool of one thread per
// core for each of them (the oversubscription rayon's global pool and oneTBB's implicit arena
// prevent).
#pragma once

#include "config.hpp"
#include "pool.hpp"
#include "status.hpp"

namespace tp::detail {

// The default pool, created by the first call (later calls return the same pool at the cost of
// one acquire load). Its configuration: what configure_default_pool() was given, else the
// defaults with default_worker_count() workers; either way TP_NUM_THREADS from the environment,
// when it is a number in 1..TP_MAX_WORKERS, sets the worker count. A creation error is returned
// (out = null) and the next call tries again. The pool is never shut down or freed: at process
// exit its workers are still there, and jobs still queued may not run. In a child after fork() the
// next call creates a fresh pool (the parent's has no threads there and is left alone).
Status default_pool(Pool *&out) noexcept;

// Sets the configuration the default pool will be created with; already_created once it exists.
// The config is validated by the caller (the C layer checks it as tp_pool_create_with() does).
Status configure_default_pool(const PoolConfig &config) noexcept;

// Whether `pool` is the default pool, or was it in a parent process before fork(): such a pool
// must not be shut down or destroyed by anyone.
bool is_default_pool(const Pool *pool) noexcept;

// TP_NUM_THREADS's value when it is a whole number in 1..TP_MAX_WORKERS; 0 otherwise (unset,
// empty, signs, spaces, trailing characters, out of range: ignored).
std::size_t worker_count_from_environment() noexcept;

}  // namespace tp::detail
