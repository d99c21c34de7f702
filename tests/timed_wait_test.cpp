// Timed waits (tp_group_wait_for, tp_pool_wait_idle_for): they give up with TP_ERR_TIMEOUT and
// change nothing, from outside the pool and from a worker that sleeps in the sleep protocol with a
// deadline (and withdraws from it). No timing assertions: only statuses, and that what was waited
// for is still waited for afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
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
using tp_test::Watchdog;

constexpr std::uint64_t kMillisecond = 1000000;

TEST(TimedWait, AGroupWaitGivesUpWhileAJobRunsAndSucceedsOnceItEnds) {
  Watchdog watchdog("group wait_for");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  Gate gate;
  ASSERT_EQ(tp_group_spawn(group.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  EXPECT_EQ(tp_group_wait_for(group.get(), 0), TP_ERR_TIMEOUT);
  EXPECT_EQ(tp_group_wait_for(group.get(), 5 * kMillisecond), TP_ERR_TIMEOUT);
  gate.release();
  EXPECT_EQ(tp_group_wait_for(group.get(), UINT64_MAX), TP_OK);  // too long to add: no deadline
  EXPECT_EQ(tp_group_wait_for(group.get(), 0), TP_OK);           // empty: at once
}

TEST(TimedWait, APoolWaitGivesUpWhileAJobRunsAndSucceedsOnceItEnds) {
  Watchdog watchdog("wait_idle_for");
  PoolPtr pool = make_pool(2);
  Gate gate;
  ASSERT_EQ(tp_pool_execute(pool.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  EXPECT_EQ(tp_pool_wait_idle_for(pool.get(), 0), TP_ERR_TIMEOUT);
  EXPECT_EQ(tp_pool_wait_idle_for(pool.get(), 5 * kMillisecond), TP_ERR_TIMEOUT);
  gate.release();
  EXPECT_EQ(tp_pool_wait_idle_for(pool.get(), 60000 * kMillisecond), TP_OK);
  EXPECT_EQ(tp_pool_wait_idle_for(pool.get(), 0), TP_OK);
}

struct TimedWaitOnAWorker {
  tp_group *group;
  std::vector<tp_status> statuses;
};

// A job that waits for another group with a deadline, on a worker: with the group's only job
// held on the other worker and nothing to help with, the waiter sleeps in the sleep protocol with
// the deadline and must withdraw from it when the deadline passes.
void wait_twice_with_deadline(void *arg) {
  auto *test = static_cast<TimedWaitOnAWorker *>(arg);
  test->statuses.push_back(tp_group_wait_for(test->group, 0));
  test->statuses.push_back(tp_group_wait_for(test->group, 20 * kMillisecond));
}

TEST(TimedWait, AWorkerThatSleepsWithADeadlineWithdrawsAndThePoolStillWakesIt) {
  Watchdog watchdog("wait_for on a worker", std::chrono::seconds(60),
                    [] { return std::string("a worker's timed wait did not return"); });
  PoolPtr pool = make_pool(2);
  GroupPtr held = make_group(pool.get());
  Gate gate;
  ASSERT_EQ(tp_group_spawn(held.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  TimedWaitOnAWorker test{held.get(), {}};
  GroupPtr waiter = make_group(pool.get());
  ASSERT_EQ(tp_group_spawn(waiter.get(), wait_twice_with_deadline, &test), TP_OK);
  ASSERT_EQ(tp_group_wait(waiter.get()), TP_OK);
  ASSERT_EQ(test.statuses.size(), 2u);
  EXPECT_EQ(test.statuses[0], TP_ERR_TIMEOUT);
  EXPECT_EQ(test.statuses[1], TP_ERR_TIMEOUT);
  gate.release();
  EXPECT_EQ(tp_group_wait(held.get()), TP_OK);
  // The worker that withdrew counts as awake again: the pool still wakes workers for new work.
  std::atomic<std::uint64_t> ran{0};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(tp_pool_execute(pool.get(), increment, &ran), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 1000u);
}

struct ShortWaits {
  tp_group *group;
  std::atomic<std::uint64_t> *timeouts;
  std::atomic<std::uint64_t> *done;
};

void short_job(void *arg) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (std::chrono::steady_clock::now() < until) {
  }
  static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(1);
}

// Waits with tiny deadlines until the group is done: deadlines pass while it sleeps, while a job
// opens the latch, while a waker chooses it: every race between withdrawing and being woken.
void wait_in_short_slices(void *arg) {
  auto *test = static_cast<ShortWaits *>(arg);
  for (;;) {
    const tp_status status = tp_group_wait_for(test->group, 20000);  // 20 us
    if (status == TP_OK) break;
    if (status != TP_ERR_TIMEOUT) std::abort();
    test->timeouts->fetch_add(1);
  }
  test->done->fetch_add(1);
}

TEST(TimedWait, ShortDeadlinesRacingWithWakeUpsLoseNoJobAndNoWaiter) {
  Watchdog watchdog("short timed waits", std::chrono::seconds(120));
  PoolPtr pool = make_pool(2, TP_DEFAULT_SPIN_LIMIT, TP_PIN_NONE);
  const std::size_t rounds = scaled(200);
  std::atomic<std::uint64_t> timeouts{0}, ran{0}, done{0};
  for (std::size_t round = 0; round < rounds; ++round) {
    GroupPtr work = make_group(pool.get());
    GroupPtr waiters = make_group(pool.get());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(tp_group_spawn(work.get(), short_job, &ran), TP_OK);
    ShortWaits test{work.get(), &timeouts, &done};
    ASSERT_EQ(tp_group_spawn(waiters.get(), wait_in_short_slices, &test), TP_OK);
    while (tp_group_wait_for(work.get(), 10000) == TP_ERR_TIMEOUT) {
    }
    ASSERT_EQ(tp_group_wait(waiters.get()), TP_OK);
  }
  EXPECT_EQ(ran.load(), rounds * 20);
  EXPECT_EQ(done.load(), rounds);
  std::printf("timed out %llu times\n", static_cast<unsigned long long>(timeouts.load()));
}

struct IdleFromInside {
  tp_pool *pool;
  std::atomic<int> status{0};
};

TEST(TimedWait, BadArguments) {
  EXPECT_EQ(tp_group_wait_for(nullptr, 0), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_wait_idle_for(nullptr, kMillisecond), TP_ERR_INVALID_ARGUMENT);
  PoolPtr pool = make_pool(1);
  IdleFromInside inside{pool.get()};
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *test = static_cast<IdleFromInside *>(arg);
                  test->status = tp_pool_wait_idle_for(test->pool, kMillisecond);
                },
                &inside),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(inside.status.load(), TP_ERR_WOULD_DEADLOCK);
  // A group's timed wait from one of its own jobs would wait for itself, deadline or not.
  GroupPtr group = make_group(pool.get());
  struct OwnJob {
    tp_group *group;
    std::atomic<int> status{0};
  } own{group.get()};
  ASSERT_EQ(tp_group_spawn(
                group.get(),
                [](void *arg) {
                  auto *test = static_cast<OwnJob *>(arg);
                  test->status = tp_group_wait_for(test->group, kMillisecond);
                },
                &own),
            TP_OK);
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  EXPECT_EQ(own.status.load(), TP_ERR_WOULD_DEADLOCK);
}

}  // namespace
