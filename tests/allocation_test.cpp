// Allocation-free hot paths, shown by counting: this binary replaces the global operator new (and
// so counts every allocation made through it, in libtp.so too: the library's new resolves to ours)
// and checks that, once warm, tp_pool_execute, tp_pool_join, tp_group_spawn and tp_queue_submit
// allocate nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <thread>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {
std::atomic<std::uint64_t> allocations{0};
}  // namespace

void *operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void *p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t size) { return operator new(size); }
void *operator new(std::size_t size, std::align_val_t align) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const auto alignment = static_cast<std::size_t>(align);
  if (void *p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)) {
    return p;
  }
  throw std::bad_alloc();
}
void *operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using tp_test::make_pool;
using tp_test::PoolPtr;

void no_op(void *) {}

struct Joins {
  tp_pool *pool;
  int count;
  std::uint64_t allocated = 0;
};

// Runs on a worker: `count` joins, the allocations they made counted around them.
void joins_on_a_worker(void *arg) {
  auto *j = static_cast<Joins *>(arg);
  for (int i = 0; i < 100; ++i) tp_pool_join(j->pool, no_op, nullptr, no_op, nullptr);  // warm-up
  const std::uint64_t before = allocations.load();
  for (int i = 0; i < j->count; ++i) tp_pool_join(j->pool, no_op, nullptr, no_op, nullptr);
  j->allocated = allocations.load() - before;
}

TEST(Allocations, TheCounterSeesLibraryAllocations) {
  // The check below is only meaningful if allocations inside libtp reach our operator new.
  const std::uint64_t before = allocations.load();
  PoolPtr pool = make_pool(2);
  EXPECT_GT(allocations.load() - before, 0u);
}

TEST(Allocations, JoinOnAWorkerAllocatesNothing) {
  PoolPtr pool = make_pool(2);
  Joins joins{pool.get(), 10000};
  ASSERT_EQ(tp_pool_execute(pool.get(), joins_on_a_worker, &joins), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(joins.allocated, 0u) << "allocations per join: "
                                 << static_cast<double>(joins.allocated) / joins.count;
}

struct Gate {
  std::atomic<int> arrived{0};
  std::atomic<bool> open{false};
};

void wait_at_gate(void *arg) {
  auto *gate = static_cast<Gate *>(arg);
  gate->arrived++;
  while (!gate->open.load()) std::this_thread::yield();
}

// Warm-up: a backlog of `jobs` while every worker is held at a gate, so that the injector's node
// free lists grow to hold at least that many nodes (they never shrink).
void warm_up_injector(tp_pool *pool, int jobs) {
  Gate gate;
  const auto workers = static_cast<int>(tp_pool_workers(pool));
  for (int w = 0; w < workers; ++w) tp_pool_execute(pool, wait_at_gate, &gate);
  while (gate.arrived.load() < workers) std::this_thread::yield();
  for (int i = 0; i < jobs; ++i) tp_pool_execute(pool, no_op, nullptr);
  gate.open = true;
  tp_pool_wait_idle(pool);
}

TEST(Allocations, ExecuteFromOutsideAllocatesNothingOnceWarm) {
  PoolPtr pool = make_pool(2);
  warm_up_injector(pool.get(), 1100);
  const std::uint64_t before = allocations.load();
  for (int round = 0; round < 10; ++round) {  // never more than 1000 queued at once
    for (int i = 0; i < 1000; ++i) tp_pool_execute(pool.get(), no_op, nullptr);
    tp_pool_wait_idle(pool.get());
  }
  const std::uint64_t allocated = allocations.load() - before;
  EXPECT_EQ(allocated, 0u) << "per job: " << static_cast<double>(allocated) / 1e4;
}

TEST(Allocations, GroupSpawnAllocatesNothingOnceWarm) {
  PoolPtr pool = make_pool(2);
  tp_group *group = nullptr;
  ASSERT_EQ(tp_group_create(pool.get(), &group), TP_OK);
  {  // warm-up: 1100 group jobs in flight at once, so the group keeps that many records
    Gate gate;
    const auto workers = static_cast<int>(tp_pool_workers(pool.get()));
    for (int w = 0; w < workers; ++w) tp_pool_execute(pool.get(), wait_at_gate, &gate);
    while (gate.arrived.load() < workers) std::this_thread::yield();
    for (int i = 0; i < 1100; ++i) tp_group_spawn(group, no_op, nullptr);
    gate.open = true;
    tp_group_wait(group);
    tp_pool_wait_idle(pool.get());
  }
  const std::uint64_t before = allocations.load();
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 1000; ++i) tp_group_spawn(group, no_op, nullptr);
    tp_group_wait(group);
  }
  const std::uint64_t spawned = allocations.load() - before;
  EXPECT_EQ(spawned, 0u) << "per spawn: " << static_cast<double>(spawned) / 1e4;
  EXPECT_EQ(tp_group_destroy(group), TP_OK);
}

TEST(Allocations, QueueSubmitAndWaitAllocateNothingOnceWarm) {
  PoolPtr pool = make_pool(2);
  tp_queue *queue = nullptr;
  ASSERT_EQ(tp_queue_create(pool.get(), &queue), TP_OK);
  {  // warm-up: 1100 queue jobs waiting at once, so the queue keeps that many nodes
    Gate gate;
    const auto workers = static_cast<int>(tp_pool_workers(pool.get()));
    for (int w = 0; w < workers; ++w) tp_pool_execute(pool.get(), wait_at_gate, &gate);
    while (gate.arrived.load() < workers) std::this_thread::yield();
    for (int i = 0; i < 1100; ++i) tp_queue_submit(queue, no_op, nullptr);
    gate.open = true;
    tp_queue_wait(queue);
    tp_pool_wait_idle(pool.get());
  }
  const std::uint64_t before = allocations.load();
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 1000; ++i) tp_queue_submit(queue, no_op, nullptr);
    tp_queue_wait(queue);  // its marker goes through the queue too
  }
  const std::uint64_t submitted = allocations.load() - before;
  EXPECT_EQ(submitted, 0u) << "per submission: " << static_cast<double>(submitted) / 1e4;
  EXPECT_EQ(tp_queue_destroy(queue), TP_OK);
}

TEST(Allocations, HighAndLowSubmissionsAllocateNothingOnceWarm) {
  PoolPtr pool = make_pool(2);
  const auto workers = static_cast<int>(tp_pool_workers(pool.get()));
  auto flood = [&] {  // 1000 of each level waiting at once, every worker held until then
    Gate gate;
    for (int w = 0; w < workers; ++w) tp_pool_execute(pool.get(), wait_at_gate, &gate);
    while (gate.arrived.load() < workers) std::this_thread::yield();
    for (int i = 0; i < 1000; ++i) {
      tp_pool_execute_priority(pool.get(), no_op, nullptr, TP_PRIORITY_HIGH);
      tp_pool_execute_priority(pool.get(), no_op, nullptr, TP_PRIORITY_LOW);
    }
    gate.open = true;
    tp_pool_wait_idle(pool.get());
  };
  flood();  // warm-up: each queue keeps the nodes it needed
  const std::uint64_t before = allocations.load();
  for (int round = 0; round < 5; ++round) flood();
  const std::uint64_t submitted = allocations.load() - before;
  EXPECT_EQ(submitted, 0u) << "per submission: " << static_cast<double>(submitted) / 1e4;
}

}  // namespace
