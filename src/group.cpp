#include "group.hpp"

#include <cassert>
#include <new>

#include "shared_writes.hpp"
#include "worker.hpp"

namespace tp::detail {

namespace {

// The groups whose jobs this thread is running, innermost first. A waiting worker runs other jobs
// on top of the one that waits, so there can be several; a group waiting from inside one of its
// own jobs would wait for itself.
struct RunningGroupJob {
  const Group *group;
  const RunningGroupJob *outer;
};
thread_local const RunningGroupJob *tls_running = nullptr;

bool running_job_of(const Group *group) noexcept {
  for (const RunningGroupJob *job = tls_running; job != nullptr; job = job->outer) {
    if (job->group == group) return true;
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
  assert(notifications_.head == nullptr && "the finisher that opened the group took them");
  Record *record = nullptr;
  while (free_records_.pop(record)) delete record;
}

const Group *Group::running() noexcept {
  const Worker *self = tls_worker;  // a group's jobs run only on workers
  return self == nullptr ? nullptr : self->running_group();
}

Group::Record *Group::take_record() {
  Record *record = nullptr;
  count_shared_write(SharedLine::group);
  if (free_records_.pop(record)) return record;
  return new Record{};  // warm-up: the pool of records grows to the most jobs in flight at once
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

const void *Group::function_of(Job job) noexcept {
  if (job.fn != &Group::run_record) return nullptr;
  return reinterpret_cast<const void *>(static_cast<const Record *>(job.arg)->fn);
}

void Group::run_record(void *pointer) {
  auto *record = static_cast<Record *>(pointer);
  Group *const group = record->group;
  const Record job = *record;
  // The record goes back before the job runs: the group stays alive until finish_job() below.
  group->recycle(record);
  Worker *const self = tls_worker;  // one of the group's pool's workers
  assert(self != nullptr && Worker::current(&group->pool_) == self);
  const RunningGroupJob running{group, tls_running};
  tls_running = &running;
  self->set_running_group(group);  // run() restores the outer job's on return
  // Also when the job throws (the exception then continues to the worker, which counts it).
  struct Finish {
    Group *group;
    const RunningGroupJob *outer;
    Worker *self;
    ~Finish() {
      tls_running = outer;
      // What runs on this thread from here on (a notification the pool refused) is no job of the
      // group, which may be gone once finish_job() opened it.
      self->set_running_group(nullptr);
      group->finish_job();
    }
  } finish{group, running.outer, self};
  if (!group->cancelled()) {
    job.fn(job.arg);
    return;
  }
  self->count_cancelled();
  if (job.on_cancel != nullptr) job.on_cancel(job.arg);
}

Status Group::spawn(JobFn fn, JobFn on_cancel, void *arg) noexcept {
  Record *record;
  try {
    record = take_record();
  } catch (...) {
    return Status::out_of_memory;
  }
  *record = Record{fn, on_cancel, arg, this};
  latch_.add(1);
  const Status status = pool_.submit(Job{&Group::run_record, record});
  if (status != Status::ok) {
    recycle(record);  // before finish_job(): once the latch opens, the group may be destroyed
    finish_job();
  }
  return status;
}

void Group::NotificationList::push(Notification *notification) noexcept {
  notification->next = nullptr;
  (head == nullptr ? head : tail->next) = notification;
  tail = notification;
}

void Group::NotificationList::splice(NotificationList &from) noexcept {
  if (from.head == nullptr) return;
  (head == nullptr ? head : tail->next) = from.head;
  tail = from.tail;
  from = NotificationList{};
}

void Group::finish_job() noexcept {
  Pool &pool = pool_;  // read before the latch opens: the group may be gone after that
  NotificationList due;
  latch_.finish_with([&] { take_due_notifications(due); });
  if (due.head != nullptr) submit_notifications(pool, due);
}

void Group::take_due_notifications(NotificationList &due) noexcept {
  std::lock_guard lock(notify_mutex_);
  // Our look at the count came before we took the lock. Since then a job may have been spawned,
  // and a notify() that found the flag already set may have added a notification after it: that
  // one must wait for the new job. Read under the lock, the count shows every spawn that came
  // before such a notify(); more than our own job means the group is not emptying yet.
  if (latch_.unfinished() != 1) return;
  due.splice(notifications_);  // appended: finish_with() may act again if a notify() came since
  latch_.clear_action();
}

void Group::submit_notifications(Pool &pool, NotificationList due) noexcept {
  Worker *const self = Worker::current(&pool);
  for (Notification *notification = due.head; notification != nullptr;) {
    Notification *const next = notification->next;
    const Job job = notification->job;
    delete notification;
    notification = next;
    if (pool.submit(job) == Status::ok) continue;
    // Refused: the worker's deque could not grow, or (from outside) the spawn whose refusal
    // emptied the group was refused because the pool shut down. notify() promised the run.
    if (self != nullptr) {
      self->run_inline(job.fn, job.arg);  // an exception is caught and counted there
    } else {
      try {
        job.fn(job.arg);
      } catch (...) {
        // Outside the pool there is no worker to count it on, and no caller to hand it to.
      }
    }
  }
}

Status Group::notify(JobFn fn, void *arg) noexcept {
  Notification *notification;
  try {
    notification = new Notification{Job{fn, arg}, nullptr};
  } catch (...) {
    return Status::out_of_memory;
  }
  {
    std::lock_guard lock(notify_mutex_);
    // Set only while a job is unfinished: its finisher then sees the flag before the group opens.
    if (latch_.set_action()) {
      notifications_.push(notification);
      return Status::ok;
    }
  }
  delete notification;
  // Nothing unfinished: due now. The group's jobs ended before the count this read; for
  // ThreadSanitizer, before the notification too (tsan_edges.hpp), as when a finisher runs it.
  tsan::acquire(&latch_);
  return pool_.submit(Job{fn, arg});
}

Status Group::wait(Deadline deadline) noexcept {
  if (running_job_of(this)) return Status::would_deadlock;
  // wait_for() only compares the pool's address, never reads it: a group may be waited for (and
  // destroyed) after its pool was destroyed, when it has nothing left to wait for.
  if (!pool_.wait_for(latch_, deadline)) return Status::timeout;
  latch_.forget_waiters();
  return cancelled_.exchange(false, std::memory_order_acq_rel) ? Status::cancelled : Status::ok;
}

}  // namespace tp::detail
