// Group notifications (tp_group_notify): a function submitted once the group has no unfinished
// job, exactly once, never blocking, also while spawns race with it, from the group's own jobs,
// and around shutdown.
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
using tp_test::Watchdog;

void wait_until_at_least(const std::atomic<std::uint64_t> &count, std::uint64_t value) {
  while (count.load() < value) std::this_thread::yield();
}

TEST(GroupNotify, OnAnEmptyGroupItIsSubmittedAtOnce) {
  Watchdog watchdog("notify on an empty group");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  std::atomic<std::uint64_t> notified{0};
  ASSERT_EQ(tp_group_notify(group.get(), increment, &notified), TP_OK);
  wait_until_at_least(notified, 1);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(notified.load(), 1u);
}

struct Counted {
  std::atomic<std::uint64_t> finished{0};
  std::uint64_t spawned = 0;
  std::atomic<std::uint64_t> seen_at_notification{UINT64_MAX};
};

void slow_job(void *arg) {
  std::this_thread::sleep_for(std::chrono::microseconds(200));
  static_cast<Counted *>(arg)->finished.fetch_add(1);
}

void record_finished(void *arg) {
  auto *counted = static_cast<Counted *>(arg);
  counted->seen_at_notification.store(counted->finished.load());
}

TEST(GroupNotify, RunsOnceAfterTheLastJobAndNeverBlocksTheCaller) {
  Watchdog watchdog("notify after the last job");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  for (int round = 0; round < 20; ++round) {
    Counted counted;
    Gate gate;
    ASSERT_EQ(tp_group_spawn(group.get(), Gate::hold, &gate), TP_OK);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(tp_group_spawn(group.get(), slow_job, &counted), TP_OK);
    counted.spawned = 50;
    // A job of the group is held at the gate: a notify that blocked for the group would hang.
    ASSERT_EQ(tp_group_notify(group.get(), record_finished, &counted), TP_OK);
    EXPECT_EQ(counted.seen_at_notification.load(), UINT64_MAX) << "ran before the group emptied";
    gate.release();
    ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
    ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);  // the notification is a job of the pool
    EXPECT_EQ(counted.seen_at_notification.load(), 50u) << "round " << round;
  }
}

TEST(GroupNotify, EveryPendingNotificationRunsOnce) {
  Watchdog watchdog("many notifications");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  Gate gate;
  ASSERT_EQ(tp_group_spawn(group.get(), Gate::hold, &gate), TP_OK);
  std::atomic<std::uint64_t> notified{0};
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(tp_group_notify(group.get(), increment, &notified), TP_OK);
  gate.release();
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(notified.load(), 1000u);
}

// Spawners keep the group busy in waves while notifiers register: each notification must run
// exactly once, and only after every job spawned before its notify() call returned had finished.
struct Race {
  tp_group *group;
  std::atomic<std::uint64_t> finished{0};
  std::atomic<std::uint64_t> spawned{0};  // spawns that returned TP_OK
  std::atomic<std::uint64_t> notified{0};
  std::atomic<std::uint64_t> too_early{0};
};

void race_job(void *arg) {
  auto *race = static_cast<Race *>(arg);
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(2);
  while (std::chrono::steady_clock::now() < until) {
  }
  race->finished.fetch_add(1);
}

struct Notification {
  Race *race;
  std::uint64_t spawned_before;
};

void check_notification(void *arg) {
  std::unique_ptr<Notification> notification(static_cast<Notification *>(arg));
  Race *race = notification->race;
  if (race->finished.load() < notification->spawned_before) race->too_early.fetch_add(1);
  race->notified.fetch_add(1);
}

TEST(GroupNotify, RacingWithSpawnsEachRunsOnceAndNeverEarly) {
  Watchdog watchdog("notify racing with spawns", std::chrono::seconds(120));
  PoolPtr pool = make_pool(2, TP_DEFAULT_SPIN_LIMIT, TP_PIN_NONE);
  GroupPtr group = make_group(pool.get());
  Race race;
  race.group = group.get();
  const std::uint64_t per_thread = scaled(20000);
  std::atomic<std::uint64_t> accepted_notifications{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        if (tp_group_spawn(race.group, race_job, &race) == TP_OK) race.spawned.fetch_add(1);
        if (i % 64 == 0) std::this_thread::yield();  // let the group empty now and then
      }
    });
  }
  threads.emplace_back([&] {
    for (std::uint64_t i = 0; i < per_thread / 8; ++i) {
      auto *notification = new Notification{&race, race.spawned.load()};
      if (tp_group_notify(race.group, check_notification, notification) == TP_OK) {
        accepted_notifications.fetch_add(1);
      } else {
        delete notification;
      }
    }
  });
  for (auto &thread : threads) thread.join();
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(race.finished.load(), race.spawned.load());
  EXPECT_EQ(race.notified.load(), accepted_notifications.load());
  EXPECT_EQ(accepted_notifications.load(), per_thread / 8);
  EXPECT_EQ(race.too_early.load(), 0u);
}

struct SelfNotifying {
  tp_group *group;
  std::atomic<std::uint64_t> children_done{0};
  std::atomic<std::uint64_t> seen{UINT64_MAX};
};

void child(void *arg) {
  std::this_thread::sleep_for(std::chrono::microseconds(100));
  static_cast<SelfNotifying *>(arg)->children_done.fetch_add(1);
}

void parent(void *arg) {
  auto *test = static_cast<SelfNotifying *>(arg);
  for (int i = 0; i < 10; ++i) tp_group_spawn(test->group, child, test);
  // From the group's own job: due once this job and its children have finished.
  tp_group_notify(
      test->group,
      [](void *a) {
        auto *t = static_cast<SelfNotifying *>(a);
        t->seen.store(t->children_done.load());
      },
      test);
}

TEST(GroupNotify, FromTheGroupsOwnJobItWaitsForThatJobAndWhatItSpawned) {
  Watchdog watchdog("notify from a group job");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  SelfNotifying test{group.get()};
  ASSERT_EQ(tp_group_spawn(group.get(), parent, &test), TP_OK);
  ASSERT_EQ(tp_group_wait(group.get()), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(test.seen.load(), 10u);
}

TEST(GroupNotify, APendingNotificationRunsWhileThePoolDrains) {
  Watchdog watchdog("notify across shutdown");
  PoolPtr pool = make_pool(2);
  GroupPtr group = make_group(pool.get());
  Gate gate;
  ASSERT_EQ(tp_group_spawn(group.get(), Gate::hold, &gate), TP_OK);
  gate.wait_for_arrivals(1);
  std::atomic<std::uint64_t> notified{0};
  ASSERT_EQ(tp_group_notify(group.get(), increment, &notified), TP_OK);
  std::thread shutdown([&] { EXPECT_EQ(tp_pool_shutdown(pool.get()), TP_OK); });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gate.release();
  shutdown.join();  // shutdown runs every accepted job, the notification included
  EXPECT_EQ(notified.load(), 1u);
  // The group is empty now, and the pool refuses: a notification due now says so and never runs.
  EXPECT_EQ(tp_group_notify(group.get(), increment, &notified), TP_ERR_SHUTDOWN);
  EXPECT_EQ(notified.load(), 1u);
}

TEST(GroupNotify, DestroyingTheGroupLosesNoPendingNotification) {
  Watchdog watchdog("destroy with a notification pending");
  PoolPtr pool = make_pool(2);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  Gate gate;
  ASSERT_EQ(tp_group_spawn(group, Gate::hold, &gate), TP_OK);
  std::atomic<std::uint64_t> notified{0};
  ASSERT_EQ(tp_group_notify(group, increment, &notified), TP_OK);
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    gate.release();
  });
  ASSERT_EQ(tp_group_destroy(group), TP_OK);
  opener.join();
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(notified.load(), 1u);
}

TEST(GroupNotify, BadArguments) {
  PoolPtr pool = make_pool(1);
  GroupPtr group = make_group(pool.get());
  std::atomic<std::uint64_t> notified{0};
  EXPECT_EQ(tp_group_notify(nullptr, increment, &notified), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_group_notify(group.get(), nullptr, &notified), TP_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(notified.load(), 0u);
}

}  // namespace
