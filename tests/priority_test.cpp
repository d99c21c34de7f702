// Priority levels (tp_pool_execute_priority): the order in which workers take waiting jobs (high,
// then normal, then low), the ageing that keeps a low job from starving under a stream of normal
// work, exactly-once delivery of every level from many threads, and the status paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp_test::Gate;
using tp_test::increment;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::scaled;
using tp_test::Watchdog;

// What the workers took, in the order they took it: (worker, level) per job.
struct Taken {
  std::mutex mutex;
  std::vector<std::pair<int, int>> order;
  tp_pool *pool = nullptr;
};

struct Tagged {
  Taken *taken;
  int level;
};

void note_level(void *arg) {
  const auto *tagged = static_cast<const Tagged *>(arg);
  const std::lock_guard lock(tagged->taken->mutex);
  tagged->taken->order.emplace_back(tp_pool_current_worker(tagged->taken->pool), tagged->level);
}

// The rank a level is taken in: high, normal, low.
int rank(int level) { return level == TP_PRIORITY_HIGH ? 0 : level == TP_PRIORITY_NORMAL ? 1 : 2; }

// The levels `worker` took, in the order it took them.
std::vector<int> levels_taken_by(const Taken &taken, int worker) {
  std::vector<int> levels;
  for (const auto &[who, level] : taken.order) {
    if (who == worker) levels.push_back(level);
  }
  return levels;
}

bool sorted_by_rank(const std::vector<int> &levels) {
  return std::is_sorted(levels.begin(), levels.end(),
                        [](int a, int b) { return rank(a) < rank(b); });
}

// "Hx20 Nx20 Lx20": the runs of levels one worker took, for messages.
std::string runs_of(const std::vector<int> &levels) {
  std::string text;
  for (std::size_t i = 0; i < levels.size();) {
    std::size_t j = i;
    while (j < levels.size() && levels[j] == levels[i]) ++j;
    const char *name = levels[i] == TP_PRIORITY_HIGH  ? "H"
                       : levels[i] == TP_PRIORITY_LOW ? "L"
                                                      : "N";
    text += std::string(text.empty() ? "" : " ") + name + "x" + std::to_string(j - i);
    i = j;
  }
  return text;
}

// Fewer than the ageing threshold (64 looks per worker) of high and normal jobs in all, so that
// ageing does not take a low job early: the plain order must show.
constexpr int kPerLevel = 20;
constexpr tp_priority kInterleaved[] = {TP_PRIORITY_LOW, TP_PRIORITY_NORMAL, TP_PRIORITY_HIGH};

// Queues kPerLevel jobs of each level, interleaved (low, normal, high, low, ...), from the calling
// thread.
std::vector<Tagged> queue_interleaved(tp_pool *pool, Taken &taken) {
  std::vector<Tagged> tags;
  tags.reserve(3 * kPerLevel);
  for (int i = 0; i < kPerLevel; ++i) {
    for (tp_priority level : kInterleaved) {
      tags.push_back(Tagged{&taken, level});
    }
  }
  for (Tagged &tag : tags) {
    EXPECT_EQ(tp_pool_execute_priority(pool, note_level, &tag, static_cast<tp_priority>(tag.level)),
              TP_OK);
  }
  return tags;
}

TEST(Priority, OneHeldWorkerTakesEveryHighJobThenEveryNormalThenEveryLow) {
  Watchdog watchdog("priority order, one worker");
  PoolPtr pool = make_pool(1);
  Taken taken;
  taken.pool = pool.get();
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  const std::vector<Tagged> tags = queue_interleaved(pool.get(), taken);
  gate.release();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);

  const std::vector<int> levels = levels_taken_by(taken, 0);
  ASSERT_EQ(levels.size(), 3u * kPerLevel);
  EXPECT_TRUE(sorted_by_rank(levels)) << runs_of(levels);
  std::printf("order taken by the one worker: %s\n", runs_of(levels).c_str());
}

// The same from inside a job: what a job submits at high priority does not wait on its
// worker's deque behind the normal jobs it spawned before.
struct Spawner {
  Taken *taken;
  std::vector<Tagged> *tags;
};

void spawn_interleaved(void *arg) {
  auto *spawner = static_cast<Spawner *>(arg);
  *spawner->tags = queue_interleaved(spawner->taken->pool, *spawner->taken);
}

TEST(Priority, WhatAJobSubmitsIsTakenInTheSameOrder) {
  Watchdog watchdog("priority order from inside a job");
  PoolPtr pool = make_pool(1);
  Taken taken;
  taken.pool = pool.get();
  std::vector<Tagged> tags;
  Spawner spawner{&taken, &tags};
  ASSERT_EQ(tp_pool_execute(pool.get(), spawn_interleaved, &spawner), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);

  const std::vector<int> levels = levels_taken_by(taken, 0);
  ASSERT_EQ(levels.size(), 3u * kPerLevel);
  EXPECT_TRUE(sorted_by_rank(levels)) << runs_of(levels);
}

TEST(Priority, EachOfSeveralHeldWorkersTakesHighThenNormalThenLow) {
  Watchdog watchdog("priority order, several workers");
  constexpr int kWorkers = 3;
  PoolPtr pool = make_pool(kWorkers);
  Taken taken;
  taken.pool = pool.get();
  Gate gate;
  for (int i = 0; i < kWorkers; ++i)
    ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(kWorkers);
  const std::vector<Tagged> tags = queue_interleaved(pool.get(), taken);
  gate.release();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);

  ASSERT_EQ(taken.order.size(), 3u * kPerLevel);
  // Every job was queued before any worker was free: each worker's own sequence is sorted.
  for (int worker = 0; worker < kWorkers; ++worker) {
    const std::vector<int> levels = levels_taken_by(taken, worker);
    EXPECT_TRUE(sorted_by_rank(levels)) << "worker " << worker << ": " << runs_of(levels);
  }
}

// Between priority jobs the worker drops its look at the levels (nothing waits), and each new
// high job must bring it back: one worker runs normal jobs from its deque, each of which submits a
// high job; the worker must take that high job next, every time, not after its deque is empty.
struct Relay {
  Taken *taken;
  std::vector<Tagged> *highs;  // one per step, in the order the steps run
  std::atomic<std::size_t> next_high{0};
};

struct Step {
  Relay *relay;
  Tagged normal;
};

void relay_step(void *arg) {
  auto *step = static_cast<Step *>(arg);
  note_level(&step->normal);
  Relay *relay = step->relay;
  Tagged &high = (*relay->highs)[relay->next_high.fetch_add(1)];
  ASSERT_EQ(tp_pool_execute_priority(relay->taken->pool, note_level, &high, TP_PRIORITY_HIGH),
            TP_OK);
}

void spawn_steps(void *arg) {
  auto *steps = static_cast<std::vector<Step> *>(arg);
  for (Step &step : *steps)
    ASSERT_EQ(tp_pool_execute(step.relay->taken->pool, relay_step, &step), TP_OK);
}

TEST(Priority, EachHighJobIsTakenNextAfterTheWorkerStoppedLookingForOne) {
  Watchdog watchdog("priority look dropped and renewed");
  PoolPtr pool = make_pool(1);
  Taken taken;
  taken.pool = pool.get();
  constexpr std::size_t kSteps = 200;
  std::vector<Tagged> highs(kSteps, Tagged{&taken, TP_PRIORITY_HIGH});
  Relay relay{&taken, &highs};
  std::vector<Step> steps(kSteps, Step{&relay, Tagged{&taken, TP_PRIORITY_NORMAL}});
  ASSERT_EQ(tp_pool_execute(pool.get(), spawn_steps, &steps), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);

  const std::vector<int> levels = levels_taken_by(taken, 0);
  ASSERT_EQ(levels.size(), 2 * kSteps);
  std::size_t alternations = 0;
  for (std::size_t i = 0; i + 1 < levels.size(); i += 2) {
    if (levels[i] == TP_PRIORITY_NORMAL && levels[i + 1] == TP_PRIORITY_HIGH) ++alternations;
  }
  EXPECT_EQ(alternations, kSteps) << runs_of(levels);
}

// Ageing: one worker runs a never-ending chain of normal jobs (each submits the next onto the
// worker's deque, where the worker finds it first); a low job submitted meanwhile still starts,
// after at most kLowAgeing looks of the worker (64, tp.h).
struct Chain {
  tp_pool *pool = nullptr;
  std::atomic<std::uint64_t> links{0};
  std::atomic<bool> low_ran{false};
  std::atomic<std::uint64_t> links_when_low_ran{0};
  std::uint64_t cap = 1'000'000;  // without ageing the low job would wait for all of these
};

void chain_link(void *arg) {
  auto *chain = static_cast<Chain *>(arg);
  const std::uint64_t links = chain->links.fetch_add(1) + 1;
  if (chain->low_ran.load() || links >= chain->cap) return;
  ASSERT_EQ(tp_pool_execute(chain->pool, chain_link, chain), TP_OK);
}

void low_job(void *arg) {
  auto *chain = static_cast<Chain *>(arg);
  chain->links_when_low_ran.store(chain->links.load());
  chain->low_ran.store(true);
}

TEST(Priority, ALowJobAgesAndRunsUnderANeverEndingStreamOfNormalJobs) {
  Watchdog watchdog("low-priority ageing");
  PoolPtr pool = make_pool(1);
  Chain chain;
  chain.pool = pool.get();
  ASSERT_EQ(tp_pool_execute(pool.get(), chain_link, &chain), TP_OK);
  while (chain.links.load() < 1000) std::this_thread::yield();  // the stream is under way
  ASSERT_EQ(tp_pool_execute_priority(pool.get(), low_job, &chain, TP_PRIORITY_LOW), TP_OK);
  const std::uint64_t links_at_submission = chain.links.load();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);

  ASSERT_TRUE(chain.low_ran.load());
  const std::uint64_t waited = chain.links_when_low_ran.load() - links_at_submission;
  std::printf("normal jobs that started while the low job waited: %llu (bound: 64)\n",
              static_cast<unsigned long long>(waited));
  // 64 looks, each one normal job; and the job that was running when the low one arrived.
  EXPECT_LE(waited, 64u + 1u);
  EXPECT_LT(chain.links.load(), chain.cap) << "the chain stopped only at its cap";
}

// A high job from another thread reaches a worker that never runs dry: the worker's look at the
// levels (a flag the submission sets) is seen while it runs its own stream of normal jobs, not
// only once its deque is empty.
// Records what low_job() records (the chain stops once it ran), at the other level.
void high_job(void *arg) { low_job(arg); }

TEST(Priority, AHighJobFromOutsideIsTakenWhileTheWorkerHasAStreamOfItsOwn) {
  Watchdog watchdog("high priority from outside into a busy worker");
  PoolPtr pool = make_pool(1);
  for (int round = 0; round < 20; ++round) {
    Chain chain;
    chain.pool = pool.get();
    ASSERT_EQ(tp_pool_execute(pool.get(), chain_link, &chain), TP_OK);
    while (chain.links.load() < 100) std::this_thread::yield();  // the stream is under way
    ASSERT_EQ(tp_pool_execute_priority(pool.get(), high_job, &chain, TP_PRIORITY_HIGH), TP_OK);
    ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
    ASSERT_TRUE(chain.low_ran.load());
    // Without the look, the high job would wait for the chain's cap (a million jobs).
    EXPECT_LT(chain.links_when_low_ran.load(), chain.cap / 2) << "round " << round;
  }
}

// Every job of every level runs exactly once, submitted from many threads and from jobs.
struct Ledger {
  tp_pool *pool;
  std::vector<std::atomic<std::uint32_t>> runs;
  explicit Ledger(std::size_t n) : runs(n) {}
};

struct Numbered {
  Ledger *ledger;
  std::size_t index;
  bool respawn;  // submits a copy of itself at another level (the copy does not respawn)
  Numbered *copy;
};

void run_numbered(void *arg) {
  auto *job = static_cast<Numbered *>(arg);
  job->ledger->runs[job->index].fetch_add(1);
  if (job->respawn) {
    const auto level = static_cast<tp_priority>(job->index % 3);
    ASSERT_EQ(tp_pool_execute_priority(job->ledger->pool, run_numbered, job->copy, level), TP_OK);
  }
}

TEST(Priority, EveryJobOfEveryLevelRunsExactlyOnceFromManyThreads) {
  Watchdog watchdog("priority exactly-once stress");
  PoolPtr pool = make_pool(3);
  constexpr std::size_t kThreads = 4;
  const std::size_t per_thread = scaled(20000);
  const std::size_t originals = kThreads * per_thread;
  Ledger ledger(2 * originals);  // each original and its copy
  ledger.pool = pool.get();
  std::vector<Numbered> jobs(2 * originals);
  for (std::size_t i = 0; i < originals; ++i) {
    jobs[originals + i] = Numbered{&ledger, originals + i, false, nullptr};
    jobs[i] = Numbered{&ledger, i, i % 2 == 0, &jobs[originals + i]};
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t * per_thread; i < (t + 1) * per_thread; ++i) {
        const auto level = static_cast<tp_priority>((i / 7) % 3);
        ASSERT_EQ(tp_pool_execute_priority(pool.get(), run_numbered, &jobs[i], level), TP_OK);
      }
    });
  }
  for (std::thread &thread : threads) thread.join();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  for (std::size_t i = 0; i < originals; ++i) {
    ASSERT_EQ(ledger.runs[i].load(), 1u) << "job " << i;
    ASSERT_EQ(ledger.runs[originals + i].load(), i % 2 == 0 ? 1u : 0u) << "copy of job " << i;
  }
}

TEST(Priority, BadArgumentsAndShutdownAreRefusedAndShutdownRunsEveryAcceptedJob) {
  Watchdog watchdog("priority status paths");
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_create(2, &pool), TP_OK);
  std::atomic<std::uint64_t> ran{0};
  EXPECT_EQ(tp_pool_execute_priority(nullptr, increment, &ran, TP_PRIORITY_HIGH),
            TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_execute_priority(pool, nullptr, &ran, TP_PRIORITY_HIGH),
            TP_ERR_INVALID_ARGUMENT);
  for (int bad : {-1, 3, 1000}) {
    EXPECT_EQ(tp_pool_execute_priority(pool, increment, &ran, static_cast<tp_priority>(bad)),
              TP_ERR_INVALID_ARGUMENT)
        << bad;
  }
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool, Gate::hold, &gate), TP_OK);
  ASSERT_EQ(tp_pool_execute(pool, Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(2);
  constexpr int kEach = 100;
  for (int i = 0; i < kEach; ++i) {
    for (tp_priority level : kInterleaved) {
      ASSERT_EQ(tp_pool_execute_priority(pool, increment, &ran, level), TP_OK);
    }
  }
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.release();
  });
  ASSERT_EQ(tp_pool_shutdown(pool), TP_OK);  // runs every accepted job, at every level
  opener.join();
  EXPECT_EQ(ran.load(), 3u * kEach);
  for (tp_priority level : kInterleaved) {
    EXPECT_EQ(tp_pool_execute_priority(pool, increment, &ran, level), TP_ERR_SHUTDOWN);
  }
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(ran.load(), 3u * kEach);
}

// An idle pool is woken by a high or low job as by a normal one (no job waits for a worker that
// sleeps).
TEST(Priority, ParkedWorkersWakeForHighAndLowJobs) {
  Watchdog watchdog("priority wake-ups");
  PoolPtr pool = make_pool(2);
  std::atomic<std::uint64_t> ran{0};
  for (int round = 0; round < 200; ++round) {
    const tp_priority level = round % 2 == 0 ? TP_PRIORITY_HIGH : TP_PRIORITY_LOW;
    ASSERT_EQ(tp_pool_execute_priority(pool.get(), increment, &ran, level), TP_OK);
    if (round % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // parked
    while (ran.load() != static_cast<std::uint64_t>(round + 1)) std::this_thread::yield();
  }
}

}  // namespace
