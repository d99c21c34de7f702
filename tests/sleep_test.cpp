// The sleep protocol through the public C ABI (src/sleep.md): no wake-up is lost whatever order
// workers park and jobs arrive in, one job wakes at most one worker, work reaches workers blocked
// in a wait, and a parked pool burns no CPU.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <semaphore>
#include <thread>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using namespace std::chrono_literals;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::scaled;
using tp_test::Watchdog;

tp_pool_stats get_stats(tp_pool *pool) {
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  EXPECT_EQ(tp_pool_get_stats(pool, &stats), TP_OK);
  return stats;
}

void increment(void *arg) { static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(1); }

// ---- no lost wake-ups ----

struct Ping {
  std::binary_semaphore done{0};
};

void park_then_submit_rounds(std::size_t workers, unsigned spin_limit, std::size_t rounds) {
  PoolPtr pool = make_pool(workers, spin_limit);
  Ping ping;
  Watchdog watchdog("park-then-submit rounds", 120s,
                    [&] { return tp_test::describe_workers(pool.get()); });
  for (std::size_t round = 0; round < rounds; ++round) {
    ASSERT_EQ(tp_pool_execute(
                  pool.get(), [](void *arg) { static_cast<Ping *>(arg)->done.release(); }, &ping),
              TP_OK);
    ping.done.acquire();  // the watchdog fails the test if a wake-up is ever lost
  }
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(get_stats(pool.get()).executed, rounds);
  EXPECT_GT(get_stats(pool.get()).parks, 0u);  // the workers did go to sleep in between
}

TEST(NoLostWakeups, OneWorkerParkingAtOnce) { park_then_submit_rounds(1, 0, scaled(100000)); }
TEST(NoLostWakeups, TwoWorkersParkingAtOnce) { park_then_submit_rounds(2, 0, scaled(100000)); }
TEST(NoLostWakeups, FourWorkersAfterSpinning) { park_then_submit_rounds(4, 20, scaled(50000)); }

TEST(NoLostWakeups, JobsSpawnedByJobsWakeParkedPeers) {
  // Worker A's job spawns into A's deque and then blocks until a peer has run the child: only a
  // wake-up of a parked peer can make progress.
  PoolPtr pool = make_pool(2, 0);
  struct Chain {
    tp_pool *pool;
    std::binary_semaphore child_done{0};
  } chain{pool.get()};
  Watchdog watchdog("spawned job wakes a parked peer", 60s,
                    [&] { return tp_test::describe_workers(pool.get()); });
  const std::size_t rounds = scaled(20000);
  for (std::size_t round = 0; round < rounds; ++round) {
    ASSERT_EQ(tp_pool_execute(
                  pool.get(),
                  [](void *arg) {
                    auto *c = static_cast<Chain *>(arg);
                    tp_pool_execute(
                        c->pool, [](void *a) { static_cast<Chain *>(a)->child_done.release(); }, c);
                    c->child_done.acquire();
                  },
                  &chain),
              TP_OK);
    ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  }
  EXPECT_EQ(get_stats(pool.get()).stolen, rounds);
}

TEST(NoThunderingHerd, EachSubmissionWakesAtMostOneWorker) {
  // Four parked workers, one job at a time: every park follows a wake-up, and a submission wakes
  // at most one worker, so the parks after the first four (one per worker at start) can be at most
  // one per job. Waking everyone for each job would give about four per job.
  PoolPtr pool = make_pool(4, 0);
  Watchdog watchdog("single jobs into a parked pool", 60s,
                    [&] { return tp_test::describe_workers(pool.get()); });
  while (get_stats(pool.get()).parks < 4) std::this_thread::yield();  // all asleep
  Ping ping;
  const std::size_t rounds = scaled(2000);
  for (std::size_t round = 0; round < rounds; ++round) {
    ASSERT_EQ(tp_pool_execute(
                  pool.get(), [](void *arg) { static_cast<Ping *>(arg)->done.release(); }, &ping),
              TP_OK);
    ping.done.acquire();
  }
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_LE(get_stats(pool.get()).parks, 4 + rounds);
}

TEST(NoLostWakeups, WorkArrivingWhileEveryWorkerBlocksInAWaitStillRuns) {
  // Worker 1 runs X, a group job blocked until Z has run. Worker 0 runs J, which waits for the
  // group and, finding nothing to help with, blocks. Then Z arrives from outside: no worker is
  // parked or searching, so nobody is woken for it. A worker blocked in a wait must come back to
  // look for work by itself, or this never finishes.
  PoolPtr pool = make_pool(2, 0);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  struct Scene {
    tp_group *group;
    std::binary_semaphore z_ran{0};
    std::atomic<bool> x_started{false}, j_started{false};
    std::atomic<int> j_status{1};
  } scene{group};
  Watchdog watchdog("work arriving while every worker blocks", 60s,
                    [&] { return tp_test::describe_workers(pool.get()); });
  ASSERT_EQ(tp_group_spawn(
                group,
                [](void *arg) {
                  auto *s = static_cast<Scene *>(arg);
                  s->x_started = true;
                  s->z_ran.acquire();
                },
                &scene),
            TP_OK);
  while (!scene.x_started.load()) std::this_thread::yield();
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *s = static_cast<Scene *>(arg);
                  s->j_started = true;
                  s->j_status = tp_group_wait(s->group);
                },
                &scene),
            TP_OK);
  while (!scene.j_started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);  // let J block (not needed for the outcome, only to test it)
  ASSERT_EQ(tp_pool_execute(
                pool.get(), [](void *arg) { static_cast<Scene *>(arg)->z_ran.release(); }, &scene),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(scene.j_status.load(), TP_OK);
  EXPECT_EQ(tp_group_destroy(group), TP_OK);
}

TEST(Idle, AParkedPoolBurnsNoCpu) {
  PoolPtr pool = make_pool(2);
  std::atomic<std::uint64_t> ran{0};
  for (int i = 0; i < 10000; ++i) tp_pool_execute(pool.get(), increment, &ran);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  std::this_thread::sleep_for(50ms);  // let the spin phase end (200 short rounds)
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(500ms);
  getrusage(RUSAGE_SELF, &after);
  auto cpu_us = [](const rusage &r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000L + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
  };
  // Not a timing assertion: CPU time our threads consumed, whatever the machine is doing. Two
  // spinning workers would burn about 1,000,000 us here; parked ones burn about nothing.
  EXPECT_LT(cpu_us(after) - cpu_us(before), 50000L);
}

}  // namespace
