// A task group: jobs spawned into it from any thread, and a wait for all of them.
#pragma once

#include <boost/lockfree/stack.hpp>

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

  // Any thread, including the group's own jobs. Counted before it becomes visible, so a wait()
  // that starts after spawn() returned waits for it. Refused (and not counted) as the pool would
  // refuse a plain submission. Allocation-free once the record pool holds as many records as
  // jobs were ever in flight at once.
  Status spawn(JobFn fn, void *arg) noexcept;

  // Until every job spawned so far, and every job they spawned into the group, has run. A worker
  // helps meanwhile. From one of the group's own jobs it could only wait for itself.
  Status wait() noexcept;

 private:
  // A spawned job's record: what LatchedJob needs, plus the group to return the record to.
  struct Record {
    LatchedJob job;
    Group *group;
  };
  static void run_record(void *record);
  Record *take_record();  // throws std::bad_alloc
  void recycle(Record *record) noexcept;

  Pool &pool_;
  Latch latch_;
  // Records of finished jobs, for the next spawns. A Boost.Lockfree stack: any thread takes and
  // returns records, and its nodes are themselves recycled.
  boost::lockfree::stack<Record *> free_records_;
};

}  // namespace tp::detail
