// Local work cannot starve outside work (src/worker.hpp, kInjectorInterval): a job that keeps
// re-submitting itself from inside the pool lands on its worker's own deque and is popped again at
// once, so a worker that only looked at its deque would never run a job waiting in the injector.
// Each test has pollers that stop only once a job submitted from outside has run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using namespace std::chrono_literals;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::set_flag;
using tp_test::Watchdog;

// A poller: re-submits itself (into the pool or into a group) until `stop` is set.
struct Poller {
  tp_pool *pool = nullptr;
  tp_group *group = nullptr;  // spawn into this group instead of the pool when set
  std::atomic<bool> *stop = nullptr;
  std::atomic<std::uint64_t> polls{0};
};

void poll(void *arg) {
  auto *p = static_cast<Poller *>(arg);
  if (p->stop->load()) return;
  p->polls.fetch_add(1, std::memory_order_relaxed);
  const tp_status status =
      p->group != nullptr ? tp_group_spawn(p->group, poll, p) : tp_pool_execute(p->pool, poll, p);
  if (status != TP_OK) std::abort();
}

void wait_until_polling(const Poller &poller) {
  while (poller.polls.load() < 1000) std::this_thread::yield();
}

TEST(Fairness, AJobThatResubmitsItselfCannotStarveAnOutsideJob) {
  PoolPtr pool = make_pool(1);
  std::atomic<bool> stop{false};
  Poller poller{pool.get(), nullptr, &stop};
  Watchdog watchdog("an outside job behind a self-resubmitting job on one worker", 60s);
  ASSERT_EQ(tp_pool_execute(pool.get(), poll, &poller), TP_OK);
  wait_until_polling(poller);
  ASSERT_EQ(tp_pool_execute(pool.get(), set_flag, &stop), TP_OK);  // only this stops the poller
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_TRUE(stop.load());
}

TEST(Fairness, AsManyPollersAsWorkersCannotStarveAnOutsideJob) {
  for (std::size_t workers : {2u, 4u}) {
    PoolPtr pool = make_pool(workers);
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<Poller>> pollers;
    for (std::size_t w = 0; w < workers; ++w) {
      pollers.push_back(std::make_unique<Poller>());
      pollers.back()->pool = pool.get();
      pollers.back()->stop = &stop;
    }
    Watchdog watchdog("an outside job behind a poller on every worker", 60s);
    for (auto &poller : pollers) ASSERT_EQ(tp_pool_execute(pool.get(), poll, poller.get()), TP_OK);
    for (auto &poller : pollers) wait_until_polling(*poller);
    ASSERT_EQ(tp_pool_execute(pool.get(), set_flag, &stop), TP_OK);
    ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
    EXPECT_TRUE(stop.load()) << workers << " workers";
  }
}

TEST(Fairness, APollerInsideAGroupCannotStarveAnOutsideJob) {
  PoolPtr pool = make_pool(1);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  std::atomic<bool> stop{false};
  Poller poller{pool.get(), group, &stop};
  Watchdog watchdog("an outside job behind a group's self-spawning job", 60s);
  ASSERT_EQ(tp_group_spawn(group, poll, &poller), TP_OK);
  wait_until_polling(poller);
  ASSERT_EQ(tp_pool_execute(pool.get(), set_flag, &stop), TP_OK);
  ASSERT_EQ(tp_group_wait(group), TP_OK);
  EXPECT_TRUE(stop.load());
  EXPECT_EQ(tp_group_destroy(group), TP_OK);
}

// The only worker waits for a group whose job keeps spawning itself into the group: the waiter's
// helping loop must look at the injector too.
struct GroupWaiter {
  Poller *poller;
  tp_status status = TP_ERR_INVALID_ARGUMENT;
};

TEST(Fairness, AWorkerWaitingForAGroupStillRunsOutsideWork) {
  PoolPtr pool = make_pool(1);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  std::atomic<bool> stop{false};
  Poller poller{pool.get(), group, &stop};
  GroupWaiter waiter{&poller};
  Watchdog watchdog("an outside job while the only worker waits for a polling group", 60s);
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *w = static_cast<GroupWaiter *>(arg);
                  if (tp_group_spawn(w->poller->group, poll, w->poller) != TP_OK) std::abort();
                  w->status = tp_group_wait(w->poller->group);
                },
                &waiter),
            TP_OK);
  wait_until_polling(poller);
  ASSERT_EQ(tp_pool_execute(pool.get(), set_flag, &stop), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(waiter.status, TP_OK);
  EXPECT_TRUE(stop.load());
  EXPECT_EQ(tp_group_destroy(group), TP_OK);
}

// The only worker is inside a join whose first half left a poller on the deque, on top of the
// second half: the joiner's helping loop pops the poller again and again.
struct Joiner {
  Poller *poller;
  tp_status status = TP_ERR_INVALID_ARGUMENT;
};

TEST(Fairness, AWorkerWaitingInAJoinStillRunsOutsideWork) {
  PoolPtr pool = make_pool(1);
  std::atomic<bool> stop{false};
  Poller poller{pool.get(), nullptr, &stop};
  Joiner joiner{&poller};
  Watchdog watchdog("an outside job while the only worker joins over a poller", 60s);
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *j = static_cast<Joiner *>(arg);
                  j->status = tp_pool_join(
                      j->poller->pool,
                      [](void *p) {  // a: starts the poller, which sits above b on the deque
                        auto *pl = static_cast<Poller *>(p);
                        if (tp_pool_execute(pl->pool, poll, pl) != TP_OK) std::abort();
                      },
                      j->poller, [](void *) {}, nullptr);
                },
                &joiner),
            TP_OK);
  wait_until_polling(poller);
  ASSERT_EQ(tp_pool_execute(pool.get(), set_flag, &stop), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(joiner.status, TP_OK);
  EXPECT_TRUE(stop.load());
}

}  // namespace
