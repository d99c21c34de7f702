// A join on a worker costs no allocation: b's record (function, argument, latch) lives on this
// stack frame, which cannot return before the latch opens, and the deque holds a two-word job
// pointing at it. The worker runs a, then waits for b "actively": it pops its own deque first
// (almost always b itself, not stolen), and otherwise helps with other work.
#include "join.hpp"

#include <algorithm>

#include "latch.hpp"
#include "worker.hpp"

namespace tp::detail {

namespace {

// parallel_for aims at this many pieces per worker: enough for stealing to even out uneven
// pieces, few enough that splitting costs little next to the work.
constexpr std::size_t kPiecesPerWorker = 8;

// Not inlined into join(): its records would enlarge the frame of every join on a worker, and a
// join's frame is what each level of nesting costs on a worker's stack.
[[gnu::noinline]] Status join_from_outside(Pool &pool, Job a, Job b) noexcept {
  Latch both_done(2);
  LatchedJob a_record{a.fn, a.arg, &both_done}, b_record{b.fn, b.arg, &both_done};
  const Job both[2] = {a_record.job(), b_record.job()};
  if (const Status status = pool.submit(both, 2); status != Status::ok) return status;
  both_done.wait();
  return Status::ok;
}

// The body of join(), inlined into both callers: tp_pool_join (through join()) and the parallel
// loop's halving (run_range), where a call per level cost 11 instructions per join (callgrind).
[[gnu::always_inline]] inline Status join_inline(Pool &pool, Job a, Job b) noexcept {
  Worker *self = Worker::current(&pool);
  if (self == nullptr) return join_from_outside(pool, a, b);

  Latch b_done(1, &pool.sleep());
  LatchedJob b_record{b.fn, b.arg, &b_done};
  switch (pool.submit(b_record.job())) {
    case Status::ok:
      break;
    case Status::out_of_memory:
      // The deque cannot grow: run both halves here, one after the other. Still correct, just
      // not parallel.
      self->run_inline(a.fn, a.arg);
      self->run_inline(b.fn, b.arg);
      return Status::ok;
    default:
      return Status::shutdown;  // from on_worker_stop: nobody would run b
  }
  self->run_inline(a.fn, a.arg);
  // The common case: nobody stole b, and it is still on top of our deque. Run it plainly; its
  // latch is then never touched (one atomic read-modify-write saved per join).
  const Job top = self->deque().pop();
  if (top.fn == &LatchedJob::run && top.arg == &b_record) {
    self->run(b);
    return Status::ok;
  }
  if (top) self->run(top);  // something a pushed and left behind: it has to run anyway
  self->wait_until(b_done);
  return Status::ok;
}

}  // namespace

Status join(Pool &pool, Job a, Job b) noexcept { return join_inline(pool, a, b); }

namespace {

// One piece of a parallel_for, on the stack of the join that made it.
struct Range {
  Pool *pool;
  RangeFn body;
  void *arg;
  std::size_t grain;
  std::size_t lo, hi;
};

void run_range(void *pointer) {
  const Range &range = *static_cast<const Range *>(pointer);
  if (range.hi - range.lo <= range.grain) {
    if (range.lo < range.hi) range.body(range.lo, range.hi, range.arg);
    return;
  }
  const std::size_t mid = range.lo + (range.hi - range.lo) / 2;
  Range left = range, right = range;
  left.hi = mid;
  right.lo = mid;
  // On a worker a join cannot fail; it runs both halves whatever happens.
  join_inline(*range.pool, Job{&run_range, &left}, Job{&run_range, &right});
}

}  // namespace

Status parallel_for(Pool &pool, std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                    void *arg) noexcept {
  if (begin >= end) return Status::ok;
  const std::size_t size = end - begin;
  if (grain == 0) grain = std::max<std::size_t>(1, size / (pool.workers() * kPiecesPerWorker));
  // The top-level split goes through join() like every other, so that from outside the pool both
  // halves are handed to the workers and the caller blocks, and on a worker nothing is allocated.
  const std::size_t mid = size <= grain ? end : begin + size / 2;
  Range left{&pool, body, arg, grain, begin, mid};
  Range right{&pool, body, arg, grain, mid, end};
  return join(pool, Job{&run_range, &left}, Job{&run_range, &right});
}

}  // namespace tp::detail
