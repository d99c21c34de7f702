// White-box tests of the injector: single jobs through the lanes (spilling to the shards when the
// lanes are full), batches as one entry, and many producers against many consumers with
// exactly-once delivery.
#include "injector.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using tp::detail::Batch;
using tp::detail::Injector;
using tp::detail::Job;

void no_op(void *) {}
Job numbered(std::uintptr_t n) { return Job{&no_op, reinterpret_cast<void *>(n)}; }
std::uintptr_t number(Job job) { return reinterpret_cast<std::uintptr_t>(job.arg); }

// One job as the pool submits it: through a lane when one has room, else into a shard.
void push(Injector &injector, Job job) {
  if (tp::detail::Lanes::Producer lane = injector.acquire_lane()) {
    lane.accept();
    lane.push(job);
    return;
  }
  injector.push_to_shards(job);
}

TEST(Injector, ShardsFollowTheWorkerCountUpToTheLimit) {
  EXPECT_EQ(Injector(1).shards(), 1u);
  EXPECT_EQ(Injector(4).shards(), 4u);
  EXPECT_EQ(Injector(1000).shards(), Injector::kMaxShards);
}

TEST(Injector, SingleJobsTravelThroughTheLanes) {
  Injector injector(4);
  EXPECT_TRUE(injector.looks_empty());
  for (std::uintptr_t i = 0; i < 10; ++i) push(injector, numbered(i));
  EXPECT_FALSE(injector.looks_empty());
  Job job;
  EXPECT_FALSE(injector.pop(job, 0));  // the shards stay empty while a lane has room
  std::vector<int> seen(10, 0);
  Job taken[4];
  for (std::size_t home = 0, count; (count = injector.pop_from_lanes(taken, 4, home)) != 0;
       ++home) {
    ASSERT_LE(count, 4u);
    for (std::size_t i = 0; i < count; ++i) ++seen[number(taken[i])];
  }
  EXPECT_TRUE(injector.looks_empty());
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(Injector, SingleJobsSpillToTheShardsWhenEveryLaneIsFull) {
  Injector injector(2);
  const std::size_t lanes_hold = 2 * tp::detail::Lanes::kCapacity;
  for (std::uintptr_t i = 0; i < lanes_hold + 10; ++i) push(injector, numbered(i));
  std::vector<int> seen(lanes_hold + 10, 0);
  Job job;
  std::size_t from_shards = 0;
  while (injector.pop(job, from_shards % 2)) {
    ASSERT_FALSE(Injector::is_batch(job));
    ++seen[number(job)];
    ++from_shards;
  }
  EXPECT_EQ(from_shards, 10u);
  Job taken[64];
  for (std::size_t count; (count = injector.pop_from_lanes(taken, 64, 0)) != 0;) {
    for (std::size_t i = 0; i < count; ++i) ++seen[number(taken[i])];
  }
  EXPECT_TRUE(injector.looks_empty());
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(Injector, ABatchTravelsAsOneEntry) {
  Injector injector(2);
  std::vector<Job> jobs;
  for (std::uintptr_t i = 0; i < 1000; ++i) jobs.push_back(numbered(i));
  injector.push_batch(jobs.data(), jobs.size());
  Job entry;
  ASSERT_TRUE(injector.pop(entry, 0));
  ASSERT_TRUE(Injector::is_batch(entry));
  Batch *batch = Injector::as_batch(entry);
  ASSERT_EQ(batch->count, 1000u);
  for (std::uintptr_t i = 0; i < 1000; ++i) EXPECT_EQ(number(batch->jobs()[i]), i);
  Batch::release(batch);
  EXPECT_FALSE(injector.pop(entry, 1));  // one entry, not 1000
}

TEST(Injector, QueuedBatchesAreFreedWithTheInjector) {
  // Checked by LeakSanitizer in the asan build.
  Injector injector(2);
  Job jobs[3] = {numbered(1), numbered(2), numbered(3)};
  injector.push_batch(jobs, 3);
  push(injector, numbered(4));
}

TEST(InjectorStress, ExactlyOnceWithFourProducersAndFourConsumers) {
  constexpr int kProducers = 4, kConsumers = 4;
  const std::size_t per_producer = tp_test::scaled(100000);
  const std::size_t total = per_producer * kProducers;
  Injector injector(kConsumers);
  std::vector<std::atomic<std::uint8_t>> seen(total);
  std::atomic<std::size_t> consumed{0};

  tp_test::Watchdog watchdog("injector stress");
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::uintptr_t base = static_cast<std::uintptr_t>(p) * per_producer;
      std::size_t i = 0;
      while (i < per_producer) {
        if (i % 7 == 0 && i + 5 <= per_producer) {  // some of it in batches
          Job batch[5];
          for (int k = 0; k < 5; ++k) batch[k] = numbered(base + i + static_cast<std::size_t>(k));
          injector.push_batch(batch, 5);
          i += 5;
        } else {
          push(injector, numbered(base + i++));
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      Job entry;
      Job taken[8];
      while (consumed.load(std::memory_order_relaxed) < total) {
        // Lanes and shards in turn, as a worker takes them.
        const std::size_t count = injector.pop_from_lanes(taken, 8, static_cast<std::size_t>(c));
        for (std::size_t k = 0; k < count; ++k) {
          seen[number(taken[k])].fetch_add(1, std::memory_order_relaxed);
        }
        consumed.fetch_add(count, std::memory_order_relaxed);
        if (!injector.pop(entry, static_cast<std::size_t>(c))) continue;
        if (Injector::is_batch(entry)) {
          Batch *batch = Injector::as_batch(entry);
          for (std::size_t k = 0; k < batch->count; ++k) {
            seen[number(batch->jobs()[k])].fetch_add(1, std::memory_order_relaxed);
          }
          consumed.fetch_add(batch->count, std::memory_order_relaxed);
          Batch::release(batch);
        } else {
          seen[number(entry)].fetch_add(1, std::memory_order_relaxed);
          consumed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(consumed.load(), total);
  for (std::size_t i = 0; i < total; ++i) ASSERT_EQ(seen[i].load(), 1) << "job " << i;
}

}  // namespace
