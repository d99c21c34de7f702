// A task group: jobs spawned into it from any thread, a wait for all of them (timed or not),
// notifications when it runs empty, and cancellation of the jobs that have not started.
#pragma once

#include <atomic>
#include <boost/lockfree/stack.hpp>
#include <mutex>

#include "deadline.hpp"
#include "job.hpp"
#include "latch.hpp"
#include "pool.hpp"
#include "status.hpp"

namespace tp::detail {

class Group {
 public:
  explicit Group(Pool &pool);  // throws std::bad_alloc (its first records cannot be made)
  ~Group();                    // after wait(): every record is back in the pool
  Group(const Group &) = delete;
  Group &operator=(const Group &) = delete;

  // Any thread, including the group's own jobs: fn(arg) as a job of the group, or on_cancel(arg)
  // instead (nothing when it is null) if the group is cancelled before the job starts: exactly one
  // of the two runs, once. Counted before it becomes visible, so a wait() that starts after spawn()
  // returned waits for it. Refused (and not counted) as the pool would refuse a plain submission.
  // Allocation-free once the record pool holds as many records as jobs were ever in flight at once.
  Status spawn(JobFn fn, JobFn on_cancel, void *arg) noexcept;

  // Until every job spawned so far, and every job they spawned into the group, has run: ok, or
  // cancelled when the group was cancelled since the last wait that returned (the mark is then
  // cleared); timeout when `deadline` passed first (nothing changes: wait again). A worker helps
  // meanwhile. From one of the group's own jobs it could only wait for itself: would_deadlock.
  Status wait(Deadline deadline = Deadline::never()) noexcept;

  // fn(arg) is submitted to the pool, as a job outside the group, the next time the group has no
  // unfinished job (now, when it has none). Never blocks on the group's jobs. ok, or what the pool
  // says when it is submitted now (shutdown: it will not run), or out_of_memory. One that waits for
  // the group to empty is always run: submitted by the thread that finished the last job once the
  // group is open (a worker, which the pool accepts even while it drains), or run on that thread if
  // the pool cannot take it then. Either way it may wait for the group, or destroy it.
  Status notify(JobFn fn, void *arg) noexcept;

  // Jobs that have not started are skipped from now until the next wait() returns; running jobs
  // finish (they may poll cancelled()).
  void cancel() noexcept { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  // The group whose job the calling thread is running (the innermost, when a waiting worker runs
  // one group's job on top of another's), or null: a parallel loop inside a group job stops
  // starting pieces once that group is cancelled.
  static const Group *running() noexcept;

  // The function a group's job calls, when `job` is one (for the trace); else null.
  static const void *function_of(Job job) noexcept;

 private:
  // A spawned job's record, taken from the group's record pool and returned before the job runs.
  struct Record {
    JobFn fn;
    JobFn on_cancel;
    void *arg;
    Group *group;
  };
  static void run_record(void *record);
  Record *take_record();  // throws std::bad_alloc
  void recycle(Record *record) noexcept;
  // Notifications waiting for the group to empty, oldest first: a list, so that the finisher
  // that takes them (and joins them to what it took before) allocates nothing.
  struct Notification {
    Job job;
    Notification *next;
  };
  struct NotificationList {
    Notification *head = nullptr;
    Notification *tail = nullptr;
    void push(Notification *notification) noexcept;
    void splice(NotificationList &from) noexcept;  // `from` ends empty
  };
  // A job of the group ended (ran, was skipped, or was refused after it was counted). The one
  // that empties the group takes the notifications that wait for that moment while its count
  // still keeps the group alive (Latch::finish_with()), and hands them to the pool once the group
  // is open: a notification run on this thread (refused by the pool) may then wait for the group
  // or destroy it.
  void finish_job() noexcept;
  void take_due_notifications(NotificationList &due) noexcept;
  static void submit_notifications(Pool &pool, NotificationList due) noexcept;

  Pool &pool_;
  Latch latch_;
  std::atomic<bool> cancelled_{false};
  // Notifications waiting for the group to empty. The latch's action flag says there are some:
  // set (under the lock) only while the group has an unfinished job, cleared (under the lock) by
  // the finisher that takes them.
  std::mutex notify_mutex_;
  NotificationList notifications_;  // guarded by notify_mutex_
  // Records of finished jobs, for the next spawns. A Boost.Lockfree stack: any thread takes and
  // returns records, and its nodes are themselves recycled.
  boost::lockfree::stack<Record *> free_records_;
};

}  // namespace tp::detail
