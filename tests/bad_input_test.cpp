// Every misuse the C ABI documents gets its status, loses nothing, and leaves the pool usable.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

// C callers can pass any int where an enum is expected; build such values the way C would.
template <class Enum>
Enum from_int(int value) {
  static_assert(sizeof(Enum) == sizeof(int));
  Enum out;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

using tp_test::increment;
using tp_test::make_pool;
using tp_test::PoolPtr;

TEST(BadInput, NullOutPointer) {
  EXPECT_EQ(tp_pool_create(2, nullptr), TP_ERR_INVALID_ARGUMENT);
  tp_pool_options options;
  tp_pool_options_init(&options);
  EXPECT_EQ(tp_pool_create_with(&options, nullptr), TP_ERR_INVALID_ARGUMENT);
}

TEST(BadInput, ZeroWorkers) {
  tp_pool *pool = nullptr;
  EXPECT_EQ(tp_pool_create(0, &pool), TP_ERR_ZERO_WORKERS);
  EXPECT_EQ(pool, nullptr);
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 0;
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_ZERO_WORKERS);
  EXPECT_EQ(pool, nullptr);
}

TEST(BadInput, AbsurdWorkerCounts) {
  tp_pool *pool = nullptr;
  EXPECT_EQ(tp_pool_create(TP_MAX_WORKERS + 1, &pool), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_create(SIZE_MAX, &pool), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pool, nullptr);
}

TEST(BadInput, OptionsWithAWrongSizeOrPolicy) {
  tp_pool *pool = nullptr;
  EXPECT_EQ(tp_pool_create_with(nullptr, &pool), TP_ERR_INVALID_ARGUMENT);
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 1;
  options.size = 0;
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_INVALID_ARGUMENT);
  options.size = offsetof(tp_pool_options, user);  // shorter than any published version
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_INVALID_ARGUMENT);
  options.size = sizeof options + 8;  // a newer struct than this library knows
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_INVALID_ARGUMENT);
  options.size = sizeof options;
  options.pin = from_int<tp_pin>(77);
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_INVALID_ARGUMENT);
  options.pin = TP_PIN_NONE;
  options.spin_limit = 1000001;  // an idle worker would spin for seconds
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pool, nullptr);
  tp_pool_options_init(nullptr);  // a no-op, not a crash
}

TEST(BadInput, NullPoolEverywhere) {
  std::atomic<std::uint64_t> ran{0};
  tp_job job{increment, &ran};
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  EXPECT_EQ(tp_pool_execute(nullptr, increment, &ran), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_execute_batch(nullptr, &job, 1), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_wait_idle(nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_shutdown(nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_destroy(nullptr), TP_OK);
  EXPECT_EQ(tp_pool_workers(nullptr), 0u);
  EXPECT_EQ(tp_pool_current_worker(nullptr), -1);
  EXPECT_EQ(tp_pool_get_stats(nullptr, &stats), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_get_worker_stats(nullptr, 0, &stats), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ran.load(), 0u);
}

TEST(BadInput, NullFunction) {
  PoolPtr pool = make_pool(1);
  EXPECT_EQ(tp_pool_execute(pool.get(), nullptr, nullptr), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  ASSERT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_OK);
  EXPECT_EQ(stats.executed, 0u);
}

TEST(BadInput, ABatchWithANullFunctionAnywhereRunsNothing) {
  PoolPtr pool = make_pool(2);
  std::atomic<std::uint64_t> ran{0};
  tp_job jobs[5];
  for (auto &job : jobs) job = tp_job{increment, &ran};
  for (int bad = 0; bad < 5; ++bad) {
    tp_job copy[5];
    std::memcpy(copy, jobs, sizeof jobs);
    copy[bad].fn = nullptr;
    EXPECT_EQ(tp_pool_execute_batch(pool.get(), copy, 5), TP_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(tp_pool_execute_batch(pool.get(), nullptr, 3), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_execute_batch(pool.get(), jobs, SIZE_MAX), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_execute_batch(pool.get(), nullptr, 0), TP_OK);  // an empty batch is fine
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 0u);
  EXPECT_EQ(tp_pool_execute_batch(pool.get(), jobs, 5), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 5u);
}

TEST(BadInput, ExecuteAfterShutdownIsRefusedAndNeverRuns) {
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_create(2, &pool), TP_OK);
  ASSERT_EQ(tp_pool_shutdown(pool), TP_OK);
  ASSERT_EQ(tp_pool_shutdown(pool), TP_OK);  // double shutdown is fine
  std::atomic<std::uint64_t> ran{0};
  tp_job job{increment, &ran};
  EXPECT_EQ(tp_pool_execute(pool, increment, &ran), TP_ERR_SHUTDOWN);
  EXPECT_EQ(tp_pool_execute_batch(pool, &job, 1), TP_ERR_SHUTDOWN);
  EXPECT_EQ(tp_pool_wait_idle(pool), TP_OK);  // nothing to wait for
  EXPECT_EQ(tp_pool_workers(pool), 2u);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(ran.load(), 0u);
}

// A job that calls the blocking entry points on its own pool gets TP_ERR_WOULD_DEADLOCK, and the
// pool is not freed or stopped by it.
struct SelfCall {
  tp_pool *pool;
  tp_status wait = TP_OK, shutdown = TP_OK, destroy = TP_OK;
};

TEST(BadInput, BlockingOnThePoolFromItsOwnJobWouldDeadlock) {
  PoolPtr pool = make_pool(2);
  SelfCall call{pool.get()};
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *c = static_cast<SelfCall *>(arg);
                  c->wait = tp_pool_wait_idle(c->pool);
                  c->shutdown = tp_pool_shutdown(c->pool);
                  c->destroy = tp_pool_destroy(c->pool);
                },
                &call),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(call.wait, TP_ERR_WOULD_DEADLOCK);
  EXPECT_EQ(call.shutdown, TP_ERR_WOULD_DEADLOCK);
  EXPECT_EQ(call.destroy, TP_ERR_WOULD_DEADLOCK);
  std::atomic<std::uint64_t> ran{0};
  EXPECT_EQ(tp_pool_execute(pool.get(), increment, &ran), TP_OK);  // still running, still there
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 1u);
}

struct StopHook {
  tp_pool *pool = nullptr;
  std::atomic<std::uint64_t> ran{0};
  std::atomic<int> single{1}, batch{1};
};

TEST(BadInput, SubmittingFromTheStopHookIsRefused) {
  // The worker has left its loop when on_worker_stop runs: a job pushed then would never run.
  StopHook hook;
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 1;
  options.user = &hook;
  options.on_worker_stop = [](std::size_t, void *user) {
    auto *h = static_cast<StopHook *>(user);
    h->single = tp_pool_execute(h->pool, increment, &h->ran);
    tp_job job{increment, &h->ran};
    h->batch = tp_pool_execute_batch(h->pool, &job, 1);
  };
  ASSERT_EQ(tp_pool_create_with(&options, &hook.pool), TP_OK);
  ASSERT_EQ(tp_pool_shutdown(hook.pool), TP_OK);
  EXPECT_EQ(tp_pool_wait_idle(hook.pool), TP_OK);  // nothing was left counted as pending
  ASSERT_EQ(tp_pool_destroy(hook.pool), TP_OK);
  EXPECT_EQ(hook.single.load(), TP_ERR_SHUTDOWN);
  EXPECT_EQ(hook.batch.load(), TP_ERR_SHUTDOWN);
  EXPECT_EQ(hook.ran.load(), 0u);
}

TEST(BadInput, StatsWithABadStructOrWorker) {
  PoolPtr pool = make_pool(2);
  tp_pool_stats stats{};
  EXPECT_EQ(tp_pool_get_stats(pool.get(), nullptr), TP_ERR_INVALID_ARGUMENT);
  stats.size = 0;
  EXPECT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_ERR_INVALID_ARGUMENT);
  stats.size = offsetof(tp_pool_stats, pinned);  // shorter than any published version
  EXPECT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_ERR_INVALID_ARGUMENT);
  stats.size = sizeof stats;
  EXPECT_EQ(tp_pool_get_worker_stats(pool.get(), 2, &stats), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_get_worker_stats(pool.get(), SIZE_MAX, &stats), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_get_worker_stats(pool.get(), 1, &stats), TP_OK);
}

TEST(BadInput, EveryStatusHasAName) {
  for (int value = TP_ERR_ALREADY_CREATED; value <= 0; ++value) {
    const char *name = tp_status_string(from_int<tp_status>(value));
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(std::string(name).rfind("TP_", 0), 0u) << value;
  }
  EXPECT_STREQ(tp_status_string(from_int<tp_status>(12345)), "unknown tp_status");
  EXPECT_STREQ(tp_status_string(from_int<tp_status>(TP_ERR_ALREADY_CREATED - 1)),
               "unknown tp_status");
}

TEST(Version, MacrosAndRuntimeAgree) {
  EXPECT_EQ(tp_version(), static_cast<unsigned>(TP_VERSION_MAJOR * 10000 + TP_VERSION_MINOR * 100 +
                                                TP_VERSION_PATCH));
}

}  // namespace
