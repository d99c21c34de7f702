// White-box tests of pool creation failures: whatever fails, create joins the threads it started,
// frees what it allocated (LeakSanitizer checks that in the asan build) and reports why.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "pool.hpp"

namespace {

using tp::detail::Pin;
using tp::detail::Pool;
using tp::detail::PoolConfig;
using tp::detail::Status;

struct HookCounts {
  std::atomic<int> started{0}, stopped{0};
};

PoolConfig config_with_hooks(std::size_t workers, HookCounts &counts) {
  PoolConfig config;
  config.workers = workers;
  config.pin = Pin::none;
  config.user = &counts;
  config.on_worker_start = [](std::size_t, void *user) {
    static_cast<HookCounts *>(user)->started++;
  };
  config.on_worker_stop = [](std::size_t, void *user) {
    static_cast<HookCounts *>(user)->stopped++;
  };
  return config;
}

TEST(PoolCreate, ARefusedThreadJoinsEveryStartedWorker) {
  for (std::size_t refused = 0; refused < 4; ++refused) {
    HookCounts counts;
    PoolConfig config = config_with_hooks(4, counts);
    config.refuse_thread_of_worker = refused;
    std::unique_ptr<Pool> pool;
    EXPECT_EQ(Pool::create(config, pool), Status::thread_start) << "refused worker " << refused;
    EXPECT_EQ(pool, nullptr);
    // Every worker that did start ran its start hook... and has been stopped and joined: its
    // stop hook has run by the time create returned.
    EXPECT_EQ(counts.stopped.load(), counts.started.load());
    EXPECT_EQ(counts.started.load(), static_cast<int>(refused));  // those before the refused one
  }
}

TEST(PoolCreate, OutOfMemoryWhileBuildingWorkersFreesEverything) {
  HookCounts counts;
  PoolConfig config = config_with_hooks(3, counts);
  config.deque_capacity = std::size_t{1} << 60;  // no machine has this much memory
  std::unique_ptr<Pool> pool;
  EXPECT_EQ(Pool::create(config, pool), Status::out_of_memory);
  EXPECT_EQ(pool, nullptr);
  EXPECT_EQ(counts.started.load(), 0);  // failed before any thread started
}

TEST(PoolCreate, ZeroWorkers) {
  std::unique_ptr<Pool> pool;
  EXPECT_EQ(Pool::create(PoolConfig{.workers = 0}, pool), Status::zero_workers);
}

TEST(PoolCreate, AfterAFailureTheNextCreateWorks) {
  HookCounts counts;
  PoolConfig config = config_with_hooks(2, counts);
  config.refuse_thread_of_worker = 1;
  std::unique_ptr<Pool> pool;
  ASSERT_EQ(Pool::create(config, pool), Status::thread_start);
  config.refuse_thread_of_worker = SIZE_MAX;
  ASSERT_EQ(Pool::create(config, pool), Status::ok);
  std::atomic<int> ran{0};
  ASSERT_EQ(
      pool->submit({[](void *arg) { static_cast<std::atomic<int> *>(arg)->fetch_add(1); }, &ran}),
      Status::ok);
  ASSERT_EQ(pool->shutdown(), Status::ok);
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
