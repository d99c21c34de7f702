// White-box tests of the submission lanes: order within a lane, a full lane refusing, bounded
// and gathering takes, and exactly-once delivery when more producers and consumers than lanes fight
// over both sides of every lane.
#include "lanes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using tp::detail::Job;
using tp::detail::Lanes;

void no_op(void *) {}
Job numbered(std::uintptr_t n) { return Job{&no_op, reinterpret_cast<void *>(n)}; }
std::uintptr_t number(Job job) { return reinterpret_cast<std::uintptr_t>(job.arg); }

// A submission as the pool makes one: a lane with room, the job counted and pushed, the lane given
// back (which publishes it).
enum class Push { done, busy, full };
Push try_push(Lanes &lanes, Job job) {
  Lanes::Producer lane = lanes.acquire();
  if (!lane) return lane.why() == Lanes::Producer::Why::busy ? Push::busy : Push::full;
  lane.accept();
  lane.push(job);
  return Push::done;
}

TEST(Lanes, OneThreadKeepsToOneLaneInOrder) {
  Lanes lanes(3);
  EXPECT_TRUE(lanes.looks_empty());
  for (std::uintptr_t i = 0; i < 100; ++i) ASSERT_EQ(try_push(lanes, numbered(i)), Push::done);
  EXPECT_FALSE(lanes.looks_empty());
  Job taken[100];
  ASSERT_EQ(lanes.pop(taken, 100, 0), 100u);  // all in one lane, whichever it is
  for (std::uintptr_t i = 0; i < 100; ++i) EXPECT_EQ(number(taken[i]), i);
  EXPECT_TRUE(lanes.looks_empty());
  EXPECT_EQ(lanes.pop(taken, 100, 0), 0u);
}

TEST(Lanes, APopTakesAtMostWhatItIsAskedFor) {
  Lanes lanes(1);
  for (std::uintptr_t i = 0; i < 10; ++i) ASSERT_EQ(try_push(lanes, numbered(i)), Push::done);
  Job taken[10];
  ASSERT_EQ(lanes.pop(taken, 4, 0), 4u);
  EXPECT_EQ(number(taken[0]), 0u);
  ASSERT_EQ(lanes.pop(taken, 10, 0), 6u);
  EXPECT_EQ(number(taken[0]), 4u);
}

TEST(Lanes, AGatheringPopTakesALoneJobAtOnceAndWhatAStoppedProducerLeftWhole) {
  Lanes lanes(1);
  Job taken[8];
  ASSERT_EQ(try_push(lanes, numbered(0)), Push::done);
  EXPECT_EQ(lanes.pop(taken, 8, 0, true), 1u);  // a round trip's job: nothing to wait for
  for (std::uintptr_t i = 1; i <= 3; ++i) ASSERT_EQ(try_push(lanes, numbered(i)), Push::done);
  // Three jobs and no producer at work: the wait stalls, and the three come together.
  ASSERT_EQ(lanes.pop(taken, 8, 0, true), 3u);
  for (std::uintptr_t i = 0; i < 3; ++i) EXPECT_EQ(number(taken[i]), i + 1);
  for (std::uintptr_t i = 4; i < 24; ++i) ASSERT_EQ(try_push(lanes, numbered(i)), Push::done);
  ASSERT_EQ(lanes.pop(taken, 8, 0, true), 8u);  // never more than asked for
  EXPECT_EQ(number(taken[0]), 4u);
}

TEST(Lanes, APushSaysWhetherItsJobIsAloneAndTakenSaysWhenAConsumerHasIt) {
  Lanes lanes(1);
  Job taken[8];
  {
    Lanes::Producer lane = lanes.acquire();
    ASSERT_TRUE(lane);
    EXPECT_TRUE(lane.push(numbered(0)));  // nothing ahead of it: a round trip's job
    lane.release();
    EXPECT_FALSE(lane.taken());
    ASSERT_EQ(lanes.pop(taken, 8, 0), 1u);
    EXPECT_TRUE(lane.taken());
  }
  {
    Lanes::Producer lane = lanes.acquire();
    ASSERT_TRUE(lane);
    EXPECT_TRUE(lane.push(numbered(1)));
    EXPECT_FALSE(lane.push(numbered(2)));  // behind another: a stream's
    lane.release();
    ASSERT_EQ(lanes.pop(taken, 1, 0), 1u);
    EXPECT_FALSE(lane.taken());  // the second is still there
    ASSERT_EQ(lanes.pop(taken, 8, 0), 1u);
    EXPECT_TRUE(lane.taken());
  }
}

TEST(Lanes, FullLanesRefuseAndKeepWhatTheyHold) {
  Lanes lanes(2);
  const std::size_t room = 2 * Lanes::kCapacity;
  for (std::uintptr_t i = 0; i < room; ++i)
    ASSERT_EQ(try_push(lanes, numbered(i)), Push::done) << i;
  EXPECT_EQ(try_push(lanes, numbered(room)), Push::full);
  std::vector<int> seen(room, 0);
  Job taken[64];
  for (std::size_t count; (count = lanes.pop(taken, 64, 1)) != 0;) {
    for (std::size_t i = 0; i < count; ++i) ++seen[number(taken[i])];
  }
  for (int count : seen) EXPECT_EQ(count, 1);
  EXPECT_EQ(try_push(lanes, numbered(0)), Push::done);  // room again
  EXPECT_EQ(lanes.accepted(), room + 1);                // a full lane counted nothing
}

TEST(Lanes, EachLaneCountsWhatItAcceptsAndATakeBackUndoesIt) {
  Lanes lanes(2);
  EXPECT_EQ(lanes.accepted(), 0u);
  for (std::uintptr_t i = 0; i < 5; ++i) ASSERT_EQ(try_push(lanes, numbered(i)), Push::done);
  EXPECT_EQ(lanes.accepted(), 5u);
  {
    Lanes::Producer lane = lanes.acquire();
    ASSERT_TRUE(lane);
    lane.accept();
    EXPECT_EQ(lanes.accepted(), 6u);  // counted before it is visible
    lane.unaccept();                  // refused: never pushed
  }
  EXPECT_EQ(lanes.accepted(), 5u);
  Job taken[8];
  std::size_t popped = 0;
  for (std::size_t home = 0, count; (count = lanes.pop(taken, 8, home)) != 0; ++home)
    popped += count;
  EXPECT_EQ(popped, 5u);
  EXPECT_EQ(lanes.accepted(), 5u);  // counts of accepted jobs, not of jobs waiting
}

TEST(Lanes, AHeldLaneIsBusyForOtherProducers) {
  Lanes lanes(1);
  Lanes::Producer held = lanes.acquire();
  ASSERT_TRUE(held);
  std::thread other([&] {
    Lanes::Producer lane = lanes.acquire();
    EXPECT_FALSE(lane);
    EXPECT_EQ(lane.why(), Lanes::Producer::Why::busy);
  });
  other.join();
}

TEST(LanesStress, ExactlyOnceWithMoreProducersAndConsumersThanLanes) {
  constexpr int kProducers = 4, kConsumers = 3;
  const std::size_t per_producer = tp_test::scaled(200000);
  const std::size_t total = per_producer * kProducers;
  Lanes lanes(2);  // every lane's both sides contended
  std::vector<std::atomic<std::uint8_t>> seen(total);
  std::atomic<std::size_t> consumed{0};
  std::atomic<std::size_t> refused{0};

  tp_test::Watchdog watchdog("lanes stress");
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::uintptr_t base = static_cast<std::uintptr_t>(p) * per_producer;
      for (std::size_t i = 0; i < per_producer; ++i) {
        while (try_push(lanes, numbered(base + i)) != Push::done) {
          refused.fetch_add(1, std::memory_order_relaxed);  // busy or full: try again
          std::this_thread::yield();
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      Job taken[8];
      while (consumed.load(std::memory_order_relaxed) < total) {
        // The last consumer gathers, as a quiet worker does: it waits on a lane, holding its
        // consumer side, while the producers fill it.
        const std::size_t count = lanes.pop(taken, 1 + static_cast<std::size_t>(c) * 3,
                                            static_cast<std::size_t>(c), c == kConsumers - 1);
        for (std::size_t k = 0; k < count; ++k) {
          seen[number(taken[k])].fetch_add(1, std::memory_order_relaxed);
        }
        consumed.fetch_add(count, std::memory_order_relaxed);
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(consumed.load(), total);
  EXPECT_TRUE(lanes.looks_empty());
  for (std::size_t i = 0; i < total; ++i) ASSERT_EQ(seen[i].load(), 1) << "job " << i;
  std::printf("pushes refused (side taken or lanes full): %zu\n", refused.load());
}

}  // namespace
