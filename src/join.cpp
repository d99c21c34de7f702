// Fork-join: Pool::join, Pool::parallel_for and Pool::wait_for.
//
// A join on a worker costs no allocation: b's record (function, argument, latch) lives on this
// stack frame, which cannot return before the latch opens, and the deque holds a two-word job
// pointing at it. The worker runs a, then waits for b "actively": it pops its own deque first
// (almost always b itself, not stolen), and otherwise helps with other work.
#include <algorithm>

#include "pool.hpp"

namespace tp::detail {

namespace {
// parallel_for aims at this many pieces per worker: enough for stealing to even out uneven
// pieces, few enough that splitting costs little next to the work.
constexpr std::size_t kPiecesPerWorker = 8;
}  // namespace

Status Pool::join(Job a, Job b) noexcept {
  Worker *self = Worker::current(this);
  if (self == nullptr) return join_from_outside(a, b);
  if (self->exiting()) return Status::shutdown;  // from on_worker_stop: nobody would run b

  Latch b_done(1);
  LatchedJob b_record{b.fn, b.arg, &b_done};
  self->count_spawned(1);
  try {
    self->deque().push(b_record.job());
  } catch (...) {
    // The deque cannot grow: run both halves here, one after the other. Still correct, just not
    // parallel.
    self->cancel_spawned(1);
    self->run_inline(a.fn, a.arg);
    self->run_inline(b.fn, b.arg);
    return Status::ok;
  }
  sleep_.notify_pushed();
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

Status Pool::join_from_outside(Job a, Job b) noexcept {
  Latch both_done(2);
  LatchedJob a_record{a.fn, a.arg, &both_done}, b_record{b.fn, b.arg, &both_done};
  if (!admit_from_outside(2)) return Status::shutdown;
  try {
    injector_.push(a_record.job());
  } catch (...) {
    finished(2);
    return Status::out_of_memory;
  }
  try {
    injector_.push(b_record.job());
  } catch (...) {
    // a is on its way; b runs here, on the caller's thread, rather than not at all.
    try {
      b.fn(b.arg);
    } catch (...) {
      // A C job cannot throw; a C++ one that does is the caller's to handle in its wrapper.
    }
    finished(1);
    both_done.finish();
  }
  sleep_.notify_work();
  both_done.wait();
  return Status::ok;
}

void Pool::wait_for(Latch &latch) noexcept {
  if (Worker *self = Worker::current(this)) {
    self->wait_until(latch);
  } else {
    latch.wait();
  }
}

namespace {

// One piece of a parallel_for, on the stack of the join that made it.
struct Range {
  Pool *pool;
  Pool::RangeFn body;
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
  range.pool->join(Job{&run_range, &left}, Job{&run_range, &right});
}

}  // namespace

Status Pool::parallel_for(std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                          void *arg) noexcept {
  if (begin >= end) return Status::ok;
  const std::size_t size = end - begin;
  if (grain == 0) grain = std::max<std::size_t>(1, size / (workers() * kPiecesPerWorker));
  // The top-level split goes through join() like every other, so that from outside the pool both
  // halves are handed to the workers and the caller blocks, and on a worker nothing is allocated.
  const std::size_t mid = size <= grain ? end : begin + size / 2;
  Range left{this, body, arg, grain, begin, mid};
  Range right{this, body, arg, grain, mid, end};
  return join(Job{&run_range, &left}, Job{&run_range, &right});
}

}  // namespace tp::detail
