// A join on a worker costs no allocation: b's record (function, argument, latch) lives on this
// stack frame, which cannot return before the latch opens, and the deque holds a two-word job
// pointing at it. The worker runs a, then waits for b "actively": it pops its own deque first
// (almost always b itself, not stolen), and otherwise helps with other work.
#include "join.hpp"

#include <algorithm>
#include <atomic>

#include "group.hpp"
#include "latch.hpp"
#include "worker.hpp"

namespace tp::detail {

Status join_from_outside(Pool &pool, Job a, Job b) noexcept {
  Latch both_done(2);
  LatchedJob a_record{a.fn, a.arg, &both_done}, b_record{b.fn, b.arg, &both_done};
  const Job both[2] = {a_record.job(), b_record.job()};
  if (const Status status = pool.submit(both, 2); status != Status::ok) return status;
  both_done.wait();
  return Status::ok;
}

Status join_watched(Worker *self, Pool &pool, Job a, Job b) noexcept {
  return join_on_worker<true>(self, pool, a, b);
}

Status join(Pool &pool, Job a, Job b) noexcept { return join_inline(pool, a, b); }

namespace {

// What every piece of one parallel_for shares, on the stack of the call that started it.
struct Loop {
  Pool *pool;
  RangeFn body;
  void *arg;
  std::size_t grain;  // 0: adaptive (split())
  std::size_t workers;
  // The group whose job started the loop (null: none). Once it is cancelled, pieces that have not
  // started are skipped, and `skipped` says so (several pieces may set it at once).
  const Group *group;
  std::atomic<bool> skipped{false};
};

// One piece of a parallel_for, on the stack of the join that made it.
struct Range {
  Loop *loop;
  std::size_t lo, hi;
  // Adaptive loops only: how many more times the piece halves while nobody steals it, and the
  // worker whose join made it (null: the thread that called parallel_for from outside).
  std::size_t splits;
  const Worker *made_by;
};

// Whether `range` halves; `splits` becomes its halves' budget. With a grain: down to `grain`
// indices. Adaptive (grain 0), rayon's rule: the budget starts at the worker count and halves at
// each split, so a loop that nobody steals from makes about two pieces per worker, whatever its
// size; a piece that runs on another worker than the one that made it was stolen, which says
// workers are idle, and it gets a fresh budget. A nested loop then costs a few joins where
// splitting down to single indices cost one per index (I_skynet), and where workers are hungry it
// still splits as finely as they steal.
bool split(const Loop &loop, const Range &range, std::size_t &splits) noexcept {
  const std::size_t size = range.hi - range.lo;
  if (loop.grain != 0) return size > loop.grain;
  if (size <= 1) return false;
  if (range.made_by != nullptr && range.made_by != tls_worker) {  // stolen
    splits = std::max(loop.workers, splits / 2);
    return true;
  }
  if (splits == 0) return false;
  splits /= 2;
  return true;
}

void run_range(void *pointer);

// The halving half of run_range(), out of line: inlined, its join made run_range save six
// registers before it knew whether the piece splits, and every leaf piece paid for them (15
// instructions more per piece, callgrind: skynet's run_range 11.9 -> 15.1 M instructions).
[[gnu::noinline]] void halve(const Range &range, std::size_t splits) noexcept {
  Loop &loop = *range.loop;
  const std::size_t mid = range.lo + (range.hi - range.lo) / 2;
  Range left{&loop, range.lo, mid, splits, tls_worker},
      right{&loop, mid, range.hi, splits, tls_worker};
  // On a worker a join cannot fail; it runs both halves whatever happens.
  join_inline(*loop.pool, Job{&run_range, &left}, Job{&run_range, &right});
}

void run_range(void *pointer) {
  const Range &range = *static_cast<const Range *>(pointer);
  Loop &loop = *range.loop;
  if (loop.group != nullptr && loop.group->cancelled()) [[unlikely]] {
    loop.skipped.store(true, std::memory_order_relaxed);
    return;
  }
  std::size_t splits = range.splits;
  if (split(loop, range, splits)) return halve(range, splits);
  if (range.lo < range.hi) loop.body(range.lo, range.hi, loop.arg);
}

}  // namespace

const void *parallel_for_body_of(Job job) noexcept {
  if (job.fn != &run_range) return nullptr;
  return reinterpret_cast<const void *>(static_cast<const Range *>(job.arg)->loop->body);
}

Status parallel_for(Pool &pool, std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                    void *arg) noexcept {
  if (begin >= end) return Status::ok;
  Loop loop{&pool, body, arg, grain, pool.workers(), Group::running()};
  // The top-level split goes through join() like every other, so that from outside the pool both
  // halves are handed to the workers and the caller blocks, and on a worker nothing is allocated.
  // From outside, the halves are handed in, not stolen: they count as made by no worker.
  Worker *const self = Worker::current(&pool);
  const Range whole{&loop, begin, end, loop.workers, self};
  std::size_t splits = whole.splits;
  const std::size_t mid = split(loop, whole, splits) ? begin + (end - begin) / 2 : end;
  Range left{&loop, begin, mid, splits, self}, right{&loop, mid, end, splits, self};
  const Status status = join(pool, Job{&run_range, &left}, Job{&run_range, &right});
  if (status != Status::ok) return status;
  // After the join: every piece has finished, and the latch ordered their stores before this.
  return loop.skipped.load(std::memory_order_relaxed) ? Status::cancelled : Status::ok;
}

}  // namespace tp::detail
