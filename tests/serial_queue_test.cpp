// Serial queues (tp_queue_*): never two jobs of one queue at once, submission order per thread and
// acceptance order across threads, waits that see everything submitted before them, a queue that
// holds no worker when idle and yields its worker when busy, and the pool's shutdown and
// counting rules for queue jobs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp_test::Gate;
using tp_test::increment;
using tp_test::make_pool;
using tp_test::make_queue;
using tp_test::PoolPtr;
using tp_test::QueuePtr;
using tp_test::scaled;
using tp_test::stats_of;
using tp_test::Watchdog;

// One queue under test: jobs note that they are inside (an overlap is a second job inside at
// once) and append to a log that only the queue's own serialisation protects.
struct Serial {
  QueuePtr queue;
  std::atomic<int> inside{0};
  std::atomic<std::uint64_t> overlaps{0};
  std::vector<std::uint64_t> log;  // written only by the queue's jobs, one at a time
};

struct Entry {
  Serial *serial;
  std::uint64_t value;
};

void log_entry(void *arg) {
  const auto *entry = static_cast<const Entry *>(arg);
  Serial &serial = *entry->serial;
  if (serial.inside.fetch_add(1) != 0) serial.overlaps.fetch_add(1);
  serial.log.push_back(entry->value);
  // A little work with the queue's job inside, so that an overlap has time to show.
  for (int i = 0; i < 50; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
  serial.inside.fetch_sub(1);
}

TEST(SerialQueue, NeverTwoJobsOfOneQueueAtOnceAndEachThreadsOrderIsKept) {
  Watchdog watchdog("serial queues under many submitters");
  PoolPtr pool = make_pool(4);
  constexpr int kQueues = 6, kThreads = 4;
  const std::size_t per_thread = scaled(20000);
  std::vector<Serial> serials(kQueues);
  for (Serial &serial : serials) serial.queue = make_queue(pool.get());
  // value = thread * per_thread + i: each thread's entries must appear in i order in every queue.
  std::vector<Entry> entries(kThreads * per_thread);
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        const std::size_t index = static_cast<std::size_t>(t) * per_thread + i;
        Serial &serial = serials[(index * 7) % kQueues];
        entries[index] = Entry{&serial, index};
        ASSERT_EQ(tp_queue_submit(serial.queue.get(), log_entry, &entries[index]), TP_OK);
      }
    });
  }
  for (auto &submitter : submitters) submitter.join();
  std::size_t total = 0;
  for (Serial &serial : serials) {
    ASSERT_EQ(tp_queue_wait(serial.queue.get()), TP_OK);
    EXPECT_EQ(serial.overlaps.load(), 0u);
    std::vector<std::uint64_t> last(kThreads, UINT64_MAX);
    for (const std::uint64_t value : serial.log) {
      const std::size_t thread = value / per_thread;
      EXPECT_TRUE(last[thread] == UINT64_MAX || last[thread] < value)
          << "thread " << thread << ": " << value << " ran after " << last[thread];
      last[thread] = value;
    }
    total += serial.log.size();
  }
  EXPECT_EQ(total, kThreads * per_thread);  // exactly once: no job lost, none run twice
}

TEST(SerialQueue, AcrossThreadsJobsRunInTheOrderTheirSubmissionsWereAccepted) {
  Watchdog watchdog("acceptance order across threads");
  PoolPtr pool = make_pool(2);
  Serial serial;
  serial.queue = make_queue(pool.get());
  // The submissions are ordered by a lock around them: each one is accepted (it returned) before
  // the next begins, whichever thread makes it.
  std::mutex order;
  std::uint64_t next = 0;
  const std::size_t count = scaled(20000);
  std::vector<Entry> entries(count);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 3; ++t) {
    submitters.emplace_back([&] {
      for (;;) {
        std::lock_guard lock(order);
        if (next == count) return;
        entries[next] = Entry{&serial, next};
        ASSERT_EQ(tp_queue_submit(serial.queue.get(), log_entry, &entries[next]), TP_OK);
        ++next;
      }
    });
  }
  for (auto &submitter : submitters) submitter.join();
  ASSERT_EQ(tp_queue_wait(serial.queue.get()), TP_OK);
  ASSERT_EQ(serial.log.size(), count);
  for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(serial.log[i], i);
}

struct Chain {
  tp_queue *queue;
  std::vector<int> order;
  int remaining;
};

void chain_link(void *arg) {
  auto *chain = static_cast<Chain *>(arg);
  chain->order.push_back(chain->remaining);
  if (chain->remaining-- > 0) {
    EXPECT_EQ(tp_queue_submit(chain->queue, chain_link, chain), TP_OK);
    chain->order.push_back(-1);  // the job it submitted has not started: it runs after this one
  }
}

TEST(SerialQueue, AJobSubmittedByAQueueJobToItsOwnQueueRunsAfterIt) {
  Watchdog watchdog("self-submission");
  PoolPtr pool = make_pool(2);
  QueuePtr queue = make_queue(pool.get());
  Chain chain{queue.get(), {}, 3};
  ASSERT_EQ(tp_queue_submit(queue.get(), chain_link, &chain), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);  // the pool counts queue jobs
  EXPECT_EQ(chain.order, (std::vector<int>{3, -1, 2, -1, 1, -1, 0}));
}

struct Waiting {
  tp_queue *queue;
  std::atomic<int> status{-1};
};

void wait_for_own_queue(void *arg) {
  auto *waiting = static_cast<Waiting *>(arg);
  waiting->status = tp_queue_wait(waiting->queue);
  EXPECT_EQ(tp_queue_destroy(waiting->queue), TP_ERR_WOULD_DEADLOCK);
}

TEST(SerialQueue, WaitingOrDestroyingFromOneOfItsOwnJobsWouldDeadlock) {
  Watchdog watchdog("wait from own job");
  PoolPtr pool = make_pool(2);
  QueuePtr queue = make_queue(pool.get());
  Waiting waiting{queue.get()};
  ASSERT_EQ(tp_queue_submit(queue.get(), wait_for_own_queue, &waiting), TP_OK);
  ASSERT_EQ(tp_queue_wait(queue.get()), TP_OK);
  EXPECT_EQ(waiting.status.load(), TP_ERR_WOULD_DEADLOCK);
}

struct Slow {
  std::atomic<std::uint64_t> ran{0};
};

void slow_increment(void *arg) {
  std::this_thread::sleep_for(std::chrono::microseconds(50));
  static_cast<Slow *>(arg)->ran.fetch_add(1);
}

TEST(SerialQueue, WaitSeesEveryJobSubmittedBeforeItAndDestroyDrains) {
  Watchdog watchdog("wait and destroy");
  PoolPtr pool = make_pool(2);
  tp_queue *queue = nullptr;
  ASSERT_EQ(tp_queue_create(pool.get(), &queue), TP_OK);
  Slow slow;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(tp_queue_submit(queue, slow_increment, &slow), TP_OK);
  ASSERT_EQ(tp_queue_wait(queue), TP_OK);
  EXPECT_EQ(slow.ran.load(), 100u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(tp_queue_submit(queue, slow_increment, &slow), TP_OK);
  ASSERT_EQ(tp_queue_destroy(queue), TP_OK);
  EXPECT_EQ(slow.ran.load(), 200u);
}

void wait_for_queue_from_a_job(void *arg) {
  auto *waiting = static_cast<Waiting *>(arg);
  waiting->status = tp_queue_wait(waiting->queue);
}

TEST(SerialQueue, AWorkerThatWaitsForAQueueRunsItsJobsIfNobodyElseCan) {
  Watchdog watchdog("wait on the only worker");
  PoolPtr pool = make_pool(1);
  QueuePtr queue = make_queue(pool.get());
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  Slow slow;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(tp_queue_submit(queue.get(), slow_increment, &slow), TP_OK);
  }
  Waiting waiting{queue.get()};
  ASSERT_EQ(tp_pool_execute(pool.get(), wait_for_queue_from_a_job, &waiting), TP_OK);
  gate.release();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(waiting.status.load(), TP_OK);
  EXPECT_EQ(slow.ran.load(), 10u);
}

struct Busy {
  tp_pool *pool;
  std::atomic<std::uint64_t> ran{0};
  std::atomic<std::uint64_t> seen_by_other{UINT64_MAX};
};

void count_busy(void *arg) { static_cast<Busy *>(arg)->ran.fetch_add(1); }
void note_progress(void *arg) {
  auto *busy = static_cast<Busy *>(arg);
  busy->seen_by_other = busy->ran.load();
}
void submit_other_work(void *arg) {
  auto *busy = static_cast<Busy *>(arg);
  EXPECT_EQ(tp_pool_execute(busy->pool, note_progress, busy), TP_OK);  // onto this worker's deque
}

TEST(SerialQueue, ABusyQueueGivesItsWorkerBackToOtherWorkAfter64Jobs) {
  Watchdog watchdog("a busy queue yields");
  PoolPtr pool = make_pool(1);
  QueuePtr queue = make_queue(pool.get());
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  Busy busy{pool.get()};
  constexpr std::uint64_t kJobs = 2000;
  // The queue's first job puts other work on the only worker: it runs while the queue still has
  // jobs left, once the queue's turn (64 jobs) ends.
  ASSERT_EQ(tp_queue_submit(queue.get(), submit_other_work, &busy), TP_OK);
  for (std::uint64_t i = 0; i < kJobs; ++i) {
    ASSERT_EQ(tp_queue_submit(queue.get(), count_busy, &busy), TP_OK);
  }
  gate.release();
  ASSERT_EQ(tp_queue_wait(queue.get()), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(busy.ran.load(), kJobs);
  EXPECT_GE(busy.seen_by_other.load(), 1u);
  EXPECT_LE(busy.seen_by_other.load(), 63u);  // the first turn: submit_other_work and 63 more
}

TEST(SerialQueue, AnIdleQueueHoldsNoWorkerAndQueuesRunInParallel) {
  Watchdog watchdog("queues in parallel");
  PoolPtr pool = make_pool(2);
  QueuePtr first = make_queue(pool.get());
  QueuePtr second = make_queue(pool.get());
  QueuePtr idle = make_queue(pool.get());
  Slow slow;
  ASSERT_EQ(tp_queue_submit(idle.get(), slow_increment, &slow), TP_OK);
  ASSERT_EQ(tp_queue_wait(idle.get()), TP_OK);
  // Two queues each hold one worker with a gated job: only possible if they run in parallel and
  // the idle queue holds neither worker.
  Gate gate;
  ASSERT_EQ(tp_queue_submit(first.get(), Gate::hold, &gate), TP_OK);
  ASSERT_EQ(tp_queue_submit(second.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(2);
  gate.release();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
}

// Each thread submits a job and waits: its own job has run when the wait returns, also while other
// threads are between their push and their count (their job may have run in its place, on a count
// that was the waiter's).
struct Mark {
  std::atomic<bool> ran{false};
};
void mark_ran(void *arg) { static_cast<Mark *>(arg)->ran.store(true); }

TEST(SerialQueue, AWaitSeesTheWaitersOwnJobRunWhileOthersSubmit) {
  Watchdog watchdog("queue waits racing with submissions");
  PoolPtr pool = make_pool(2);
  QueuePtr queue = make_queue(pool.get());
  constexpr std::size_t kThreads = 4;
  const std::size_t rounds = scaled(20000);
  std::atomic<std::uint64_t> early{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<Mark> marks(rounds);
      for (Mark &mark : marks) {
        ASSERT_EQ(tp_queue_submit(queue.get(), mark_ran, &mark), TP_OK);
        ASSERT_EQ(tp_queue_wait(queue.get()), TP_OK);
        if (!mark.ran.load()) early.fetch_add(1);
      }
      ASSERT_EQ(tp_queue_wait(queue.get()), TP_OK);  // the marks outlive their jobs
    });
  }
  for (std::thread &thread : threads) thread.join();
  EXPECT_EQ(early.load(), 0u) << "waits that returned before the waiter's own job had run";
}

TEST(SerialQueue, ThePoolCountsQueueJobsAndItsShutdownRunsEveryAcceptedOne) {
  Watchdog watchdog("shutdown with queued queue jobs");
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_create(2, &pool), TP_OK);
  tp_queue *queue = nullptr;
  ASSERT_EQ(tp_queue_create(pool, &queue), TP_OK);
  Slow slow;
  for (int i = 0; i < 200; ++i) ASSERT_EQ(tp_queue_submit(queue, slow_increment, &slow), TP_OK);
  ASSERT_EQ(tp_pool_shutdown(pool), TP_OK);  // waits for every accepted job, queue jobs included
  EXPECT_EQ(slow.ran.load(), 200u);
  tp_pool_stats stats = stats_of(pool);
  EXPECT_EQ(stats.executed, 200u);  // the queue's turns are not jobs of their own
  EXPECT_EQ(tp_queue_submit(queue, slow_increment, &slow), TP_ERR_SHUTDOWN);
  EXPECT_EQ(tp_queue_wait(queue), TP_OK);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(tp_queue_wait(queue), TP_OK);     // after its pool: nothing left to wait for
  EXPECT_EQ(tp_queue_destroy(queue), TP_OK);  // (ASan checks that neither touches the pool)
  EXPECT_EQ(slow.ran.load(), 200u);
}

void throw_from_queue(void *) { throw 42; }

TEST(SerialQueue, AJobThatThrowsIsCountedAndTheQueueGoesOn) {
  PoolPtr pool = make_pool(2);
  QueuePtr queue = make_queue(pool.get());
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_queue_submit(queue.get(), throw_from_queue, nullptr), TP_OK);
  ASSERT_EQ(tp_queue_submit(queue.get(), increment, &ran), TP_OK);
  ASSERT_EQ(tp_queue_wait(queue.get()), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 1u);
  EXPECT_EQ(stats_of(pool.get()).exceptions, 1u);
}

TEST(SerialQueue, BadArguments) {
  PoolPtr pool = make_pool(1);
  tp_queue *queue = reinterpret_cast<tp_queue *>(&queue);
  EXPECT_EQ(tp_queue_create(nullptr, &queue), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(queue, nullptr);
  EXPECT_EQ(tp_queue_create(pool.get(), nullptr), TP_ERR_INVALID_ARGUMENT);
  QueuePtr real = make_queue(pool.get());
  EXPECT_EQ(tp_queue_submit(nullptr, increment, nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_queue_submit(real.get(), nullptr, nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_queue_wait(nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_queue_destroy(nullptr), TP_OK);
}

}  // namespace
