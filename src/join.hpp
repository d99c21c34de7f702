// Fork-join on a pool: join(a, b) and the parallel loop built on it. Nothing here is allocated on
// a worker: b's record and its latch live on the joining job's stack, which cannot return before
// the latch opens.
#pragma once

#include <cstddef>

#include "job.hpp"
#include "pool.hpp"
#include "status.hpp"

namespace tp::detail {

// Runs a and b, possibly in parallel, and returns when both have run. On one of the pool's
// workers, b goes onto the worker's deque (through the pool's admission), a runs here, and the
// worker takes b back or helps with other work until b is done; if b cannot be pushed, both run
// here, one after the other. From any other thread both are admitted together (all or nothing)
// and the caller blocks.
Status join(Pool &pool, Job a, Job b) noexcept;

using RangeFn = void (*)(std::size_t lo, std::size_t hi, void *arg);

// Splits [begin, end) in halves with join() down to `grain` indices (0: about 8 pieces per
// worker) and calls body on each piece, every index exactly once.
Status parallel_for(Pool &pool, std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                    void *arg) noexcept;

}  // namespace tp::detail
