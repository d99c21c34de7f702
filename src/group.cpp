#include "group.hpp"

#include <cassert>
#include <new>

#include "shared_writes.hpp"
#include "worker.hpp"

namespace tp::detail {

namespace {

// The latches of the group jobs this thread is running, innermost first. A waiting worker runs
// other jobs on top of the one that waits, so there can be several; a group waiting from inside
// one of its own jobs would wait for itself.
struct RunningGroupJob {
  const Latch *latch;
  const RunningGroupJob *outer;
};
thread_local const RunningGroupJob *tls_running = nullptr;

bool running_job_of(const Latch *latch) noexcept {
  for (const RunningGroupJob *job = tls_running; job != nullptr; job = job->outer) {
    if (job->latch == latch) return true;
  }
  return false;
}

constexpr std::size_t kInitialRecords = 16;

}  // namespace

Group::Group(Pool &pool) : pool_(pool), latch_(0, &pool.sleep()), free_records_(0) {
  free_records_.reserve(kInitialRecords);  // not in the constructor: see Injector::Injector
}

Group::~Group() {
  assert(latch_.done() && "a group is freed only after a wait() returned");
  Record *record = nullptr;
  while (free_records_.pop(record)) delete record;
}

Group::Record *Group::take_record() {
  Record *record = nullptr;
  count_shared_write(SharedLine::group);
  if (free_records_.pop(record)) return record;
  return new Record{};  // warm-up: the pool of records grows to the most jobs in flight at once
}

void Group::run_record(void *pointer) {
  auto *record = static_cast<Record *>(pointer);
  const RunningGroupJob running{record->job.done, tls_running};
  tls_running = &running;
  struct Restore {
    const RunningGroupJob *outer;
    ~Restore() { tls_running = outer; }
  } restore{running.outer};
  // The record goes back before the job runs, so before its latch is finished: once the latch
  // opens, the group (and its record pool) may be destroyed.
  LatchedJob job = record->job;
  record->group->recycle(record);
  LatchedJob::run(&job);
}

void Group::recycle(Record *record) noexcept {
  count_shared_write(SharedLine::group);
  try {
    if (free_records_.push(record)) return;
  } catch (...) {
    // No node for the free list: the record is freed instead of kept.
  }
  delete record;
}

Status Group::spawn(JobFn fn, void *arg) noexcept {
  Record *record;
  try {
    record = take_record();
  } catch (...) {
    return Status::out_of_memory;
  }
  record->job = LatchedJob{fn, arg, &latch_};
  record->group = this;
  latch_.add(1);
  const Status status = pool_.submit(Job{&Group::run_record, record});
  if (status != Status::ok) {
    recycle(record);  // before finish(): once the latch opens, the group may be destroyed
    latch_.finish();
  }
  return status;
}

Status Group::wait() noexcept {
  if (running_job_of(&latch_)) return Status::would_deadlock;
  // wait_for() only compares the pool's address, never reads it: a group may be waited for (and
  // destroyed) after its pool was destroyed, when it has nothing left to wait for.
  pool_.wait_for(latch_);
  latch_.forget_waiters();
  return Status::ok;
}

}  // namespace tp::detail
