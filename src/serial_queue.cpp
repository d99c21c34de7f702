#include "serial_queue.hpp"

#include <cassert>
#include <chrono>
#include <thread>

#include "worker.hpp"

namespace tp::detail {

namespace {

// The queues whose carriers are running on this thread, innermost first: a job waiting inside a
// queue's job may run another queue's turn on top of it. Waiting for one of these would wait for
// a carrier that is blocked below the waiter.
struct RunningQueue {
  const SerialQueue *queue;
  const RunningQueue *outer;
};
thread_local const RunningQueue *tls_running_queues = nullptr;

constexpr std::size_t kInitialNodes = 16;

void nothing(void *) {}

}  // namespace

SerialQueue::SerialQueue(Pool &pool) : pool_(pool), pending_(0, &pool.sleep()), jobs_(0) {
  jobs_.reserve(kInitialNodes);  // not in the constructor: see Injector::Injector
}

SerialQueue::~SerialQueue() {
  assert(pending_.done() && "a queue is freed only after drain() returned");
}

Status SerialQueue::submit(Job job) noexcept {
  // The latch holds at most 2^29 - 1 jobs; a count that wrapped would start a second carrier. A
  // hint (racing submitters may pass it together), far enough below the limit for any number of
  // threads.
  if (pending_.unfinished() >= kMostPending) return Status::out_of_memory;
  if (const Status status = pool_.admit(1); status != Status::ok) return status;
  bool pushed;
  // ThreadSanitizer (tsan_edges.hpp): this submission before the job runs, on the queue's address,
  // which the carrier acquires before each job and releases after it.
  tsan::release(this);
  try {
    pushed = jobs_.push(job);
  } catch (...) {
    pushed = false;
  }
  if (!pushed) {
    pool_.unadmit_here(1);
    return Status::out_of_memory;
  }
  tsan::release(this);  // again: the push may have allocated a node, freed after drain()
  if (pending_.add_one_after_publishing()) start();
  return Status::ok;
}

void SerialQueue::start() noexcept {
  // The queue was idle: this submission starts its carrier. Until the carrier's last job has run,
  // the count keeps the queue from being destroyed (drain() waits for it).
  const Job carrier{&SerialQueue::carry, this};
  while (pool_.submit_carrier(carrier, /*behind_queued_work=*/false) != Status::ok) {
    // No memory to publish it: a worker's deque that cannot grow, an injector without a free
    // node. A worker runs the turn itself: the jobs still run one at a time and in order. A thread
    // outside the pool cannot run them (they are counted as jobs of the pool's workers), so it
    // tries again until memory comes back.
    if (Worker *self = Worker::current(&pool_); self != nullptr && !self->exiting()) {
      run_turn(*self, /*as_job=*/false);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void SerialQueue::carry(void *queue) {
  static_cast<SerialQueue *>(queue)->run_turn(*tls_worker, /*as_job=*/true);
}

void SerialQueue::run_turn(Worker &self, bool as_job) noexcept {
  const RunningQueue running{this, tls_running_queues};
  tls_running_queues = &running;
  for (std::size_t ran = 1;; ++ran) {
    Job job;
    [[maybe_unused]] const bool popped = jobs_.pop(job);
    assert(popped && "a job is pushed before it is counted");
    tsan::acquire(this);
    self.run(job);  // counts it as a finished job of the pool; catches what it throws
    tsan::release(this);
    if (pending_.finish()) break;  // empty: the queue may be gone from here on
    if (ran == kJobsPerTurn) {
      if (yield()) break;  // the next turn may already run elsewhere: hands off
      ran = 0;
    }
  }
  tls_running_queues = running.outer;
  // A carrier is no job of its own (run() counts one for it as it returns); a turn run inside
  // start() is part of the submitting job.
  if (as_job) self.uncount_running_carrier();
}

bool SerialQueue::yield() noexcept {
  return pool_.submit_carrier(Job{&SerialQueue::carry, this}, /*behind_queued_work=*/true) ==
         Status::ok;
}

bool SerialQueue::running_on_this_thread() const noexcept {
  for (const RunningQueue *running = tls_running_queues; running != nullptr;
       running = running->outer) {
    if (running->queue == this) return true;
  }
  return false;
}

Status SerialQueue::wait() noexcept {
  if (running_on_this_thread()) return Status::would_deadlock;
  // Nothing left: every job submitted before the call has run. Also the only case after the
  // pool's destruction, which this path never touches.
  if (empty_and_done()) {
    tsan::acquire(this);
    return Status::ok;
  }
  Latch reached(1, &pool_.sleep());
  LatchedJob marker{&nothing, nullptr, &reached};
  if (submit(marker.job()) == Status::ok) {
    pool_.wait_for(reached);
    return Status::ok;
  }
  // Refused: the pool is shutting down (it still runs every job it accepted, and only the
  // queue's own jobs can add more), or there is no memory for the marker. Wait for the queue to
  // be empty instead. An open latch is not enough: a submitter between its push and its count
  // has lent its job's place to a later one (empty_and_done()); its count, when it comes, starts
  // the carrier that runs what is left.
  for (;;) {
    pool_.wait_for(pending_);
    if (empty_and_done()) {
      tsan::acquire(this);
      return Status::ok;
    }
    std::this_thread::yield();
  }
}

bool SerialQueue::empty_and_done() const noexcept {
  // The count alone can read zero while a job whose submission returned is still queued: a
  // submitter that pushed job A and has not counted it yet, a later submitter that pushed B and
  // counted it, and a carrier that ran A on B's count and found the latch open. So: the queue
  // first, then the count. A queue found empty after every job of interest was pushed means that
  // each of them was popped; a count found zero after that means that none of them is between its
  // pop and its finish (a carrier pops only while the count covers the job it pops), so each has
  // finished, and the acquire orders what it wrote before our return.
  return jobs_.empty() && pending_.done();
}

Status SerialQueue::drain() noexcept {
  if (running_on_this_thread()) return Status::would_deadlock;
  // wait_for() only compares the pool's address: a queue may be drained (and destroyed) after its
  // pool was destroyed, when it has nothing left to wait for.
  pool_.wait_for(pending_);
  tsan::acquire(this);
  return Status::ok;
}

}  // namespace tp::detail
