// A serial queue: jobs submitted from any thread run one at a time, in the order their
// submissions were accepted, on whichever worker is free; different queues, and ordinary jobs, run
// in parallel (libdispatch's serial queues, Boost.Asio's strands).
//
// The jobs wait in a Boost.Lockfree queue, and a count of them (a latch: `pending_`) says whether
// the queue is running. The submission that finds it at zero publishes the queue's *carrier*, a
// pool job that runs the queue's jobs one after another; the carrier stops when the count comes
// back to zero, so an idle queue costs nothing and holds no worker, and a busy one holds at most
// one at a time. After kJobsPerTurn jobs a carrier with more to run puts itself at the back of the
// injector and returns, so that a queue that is never empty cannot keep other work from that
// worker.
//
// Each job is admitted into the pool as it is submitted (Pool::admit()), exactly as an ordinary
// submission: refused the same way (shutdown), counted by tp_pool_wait_idle() and run by a pool
// that shuts down. The carrier itself is not counted: it only carries counted jobs.
#pragma once

#include <boost/lockfree/queue.hpp>
#include <cstddef>
#include <cstdint>

#include "job.hpp"
#include "latch.hpp"
#include "pool.hpp"
#include "status.hpp"

namespace tp::detail {

class Worker;

class SerialQueue {
 public:
  explicit SerialQueue(Pool &pool);  // throws std::bad_alloc (its first nodes cannot be made)
  ~SerialQueue();                    // after drain()
  SerialQueue(const SerialQueue &) = delete;
  SerialQueue &operator=(const SerialQueue &) = delete;

  // Any thread, including the queue's own jobs (theirs run after the job that submits them): ok,
  // or what the pool says to a submission (shutdown: it will never run), or out_of_memory. Lock-
  // free, and allocation-free once the queue has held as many jobs at once before.
  Status submit(Job job) noexcept;

  // Until every job whose submission returned before this call has run: a marker goes through
  // the queue behind them. A worker helps meanwhile. From one of the queue's own jobs (or a job run
  // on top of one, while it waits) it would wait for itself: would_deadlock.
  Status wait() noexcept;

  // Until the queue is empty and its carrier is done with it (also the jobs its jobs submit
  // meanwhile): then it may be destroyed. would_deadlock as for wait().
  Status drain() noexcept;

  // How many jobs one turn of the carrier runs at most before it yields its worker.
  static constexpr std::size_t kJobsPerTurn = 64;

 private:
  void start() noexcept;           // publishes the carrier of a queue that was idle
  static void carry(void *queue);  // the carrier: one turn, as a job of the pool
  // Runs the queue's jobs on `self` until the queue is empty, or until it yields after
  // kJobsPerTurn jobs. `as_job`: the turn is the carrier job (else part of a submission).
  void run_turn(Worker &self, bool as_job) noexcept;
  // After `kJobsPerTurn` jobs, with more pending: the next turn goes behind the queued work. False
  // when it cannot be published (no memory): the carrier goes on itself.
  bool yield() noexcept;
  bool running_on_this_thread() const noexcept;
  // Every job whose submission returned before the call has run (see the definition).
  bool empty_and_done() const noexcept;

  // Jobs a queue holds at most (each needs a queue node: 2^28 of them are 16 GiB).
  static constexpr std::uint32_t kMostPending = std::uint32_t{1} << 28;

  Pool &pool_;
  // Jobs pushed and not yet run. A submission pushes its job first and then counts it, so that
  // the carrier, which counts one down after each job, always finds the next one it counts. The
  // count covers *some* queued job, not a given one: a submitter preempted between its push and
  // its count delays the jobs queued behind its own until it counts (or another submission does),
  // as an MPSC list's enqueuer between its exchange and its link does (libdispatch's, Vyukov's).
  Latch pending_;
  boost::lockfree::queue<Job> jobs_;
};

}  // namespace tp::detail
