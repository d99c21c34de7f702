// Task groups through the public C ABI (src/group.hpp): spawning from any thread and from the
// group's own jobs, waiting (helping on a worker), reuse, misuse and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using namespace std::chrono_literals;
using tp_test::GroupPtr;
using tp_test::increment;
using tp_test::make_group;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::scaled;
using tp_test::Watchdog;

TEST(Group, WaitReturnsAfterEveryJobSpawnedBeforeIt) {
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  std::atomic<std::uint64_t> ran{0};
  const std::size_t jobs = scaled(10000);
  for (std::size_t i = 0; i < jobs; ++i)
    ASSERT_EQ(tp_group_spawn(group.get(), increment, &ran), TP_OK);
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(ran.load(), jobs);
}

struct Tree {
  tp_group *group;
  std::atomic<std::uint64_t> *count;
  unsigned depth;
};

void tree(void *arg) {
  auto *t = static_cast<Tree *>(arg);
  t->count->fetch_add(1);
  if (t->depth == 0) {
    delete t;
    return;
  }
  for (int child = 0; child < 2; ++child) {
    tp_group_spawn(t->group, tree, new Tree{t->group, t->count, t->depth - 1});
  }
  delete t;
}

TEST(Group, JobsSpawnedByItsJobsAreWaitedForToo) {
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  std::atomic<std::uint64_t> count{0};
  ASSERT_EQ(tp_group_spawn(group.get(), tree, new Tree{group.get(), &count, 12}), TP_OK);
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(count.load(), (1u << 13) - 1);
}

TEST(Group, IsReusableAfterAWait) {
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  for (int round = 0; round < 50; ++round) {
    std::atomic<std::uint64_t> ran{0};
    for (int i = 0; i < 20; ++i) ASSERT_EQ(tp_group_spawn(group.get(), increment, &ran), TP_OK);
    ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
    ASSERT_EQ(ran.load(), 20u) << "round " << round;
  }
}

// Waiters of one round may still be on their way to sleep when the owner's wait has returned
// (and cleared the group's waiter marks) and the next round has begun: each must sleep only on a
// mark of its own, or the opening of the round it sleeps through would wake nobody. Outside
// threads block on the latch's word; a worker's waiting job sleeps in the sleep protocol.
struct Reuse {
  tp_group *group;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> waits{0};
};

void wait_until_stopped(void *arg) {
  auto *reuse = static_cast<Reuse *>(arg);
  while (!reuse->stop.load()) {
    EXPECT_EQ(tp_group_wait(reuse->group), TP_OK);
    reuse->waits.fetch_add(1);
  }
}

TEST(Group, AGroupReusedWhileOthersWaitStrandsNoWaiter) {
  Watchdog watchdog("group reuse with concurrent waiters");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  Reuse reuse{group.get()};
  ASSERT_EQ(tp_pool_execute(pool.get(), wait_until_stopped, &reuse), TP_OK);  // a worker waits
  std::vector<std::thread> outside;
  for (int t = 0; t < 2; ++t) outside.emplace_back(wait_until_stopped, &reuse);
  std::atomic<std::uint64_t> ran{0};
  const std::size_t rounds = scaled(20000);
  for (std::size_t round = 0; round < rounds; ++round) {
    ASSERT_EQ(tp_group_spawn(group.get(), increment, &ran), TP_OK);
    if (round % 2 == 0) std::this_thread::yield();  // let waiters reach their sleep half the time
    ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  }
  reuse.stop = true;
  for (auto &thread : outside) thread.join();  // a stranded waiter would never return: watchdog
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), rounds);
  EXPECT_GE(reuse.waits.load(), 3u);
}

TEST(Group, SpawnsFromManyThreadsAreAllWaitedFor) {
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  std::atomic<std::uint64_t> ran{0};
  const std::size_t per_thread = scaled(20000);
  std::vector<std::thread> spawners;
  for (int t = 0; t < 4; ++t) {
    spawners.emplace_back([&] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        ASSERT_EQ(tp_group_spawn(group.get(), increment, &ran), TP_OK);
      }
    });
  }
  for (auto &spawner : spawners) spawner.join();
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(ran.load(), 4 * per_thread);
}

TEST(Group, AWaitOnTheOnlyWorkerRunsTheGroupsJobsItself) {
  // One worker, which waits for a group whose jobs are queued behind it: only a waiter that
  // helps (instead of blocking) can finish.
  PoolPtr pool = make_pool(1);
  GroupPtr group = make_group(pool.get());
  struct Scene {
    tp_group *group;
    std::atomic<std::uint64_t> ran{0};
    tp_status status = TP_ERR_INVALID_ARGUMENT;
  } scene{group.get()};
  Watchdog watchdog("a group wait on the only worker", 60s);
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *s = static_cast<Scene *>(arg);
                  for (int i = 0; i < 100; ++i) tp_group_spawn(s->group, increment, &s->ran);
                  s->status = tp_group_wait(s->group);
                },
                &scene),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(scene.status, TP_OK);
  EXPECT_EQ(scene.ran.load(), 100u);
}

TEST(Group, WaitingFromOneOfItsOwnJobsWouldDeadlock) {
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  struct Self {
    tp_group *group;
    std::atomic<int> wait{1}, destroy{1};
  } self{group.get()};
  ASSERT_EQ(tp_group_spawn(
                group.get(),
                [](void *arg) {
                  auto *s = static_cast<Self *>(arg);
                  s->wait = tp_group_wait(s->group);
                  s->destroy = tp_group_destroy(s->group);  // refused: nothing is freed
                },
                &self),
            TP_OK);
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(self.wait.load(), TP_ERR_WOULD_DEADLOCK);
  EXPECT_EQ(self.destroy.load(), TP_ERR_WOULD_DEADLOCK);
}

TEST(Group, AnEmptyGroupWaitsForNothing) {
  PoolPtr pool = make_pool(1);
  GroupPtr group = make_group(pool.get());
  EXPECT_EQ(tp_group_wait(group.get()), TP_OK);
}

TEST(Group, SpawnsAfterShutdownAreRefusedAndTheGroupOutlivesItsPool) {
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_create(2, &pool), TP_OK);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool, &group), TP_OK);
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_group_spawn(group, increment, &ran), TP_OK);
  ASSERT_EQ(tp_pool_shutdown(pool), TP_OK);  // runs the accepted job
  EXPECT_EQ(ran.load(), 1u);
  EXPECT_EQ(tp_group_spawn(group, increment, &ran), TP_ERR_SHUTDOWN);
  EXPECT_EQ(tp_group_wait(group), TP_OK);  // the refused job is not waited for
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(tp_group_destroy(group), TP_OK);  // after its pool: nothing left to wait for
  EXPECT_EQ(ran.load(), 1u);
}

TEST(Group, BadArguments) {
  PoolPtr pool = make_pool(1);
  tp_group *group = reinterpret_cast<tp_group *>(&group);
  EXPECT_EQ(tp_group_create(nullptr, &group), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(group, nullptr);
  EXPECT_EQ(tp_group_create(pool.get(), nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_spawn(nullptr, increment, nullptr), TP_ERR_INVALID_ARGUMENT);
  GroupPtr real = make_group(pool.get());
  EXPECT_EQ(tp_group_spawn(real.get(), nullptr, nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_wait(nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_destroy(nullptr), TP_OK);
}

}  // namespace
