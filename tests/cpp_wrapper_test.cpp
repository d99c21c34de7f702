// The C++ wrapper (tp.hpp), compiled as C++17: every member, exceptions through each path,
// move-only callables, and the seed's README examples.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.hpp"

namespace {

static_assert(__cplusplus < 202002L, "this test checks that tp.hpp works with C++17");

// A C++17 stand-in for std::latch.
class CountDown {
 public:
  explicit CountDown(int count) : count_(count) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--count_ == 0) cv_.notify_all();
    cv_.wait(lock, [this] { return count_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_;
};

tp_pool_stats stats_of(tp::ThreadPool &pool) {
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  tp_pool_get_stats(pool.native_handle(), &stats);
  return stats;
}

// ---- the seed's README, line by line ----

TEST(Seed, QuickStart) {
  auto pool = tp::ThreadPool::build(4);
  ASSERT_TRUE(pool);
  std::atomic<int> ran{0};
  for (int i = 0; i < 8; ++i) {
    tp::Result<void> r = pool->execute([i, &ran] {
      (void)i;
      ran++;
    });
    ASSERT_TRUE(r);
  }
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(ran.load(), 8);
  EXPECT_EQ(pool->workers(), 4u);
}

TEST(Seed, Errors) {
  EXPECT_FALSE(tp::ThreadPool::build(0));
  EXPECT_EQ(tp::ThreadPool::build(0).error(), tp::PoolError::ZeroWorkers);
  auto pool = tp::ThreadPool::build(2);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(pool->shutdown());
  ASSERT_TRUE(pool->shutdown());  // idempotent
  tp::Result<void> r = pool->execute([] {});
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error(), tp::PoolError::SendError);
  EXPECT_THROW(r.value(), tp::Error);
}

TEST(Seed, ResultBackThroughAFuture) {
  auto pool = tp::ThreadPool::build(2);
  std::future<std::uint64_t> sum = pool->submit([] {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < 10000; ++i) total += i * i;
    return total;
  });
  EXPECT_EQ(sum.get(), 333283335000u);
  std::future<int> answer = pool->submit([] { return 42; });
  EXPECT_EQ(answer.get(), 42);
}

TEST(Seed, FourJobsRunConcurrentlyOnFourWorkers) {
  auto pool = tp::ThreadPool::build(4);
  CountDown meeting(4);
  tp_test::Watchdog watchdog("4 C++ jobs meeting on 4 workers", std::chrono::seconds(30));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pool->execute([&] { meeting.arrive_and_wait(); }));
  ASSERT_TRUE(pool->wait_idle());
}

// ---- members ----

TEST(Wrapper, SubmitAfterShutdownDeliversAnErrorThroughTheFuture) {
  auto pool = tp::ThreadPool::build(1);
  pool->shutdown();
  std::future<int> refused = pool->submit([] { return 1; });
  try {
    refused.get();
    FAIL() << "expected tp::Error";
  } catch (const tp::Error &error) {
    EXPECT_EQ(error.error(), tp::PoolError::SendError);
    EXPECT_STREQ(error.what(), tp_status_string(TP_ERR_SHUTDOWN));
  }
}

TEST(Wrapper, MoveOnlyCallables) {
  auto pool = tp::ThreadPool::build(2);
  std::atomic<int> seen{0};
  auto owned = std::make_unique<int>(7);
  ASSERT_TRUE(pool->execute([p = std::move(owned), &seen] { seen += *p; }));
  std::future<int> doubled = pool->submit([p = std::make_unique<int>(21)] { return *p * 2; });
  EXPECT_EQ(doubled.get(), 42);
  tp::TaskGroup group(*pool);
  ASSERT_TRUE(group.spawn([p = std::make_unique<int>(5), &seen] { seen += *p; }));
  group.wait();
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(seen.load(), 12);
}

std::uint64_t fib(tp::ThreadPool &pool, unsigned n) {
  if (n < 2) return n;
  std::uint64_t a = 0, b = 0;
  pool.join([&] { a = fib(pool, n - 1); }, [&] { b = fib(pool, n - 2); });
  return a + b;
}

TEST(Wrapper, JoinNestsAndReturnsThroughCaptures) {
  auto pool = tp::ThreadPool::build(2);
  EXPECT_EQ(fib(*pool, 20), 6765u);
  std::uint64_t result = 0;
  ASSERT_TRUE(pool->execute([&] { result = fib(*pool, 15); }));  // from inside a job too
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(result, 610u);
}

TEST(Wrapper, ParallelForCoversEveryIndexOnce) {
  auto pool = tp::ThreadPool::build(2);
  std::vector<std::atomic<int>> hits(100000);
  pool->parallel_for(0, hits.size(), [&](std::size_t i) { hits[i]++; });
  pool->parallel_for(0, hits.size(), 64, [&](std::size_t i) { hits[i]++; });
  for (auto &hit : hits) ASSERT_EQ(hit.load(), 2);
  std::vector<double> x(1000, 2.0);
  pool->parallel_for(0, x.size(), [&](std::size_t i) { x[i] *= x[i]; });
  EXPECT_EQ(std::accumulate(x.begin(), x.end(), 0.0), 4000.0);
}

TEST(Wrapper, TaskGroupFromSeveralThreadsAndReuse) {
  auto pool = tp::ThreadPool::build(2);
  std::atomic<int> ran{0};
  {
    tp::TaskGroup group(*pool);
    std::vector<std::thread> spawners;
    for (int t = 0; t < 4; ++t) {
      spawners.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) ASSERT_TRUE(group.spawn([&] { ran++; }));
      });
    }
    for (auto &spawner : spawners) spawner.join();
    group.wait();
    EXPECT_EQ(ran.load(), 4000);
    ASSERT_TRUE(group.spawn([&] { ran++; }));
    group.wait();  // reusable
    EXPECT_EQ(ran.load(), 4001);
    ASSERT_TRUE(group.spawn([&] { ran++; }));
  }  // the destructor waits
  EXPECT_EQ(ran.load(), 4002);
}

TEST(Wrapper, TaskGroupWaitFromItsOwnJobThrowsWouldDeadlock) {
  auto pool = tp::ThreadPool::build(2);
  tp::TaskGroup group(*pool);
  std::atomic<int> error{0};
  ASSERT_TRUE(group.spawn([&] {
    try {
      group.wait();
    } catch (const tp::Error &e) {
      error = static_cast<int>(e.error());
    }
  }));
  group.wait();
  EXPECT_EQ(error.load(), static_cast<int>(tp::PoolError::WouldDeadlock));
}

TEST(Wrapper, SerialQueueRunsInOrderOneAtATimeAndRethrowsOnWait) {
  auto pool = tp::ThreadPool::build(2);
  std::vector<int> order;  // no lock: the queue runs one job at a time
  {
    tp::SerialQueue queue(*pool);
    for (int i = 0; i < 1000; ++i) {
      auto owned = std::make_unique<int>(i);  // move-only callables are fine
      ASSERT_TRUE(queue.submit([&order, owned = std::move(owned)] { order.push_back(*owned); }));
    }
    ASSERT_TRUE(queue.wait());
    ASSERT_EQ(order.size(), 1000u);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
    ASSERT_TRUE(queue.submit([] { throw std::runtime_error("from the queue"); }));
    ASSERT_TRUE(queue.submit([&] { order.push_back(-1); }));
    EXPECT_THROW(queue.wait(), std::runtime_error);
    EXPECT_EQ(order.back(), -1);  // the queue went on after the exception
    std::atomic<int> error{0};
    ASSERT_TRUE(queue.submit([&] {
      try {
        queue.wait();
      } catch (const tp::Error &e) {
        error = static_cast<int>(e.error());
      }
    }));
    ASSERT_TRUE(queue.wait());
    EXPECT_EQ(error.load(), static_cast<int>(tp::PoolError::WouldDeadlock));
    ASSERT_TRUE(queue.submit([&] { order.push_back(-2); }));
  }  // the destructor waits
  EXPECT_EQ(order.back(), -2);
}

TEST(Wrapper, PrioritiesOrderWhatAHeldWorkerTakesNext) {
  auto pool = tp::ThreadPool::build(1);
  std::atomic<bool> open{false};
  std::atomic<bool> held{false};
  ASSERT_TRUE(pool->execute([&] {
    held = true;
    while (!open) std::this_thread::yield();
  }));
  while (!held) std::this_thread::yield();
  std::vector<char> order;  // one worker: one job at a time
  ASSERT_TRUE(pool->execute([&] { order.push_back('L'); }, tp::Priority::low));
  ASSERT_TRUE(pool->execute([&] { order.push_back('N'); }));
  std::future<int> high = pool->submit(
      [&] {
        order.push_back('H');
        return 7;
      },
      tp::Priority::high);
  open = true;
  EXPECT_EQ(high.get(), 7);
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(std::string(order.begin(), order.end()), "HNL");
}

TEST(Wrapper, MovedPoolKeepsWorking) {
  auto built = tp::ThreadPool::build(2);
  tp::ThreadPool pool = std::move(*built);
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.execute([&] { ran++; }));
  tp::ThreadPool other = std::move(pool);
  ASSERT_TRUE(other.execute([&] { ran++; }));
  ASSERT_TRUE(other.wait_idle());
  EXPECT_EQ(ran.load(), 2);
}

TEST(Wrapper, DestructorRunsEveryAcceptedJob) {
  std::atomic<int> ran{0};
  {
    auto pool = tp::ThreadPool::build(2);
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(pool->execute([&] { ran++; }));
  }
  EXPECT_EQ(ran.load(), 10000);
}

TEST(Wrapper, BuildWithOptions) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 3;
  options.pin = TP_PIN_NONE;
  auto pool = tp::ThreadPool::build(options);
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->workers(), 3u);
  options.size = 1;
  EXPECT_EQ(tp::ThreadPool::build(options).error(), tp::PoolError::InvalidArgument);
}

// ---- exceptions through each path ----

TEST(Exceptions, ExecuteWithoutAHandlerIsCountedByThePool) {
  auto pool = tp::ThreadPool::build(1);
  std::atomic<int> after{0};
  ASSERT_TRUE(pool->execute([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool->execute([&] { after++; }));  // the worker carries on
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(stats_of(*pool).exceptions, 1u);
  EXPECT_EQ(after.load(), 1);
}

TEST(Exceptions, ExecuteWithAHandler) {
  auto pool = tp::ThreadPool::build(1);
  std::atomic<int> handled{0};
  pool->set_exception_handler([&](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::logic_error &) {
      handled++;
    }
  });
  ASSERT_TRUE(pool->execute([] { throw std::logic_error("handled"); }));
  ASSERT_TRUE(pool->wait_idle());
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(stats_of(*pool).exceptions, 0u);
}

TEST(Exceptions, SubmitTravelsThroughTheFuture) {
  auto pool = tp::ThreadPool::build(1);
  std::future<int> failed = pool->submit([]() -> int { throw std::out_of_range("no"); });
  EXPECT_THROW(failed.get(), std::out_of_range);
}

TEST(Exceptions, JoinRethrowsAfterBothHalvesFinished) {
  auto pool = tp::ThreadPool::build(2);
  std::atomic<bool> other_ran{false};
  EXPECT_THROW(pool->join([] { throw std::runtime_error("a"); },
                          [&] {
                            std::this_thread::sleep_for(std::chrono::milliseconds(5));
                            other_ran = true;
                          }),
               std::runtime_error);
  EXPECT_TRUE(other_ran.load());
  // Both throw: a's comes out.
  try {
    pool->join([] { throw 1; }, [] { throw 2; });
    FAIL();
  } catch (int which) {
    EXPECT_TRUE(which == 1 || which == 2);
  }
}

TEST(Exceptions, ParallelForRethrowsAfterEveryPiece) {
  auto pool = tp::ThreadPool::build(2);
  std::vector<std::atomic<int>> hits(1000);
  EXPECT_THROW(pool->parallel_for(0, hits.size(), 10,
                                  [&](std::size_t i) {
                                    if (i == 500) throw std::runtime_error("500");
                                    hits[i]++;
                                  }),
               std::runtime_error);
  // Every piece but the one that threw ran to the end.
  int missing = 0;
  for (auto &hit : hits) missing += hit.load() == 0 ? 1 : 0;
  EXPECT_GE(missing, 1);
  EXPECT_LE(missing, 10);
}

TEST(Exceptions, TaskGroupWaitRethrowsTheFirstAndStaysUsable) {
  auto pool = tp::ThreadPool::build(2);
  tp::TaskGroup group(*pool);
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(group.spawn([&, i] {
      ran++;
      if (i % 3 == 0) throw std::runtime_error("group");
    }));
  }
  EXPECT_THROW(group.wait(), std::runtime_error);
  EXPECT_EQ(ran.load(), 10);
  ASSERT_TRUE(group.spawn([&] { ran++; }));
  EXPECT_NO_THROW(group.wait());
  EXPECT_EQ(ran.load(), 11);
}

// ---- 0.2: the global pool, notifications, cancellation, timed waits ----

TEST(Global, IsOneSharedPoolThatTheHandleDoesNotOwn) {
  tp::ThreadPool &global = tp::ThreadPool::global();
  EXPECT_EQ(&global, &tp::ThreadPool::global());
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_default(&pool), TP_OK);
  EXPECT_EQ(global.native_handle(), pool);
  EXPECT_EQ(global.workers(), tp_pool_workers(pool));
  EXPECT_EQ(global.shutdown().error(), tp::PoolError::InvalidArgument);  // refused: not ours
  std::future<int> answer = global.submit([] { return 42; });
  EXPECT_EQ(answer.get(), 42);
  tp::TaskGroup group(global);
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(group.spawn([&] { ran++; }));
  EXPECT_TRUE(group.wait());
  EXPECT_EQ(ran.load(), 100);
}

TEST(Wrapper, NotifyRunsOnceTheGroupIsEmptyWithoutBlocking) {
  auto pool = tp::ThreadPool::build(2);
  tp::TaskGroup group(*pool);
  std::atomic<bool> open{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(group.spawn([&] {
    while (!open.load()) std::this_thread::yield();
    ran++;
  }));
  std::promise<int> notified;
  std::future<int> seen = notified.get_future();
  ASSERT_TRUE(group.notify([&] { notified.set_value(ran.load()); }));  // the job is still held
  open = true;
  EXPECT_EQ(seen.get(), 1);
  EXPECT_TRUE(group.wait());
}

TEST(Wrapper, CancelDropsJobsNotStartedAndTheNextWaitSaysCancelled) {
  auto pool = tp::ThreadPool::build(1);
  tp::TaskGroup group(*pool);
  std::atomic<bool> open{false};
  ASSERT_TRUE(pool->execute([&] {
    while (!open.load()) std::this_thread::yield();
  }));
  // A move-only callable that owns memory: dropped without running, and freed (ASan).
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(group.spawn([&ran, owned = std::make_unique<int>(i)] { ran += *owned; }));
  }
  group.cancel();
  EXPECT_TRUE(group.is_cancelled());
  open = true;
  const tp::Result<void> waited = group.wait();
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error(), tp::PoolError::Cancelled);
  EXPECT_FALSE(group.is_cancelled());
  EXPECT_EQ(ran.load(), 0);
  ASSERT_TRUE(group.spawn([&] { ran = 100; }));
  EXPECT_TRUE(group.wait());
  EXPECT_EQ(ran.load(), 100);
}

TEST(Wrapper, WaitForTimesOutAndThenSucceeds) {
  auto pool = tp::ThreadPool::build(2);
  tp::TaskGroup group(*pool);
  std::atomic<bool> open{false};
  ASSERT_TRUE(group.spawn([&] {
    while (!open.load()) std::this_thread::yield();
    throw std::runtime_error("after the timeout");
  }));
  EXPECT_EQ(group.wait_for(std::chrono::milliseconds(2)).error(), tp::PoolError::Timeout);
  EXPECT_EQ(pool->wait_idle_for(std::chrono::microseconds(500)).error(), tp::PoolError::Timeout);
  EXPECT_EQ(group.wait_for(std::chrono::seconds(-1)).error(), tp::PoolError::Timeout);
  open = true;
  EXPECT_THROW(group.wait_for(std::chrono::hours(24 * 365 * 1000)), std::runtime_error);
  EXPECT_TRUE(pool->wait_idle_for(std::chrono::seconds(60)));
}

TEST(Wrapper, ParallelForInACancelledGroupStopsQuietly) {
  auto pool = tp::ThreadPool::build(2);
  tp::TaskGroup group(*pool);
  std::atomic<std::size_t> visited{0};
  ASSERT_TRUE(group.spawn([&] {
    pool->parallel_for(0, 100000, 1, [&](std::size_t i) {
      if (i == 0) group.cancel();
      visited++;
    });
  }));
  EXPECT_EQ(group.wait().error(), tp::PoolError::Cancelled);
  EXPECT_LT(visited.load(), 100000u);
}

}  // namespace
