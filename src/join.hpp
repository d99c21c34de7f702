// Fork-join on a pool: join(a, b) and the parallel loop built on it. Nothing here is allocated on
// a worker: b's record and its latch live on the joining job's stack, which cannot return before
// the latch opens.
#pragma once

#include <cstddef>

#include "job.hpp"
#include "latch.hpp"
#include "pool.hpp"
#include "status.hpp"
#include "worker.hpp"

namespace tp::detail {

// Runs a and b, possibly in parallel, and returns when both have run. On one of the pool's
// workers, b goes onto the worker's deque (through the worker's half of admission, uncounted: it
// runs within the joining job), a runs here, and the worker takes b back or helps with other work
// until b is done; if b cannot be pushed, both run here, one after the other. From any other
// thread both are admitted together (all or nothing) and the caller blocks.
Status join(Pool &pool, Job a, Job b) noexcept;

// The outside half of join(). Not inlined into join_inline(): its records would enlarge the frame
// of every join on a worker, and a join's frame is what each level of nesting costs on a worker's
// stack.
[[gnu::noinline]] Status join_from_outside(Pool &pool, Job a, Job b) noexcept;

// b of a join on a worker, as it waits on the deque: runs fn(arg) and finishes the latch. Spawned
// uncounted (Worker::spawn(job, false)), so a thief that runs it takes back the finished job its
// loop will count (a LatchedJob's twin with that one difference).
struct SecondHalf {
  JobFn fn;
  void *arg;
  Latch *done;

  Job job() noexcept { return Job{&SecondHalf::run, this}; }

  static void run(void *record) {
    const SecondHalf half = *static_cast<const SecondHalf *>(record);
    // After fn, also when it throws (the exception then continues to the worker, which counts
    // it). The record may be gone once the latch is finished.
    struct Finish {
      Latch *done;
      ~Finish() {
        tls_worker->uncount_running_job();
        done->finish();
      }
    } finish{half.done};
    half.fn(half.arg);
  }
};

// The body of join(), inlined where joins are made: tp_pool_join in the C layer and the parallel
// loop's halving (run_range). A call per join cost 11 instructions (callgrind) and, from the C
// layer, a second call.
//
// `kWatched`: whether the spawn and the halves look for TSan and the trace. One check of
// Worker::observed() per join instead of three (the spawn's and each half's): 8 instructions of a
// join's 113 (callgrind) went to those checks.
template <bool kWatched>
[[gnu::always_inline]] inline Status join_on_worker(Worker *self, Pool &pool, Job a,
                                                    Job b) noexcept {
  Latch b_done(1, &pool.sleep());
  SecondHalf b_record{b.fn, b.arg, &b_done};
  switch (self->spawn<kWatched>(b_record.job(), /*counted=*/false)) {
    case Status::ok:
      break;
    case Status::out_of_memory:
      // The deque cannot grow: run both halves here, one after the other. Still correct, just
      // not parallel.
      self->run_inline<kWatched>(a.fn, a.arg);
      self->run_inline<kWatched>(b.fn, b.arg);
      return Status::ok;
    default:
      return Status::shutdown;  // from on_worker_stop: nobody would run b
  }
  self->run_inline<kWatched>(a.fn, a.arg);
  // The common case: nobody stole b, and it is still on top of our deque. Run it plainly; its
  // latch is then never touched (one atomic read-modify-write saved per join).
  const Job top = self->deque().pop();
  if (top.fn == &SecondHalf::run && top.arg == &b_record) {
    self->run_uncounted<kWatched>(b);
    return Status::ok;
  }
  if (top) self->run(top);  // something a pushed and left behind: it has to run anyway
  self->wait_until(b_done);
  return Status::ok;
}

// A join on a worker that someone watches (TSan, the trace). Out of line: its frame is not the
// one every level of an unwatched recursion pays for.
[[gnu::noinline]] Status join_watched(Worker *self, Pool &pool, Job a, Job b) noexcept;

[[gnu::always_inline]] inline Status join_inline(Pool &pool, Job a, Job b) noexcept {
  Worker *self = Worker::current(&pool);
  if (self == nullptr) return join_from_outside(pool, a, b);
  if (self->observed()) [[unlikely]]
    return join_watched(self, pool, a, b);
  return join_on_worker<false>(self, pool, a, b);
}

using RangeFn = void (*)(std::size_t lo, std::size_t hi, void *arg);

// Splits [begin, end) in halves with join() down to `grain` indices (0: adaptively, as rayon does;
// join.cpp's split()) and calls body on each piece, every index exactly once; but when called from
// a job of a group that gets cancelled, the pieces not started by then are skipped, and it says
// cancelled.
Status parallel_for(Pool &pool, std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                    void *arg) noexcept;

// The body a parallel loop's piece calls, when `job` is one (for the trace); else null.
const void *parallel_for_body_of(Job job) noexcept;

}  // namespace tp::detail
