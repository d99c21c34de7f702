// Group cancellation (tp_group_cancel, tp_group_spawn_cancellable, tp_group_is_cancelled): jobs
// that have not started run their on_cancel instead, exactly one of the two for every job, also
// while many threads spawn; the next wait says TP_ERR_CANCELLED and clears the mark; a parallel
// loop inside a cancelled group's job starts no more pieces.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp_test::Gate;
using tp_test::GroupPtr;
using tp_test::increment;
using tp_test::make_group;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::scaled;
using tp_test::stats_of;
using tp_test::Watchdog;

struct Outcome {
  std::atomic<std::uint64_t> ran{0};
  std::atomic<std::uint64_t> cancelled{0};
};

void ran(void *arg) { static_cast<Outcome *>(arg)->ran.fetch_add(1); }
void on_cancel(void *arg) { static_cast<Outcome *>(arg)->cancelled.fetch_add(1); }

TEST(GroupCancel, JobsNotStartedRunOnCancelAndTheNextWaitSaysCancelledOnce) {
  Watchdog watchdog("cancel queued jobs");
  PoolPtr pool = make_pool(1);
  GroupPtr group = make_group(pool.get());
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);  // the only worker
  gate.wait_for_arrivals(1);
  Outcome outcome;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(tp_group_spawn_cancellable(group.get(), ran, on_cancel, &outcome), TP_OK);
  }
  std::atomic<std::uint64_t> plain{0};
  for (int i = 0; i < 10; ++i) ASSERT_EQ(tp_group_spawn(group.get(), increment, &plain), TP_OK);
  EXPECT_EQ(tp_group_is_cancelled(group.get()), 0);
  ASSERT_EQ(tp_group_cancel(group.get()), TP_OK);
  EXPECT_EQ(tp_group_is_cancelled(group.get()), 1);
  // Spawned after the cancel and before the next wait: skipped too.
  ASSERT_EQ(tp_group_spawn_cancellable(group.get(), ran, on_cancel, &outcome), TP_OK);
  gate.release();
  EXPECT_EQ(tp_group_wait(group.get()), TP_ERR_CANCELLED);
  EXPECT_EQ(outcome.ran.load(), 0u);
  EXPECT_EQ(outcome.cancelled.load(), 101u);
  EXPECT_EQ(plain.load(), 0u);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(stats_of(pool.get()).cancelled, 111u);
  // The mark is gone: the group is fresh again.
  EXPECT_EQ(tp_group_is_cancelled(group.get()), 0);
  EXPECT_EQ(tp_group_wait(group.get()), TP_OK);
  ASSERT_EQ(tp_group_spawn_cancellable(group.get(), ran, on_cancel, &outcome), TP_OK);
  EXPECT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(outcome.ran.load(), 1u);
}

struct Polling {
  tp_group *group;
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
};

void poll_until_cancelled(void *arg) {
  auto *polling = static_cast<Polling *>(arg);
  polling->started = true;
  while (tp_group_is_cancelled(polling->group) == 0) std::this_thread::yield();
  polling->saw_cancel = true;
}

TEST(GroupCancel, ARunningJobFinishesAndMayPollForTheCancel) {
  Watchdog watchdog("a running job sees the cancel");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  Polling polling{group.get()};
  ASSERT_EQ(tp_group_spawn(group.get(), poll_until_cancelled, &polling), TP_OK);
  while (!polling.started) std::this_thread::yield();
  ASSERT_EQ(tp_group_cancel(group.get()), TP_OK);
  EXPECT_EQ(tp_group_wait(group.get()), TP_ERR_CANCELLED);
  EXPECT_TRUE(polling.saw_cancel.load());
}

// Each job owns a heap object that either function frees: under ASan a job that ran neither
// leaks, and one that ran both frees twice.
struct Owned {
  std::atomic<std::uint64_t> *ran;
  std::atomic<std::uint64_t> *cancelled;
  std::atomic<std::uint8_t> *runs;
};

void owned_run(void *arg) {
  std::unique_ptr<Owned> owned(static_cast<Owned *>(arg));
  owned->ran->fetch_add(1);
  owned->runs->fetch_add(1);
}
void owned_cancel(void *arg) {
  std::unique_ptr<Owned> owned(static_cast<Owned *>(arg));
  owned->cancelled->fetch_add(1);
  owned->runs->fetch_add(1);
}

TEST(GroupCancel, ACancelWhileManyThreadsSpawnRunsExactlyOneFunctionPerJob) {
  Watchdog watchdog("cancel racing with spawns", std::chrono::seconds(120));
  PoolPtr pool = make_pool(2, TP_DEFAULT_SPIN_LIMIT, TP_PIN_NONE);
  const std::size_t per_thread = scaled(20000);
  constexpr int kThreads = 3;
  for (int round = 0; round < 3; ++round) {
    GroupPtr group = make_group(pool.get());
    std::atomic<std::uint64_t> ran_count{0}, cancelled_count{0};
    std::vector<std::atomic<std::uint8_t>> runs(per_thread * kThreads);
    std::atomic<std::uint64_t> accepted{0};
    std::vector<std::thread> spawners;
    for (int t = 0; t < kThreads; ++t) {
      spawners.emplace_back([&, t] {
        for (std::size_t i = 0; i < per_thread; ++i) {
          auto *owned = new Owned{&ran_count, &cancelled_count,
                                  &runs[static_cast<std::size_t>(t) * per_thread + i]};
          if (tp_group_spawn_cancellable(group.get(), owned_run, owned_cancel, owned) == TP_OK) {
            accepted.fetch_add(1);
          } else {
            delete owned;
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + round));
    ASSERT_EQ(tp_group_cancel(group.get()), TP_OK);
    for (auto &spawner : spawners) spawner.join();
    EXPECT_EQ(tp_group_wait(group.get()), TP_ERR_CANCELLED);
    EXPECT_EQ(ran_count.load() + cancelled_count.load(), accepted.load());
    EXPECT_EQ(accepted.load(), per_thread * kThreads);
    for (auto &count : runs) ASSERT_EQ(count.load(), 1u);
  }
}

struct LoopInGroup {
  tp_pool *pool;
  tp_group *group;
  std::atomic<std::uint64_t> visited{0};
  std::atomic<int> status{1};
};

void cancel_at_first_piece(std::size_t lo, std::size_t hi, void *arg) {
  auto *test = static_cast<LoopInGroup *>(arg);
  if (lo == 0) tp_group_cancel(test->group);
  test->visited.fetch_add(hi - lo);
}

void loop_job(void *arg) {
  auto *test = static_cast<LoopInGroup *>(arg);
  test->status = tp_pool_parallel_for(test->pool, 0, 100000, 1, cancel_at_first_piece, test);
}

TEST(GroupCancel, AParallelLoopInsideACancelledGroupStopsStartingPieces) {
  Watchdog watchdog("parallel_for in a cancelled group");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  LoopInGroup test{pool.get(), group.get()};
  ASSERT_EQ(tp_group_spawn(group.get(), loop_job, &test), TP_OK);
  EXPECT_EQ(tp_group_wait(group.get()), TP_ERR_CANCELLED);
  EXPECT_EQ(test.status.load(), TP_ERR_CANCELLED);
  EXPECT_LT(test.visited.load(), 100000u);
  EXPECT_GE(test.visited.load(), 1u);
  // Outside any group, or in a group that is not cancelled, the loop covers the whole range.
  LoopInGroup whole{pool.get(), nullptr};
  ASSERT_EQ(tp_pool_parallel_for(
                pool.get(), 0, 100000, 1,
                [](std::size_t lo, std::size_t hi, void *arg) {
                  static_cast<LoopInGroup *>(arg)->visited.fetch_add(hi - lo);
                },
                &whole),
            TP_OK);
  EXPECT_EQ(whole.visited.load(), 100000u);
}

// A plain job that a worker runs while one of a cancelled group's jobs waits lower on its stack
// is no job of that group: a loop it starts covers its whole range.
struct UnrelatedLoop {
  tp_pool *pool;
  tp_group *cancelled;
  tp_group *inner = nullptr;
  std::atomic<std::uint64_t> visited{0};
  std::atomic<int> status{-1};
};

void count_range(std::size_t lo, std::size_t hi, void *arg) {
  static_cast<UnrelatedLoop *>(arg)->visited.fetch_add(hi - lo);
}

void plain_job_with_loop(void *arg) {
  auto *test = static_cast<UnrelatedLoop *>(arg);
  test->status = tp_pool_parallel_for(test->pool, 0, 1000, 1, count_range, test);
}

void cancelled_group_job(void *arg) {
  auto *test = static_cast<UnrelatedLoop *>(arg);
  tp_group_cancel(test->cancelled);
  // On the only worker: the inner group's job goes onto its deque, then the plain job on top of
  // it. The wait pops the plain job first and runs it on top of this frame.
  tp_group_spawn(
      test->inner, [](void *) {}, nullptr);
  tp_pool_execute(test->pool, plain_job_with_loop, test);
  tp_group_wait(test->inner);
}

TEST(GroupCancel, ALoopInAPlainJobRunOnTopOfACancelledGroupsJobIsNotCancelled) {
  Watchdog watchdog("unrelated loop under a cancelled group's job");
  PoolPtr pool = make_pool(1);
  GroupPtr cancelled = make_group(pool.get());
  GroupPtr inner = make_group(pool.get());
  UnrelatedLoop test{pool.get(), cancelled.get()};
  test.inner = inner.get();
  ASSERT_EQ(tp_group_spawn(cancelled.get(), cancelled_group_job, &test), TP_OK);
  EXPECT_EQ(tp_group_wait(cancelled.get()), TP_ERR_CANCELLED);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(test.status.load(), TP_OK);
  EXPECT_EQ(test.visited.load(), 1000u);
}

TEST(GroupCancel, DestroyingACancelledGroupSucceeds) {
  PoolPtr pool = make_pool(1);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  Outcome outcome;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(tp_group_spawn_cancellable(group, ran, on_cancel, &outcome), TP_OK);
  }
  ASSERT_EQ(tp_group_cancel(group), TP_OK);
  EXPECT_EQ(tp_group_destroy(group), TP_OK);
  EXPECT_EQ(outcome.ran.load() + outcome.cancelled.load(), 10u);
}

TEST(GroupCancel, BadArguments) {
  PoolPtr pool = make_pool(1);
  GroupPtr group = make_group(pool.get());
  Outcome outcome;
  EXPECT_EQ(tp_group_cancel(nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_is_cancelled(nullptr), 0);
  EXPECT_EQ(tp_group_spawn_cancellable(nullptr, ran, on_cancel, &outcome), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_spawn_cancellable(group.get(), nullptr, on_cancel, &outcome),
            TP_ERR_INVALID_ARGUMENT);
  // on_cancel may be NULL: a skipped job then runs nothing.
  ASSERT_EQ(tp_group_cancel(group.get()), TP_OK);
  EXPECT_EQ(tp_group_spawn_cancellable(group.get(), ran, nullptr, &outcome), TP_OK);
  EXPECT_EQ(tp_group_wait(group.get()), TP_ERR_CANCELLED);
  EXPECT_EQ(outcome.ran.load() + outcome.cancelled.load(), 0u);
  ASSERT_EQ(tp_pool_shutdown(pool.get()), TP_OK);
  EXPECT_EQ(tp_group_spawn_cancellable(group.get(), ran, on_cancel, &outcome), TP_ERR_SHUTDOWN);
}

}  // namespace
