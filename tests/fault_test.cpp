// Fault injection: allocation failures at every point of pool creation and in a deque that cannot
// grow, exceptions of every kind from every way a job can run, and fork() while a pool runs.
// This binary replaces operator new (to fail the N-th allocation of a thread and to count live
// allocations), so it is built outside the sanitizer presets. What hwloc allocates with malloc
// (CPU sets, formatted lists) is neither failed nor counted here; the asan preset's LeakSanitizer
// covers it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {
std::atomic<std::int64_t> live_allocations{0};
// On this thread only: the allocation number that fails (0 = none) and the count so far.
thread_local std::uint64_t fail_at = 0;
thread_local std::uint64_t made = 0;
}  // namespace

void *operator new(std::size_t size) {
  if (fail_at != 0 && ++made == fail_at) throw std::bad_alloc();
  void *p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  live_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void *operator new[](std::size_t size) { return operator new(size); }
void *operator new(std::size_t size, std::align_val_t align) {
  if (fail_at != 0 && ++made == fail_at) throw std::bad_alloc();
  const auto alignment = static_cast<std::size_t>(align);
  void *p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  live_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void *operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void *p) noexcept {
  if (p != nullptr) live_allocations.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}
void operator delete[](void *p) noexcept { operator delete(p); }
void operator delete(void *p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void *p, std::size_t) noexcept { operator delete(p); }
void operator delete(void *p, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void *p, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { operator delete(p); }

namespace {

void increment(void *arg) { static_cast<std::atomic<int> *>(arg)->fetch_add(1); }

TEST(AllocationFailure, EveryAllocationOfCreateCanFailCleanly) {
  // Warm up what lives for the whole process (the machine's topology, the library's statics).
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_create(2, &pool), TP_OK);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);

  int failures_seen = 0;
  for (std::uint64_t n = 1;; ++n) {
    const std::int64_t before = live_allocations.load();
    made = 0;
    fail_at = n;
    const tp_status status = tp_pool_create(2, &pool);
    fail_at = 0;
    const bool failed_inside = made >= n;
    if (status == TP_OK) {
      std::atomic<int> ran{0};
      ASSERT_EQ(tp_pool_execute(pool, increment, &ran), TP_OK);
      ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
      EXPECT_EQ(ran.load(), 1);
    } else {
      EXPECT_EQ(status, TP_ERR_OUT_OF_MEMORY) << "allocation " << n;
      EXPECT_EQ(pool, nullptr);
      ++failures_seen;
    }
    EXPECT_EQ(live_allocations.load(), before) << "leak when allocation " << n << " failed";
    if (!failed_inside) {  // create made fewer than n allocations: every point was tried
      std::printf(
          "tp_pool_create(2) makes %llu allocations on its thread; each failed once: "
          "%d times TP_ERR_OUT_OF_MEMORY, otherwise absorbed\n",
          static_cast<unsigned long long>(n - 1), failures_seen);
      break;
    }
    ASSERT_LT(n, 10000u);
  }
  EXPECT_GT(failures_seen, 0);  // the injection did hit create
}

struct Spawner {
  tp_pool *pool;
  std::atomic<int> ran{0};
  int accepted = 0;
  tp_status refused = TP_OK;
  tp_status batch = TP_OK;
};

TEST(AllocationFailure, ADequeThatCannotGrowRefusesAndLosesNothing) {
  tp_test::PoolPtr pool = tp_test::make_pool(1);
  Spawner spawner{pool.get()};
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *s = static_cast<Spawner *>(arg);
                  // From now on the first allocation of this worker fails: the deque cannot grow.
                  made = 0;
                  fail_at = 1;
                  for (int i = 0; i < 10000; ++i) {
                    const tp_status status = tp_pool_execute(s->pool, increment, &s->ran);
                    if (status != TP_OK) {
                      s->refused = status;
                      break;
                    }
                    ++s->accepted;
                  }
                  tp_job jobs[600];
                  for (auto &job : jobs) job = tp_job{increment, &s->ran};
                  made = 0;
                  fail_at = 1;
                  s->batch = tp_pool_execute_batch(s->pool, jobs, 600);  // needs to grow: refused
                  fail_at = 0;
                },
                &spawner),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(spawner.refused, TP_ERR_OUT_OF_MEMORY);
  EXPECT_GT(spawner.accepted, 0);
  EXPECT_EQ(spawner.batch, TP_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(spawner.ran.load(), spawner.accepted);  // every accepted job ran, nothing else did
}

// ---- exceptions of every kind, from every way a job runs ----

struct Foreign {  // not derived from std::exception
  int code;
};

template <int kKind>
void throw_kind(void *) {
  if constexpr (kKind == 0) throw 7;
  if constexpr (kKind == 1) throw std::runtime_error("job");
  if constexpr (kKind == 2) throw Foreign{3};
}

TEST(Exceptions, EveryEntryPointCountsAndCarriesOn) {
  tp_test::PoolPtr pool = tp_test::make_pool(2);
  tp_pool *p = pool.get();
  std::atomic<int> ran{0};
  const tp_job_fn throwers[] = {throw_kind<0>, throw_kind<1>, throw_kind<2>};
  int thrown = 0;
  for (tp_job_fn thrower : throwers) {
    ASSERT_EQ(tp_pool_execute(p, thrower, nullptr), TP_OK);
    ++thrown;
    tp_job batch[2] = {{thrower, nullptr}, {increment, &ran}};
    ASSERT_EQ(tp_pool_execute_batch(p, batch, 2), TP_OK);
    ++thrown;
    ASSERT_EQ(tp_pool_join(p, thrower, nullptr, thrower, nullptr), TP_OK);  // from outside
    thrown += 2;
    tp_group *group = nullptr;
    ASSERT_EQ(tp_group_create(p, &group), TP_OK);
    ASSERT_EQ(tp_group_spawn(group, thrower, nullptr), TP_OK);
    ASSERT_EQ(tp_group_spawn(group, increment, &ran), TP_OK);
    ++thrown;
    ASSERT_EQ(tp_group_wait(group), TP_OK);
    ASSERT_EQ(tp_group_destroy(group), TP_OK);
  }
  // From inside a job: a join whose halves throw.
  struct Inner {
    tp_pool *pool;
    tp_status status = TP_ERR_INVALID_ARGUMENT;
  } inner{p};
  ASSERT_EQ(tp_pool_execute(
                p,
                [](void *arg) {
                  auto *i = static_cast<Inner *>(arg);
                  i->status = tp_pool_join(i->pool, throw_kind<1>, nullptr, throw_kind<2>, nullptr);
                },
                &inner),
            TP_OK);
  thrown += 2;
  // parallel_for bodies that throw on some pieces.
  ASSERT_EQ(tp_pool_parallel_for(
                p, 0, 8, 1,
                [](size_t lo, size_t, void *) {
                  if (lo % 2 == 0) throw std::logic_error("piece");
                },
                nullptr),
            TP_OK);
  thrown += 4;
  ASSERT_EQ(tp_pool_wait_idle(p), TP_OK);
  EXPECT_EQ(inner.status, TP_OK);
  EXPECT_EQ(ran.load(), 6);  // the well-behaved jobs beside the throwing ones all ran
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  ASSERT_EQ(tp_pool_get_stats(p, &stats), TP_OK);
  EXPECT_EQ(stats.exceptions, static_cast<std::uint64_t>(thrown));
  // And the pool still works.
  ASSERT_EQ(tp_pool_execute(p, increment, &ran), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(p), TP_OK);
  EXPECT_EQ(ran.load(), 7);
}

// ---- fork() while a pool runs ----

TEST(Fork, TheChildCanUseAFreshPoolAndExitsWithoutHanging) {
  tp_test::PoolPtr pool = tp_test::make_pool(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) tp_pool_execute(pool.get(), increment, &ran);  // busy at fork
  tp_test::Watchdog watchdog("fork child", std::chrono::seconds(60));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's pool exists here only as memory: its workers were not forked. It must be
    // neither used nor destroyed in the child (tp.h); a fresh pool works.
    tp_pool *fresh = nullptr;
    std::atomic<int> child_ran{0};
    if (tp_pool_create(2, &fresh) != TP_OK) std::_Exit(2);
    for (int i = 0; i < 100; ++i) tp_pool_execute(fresh, increment, &child_ran);
    if (tp_pool_destroy(fresh) != TP_OK || child_ran.load() != 100) std::_Exit(3);
    std::exit(0);  // a normal exit: static destructors and atexit handlers must not hang
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
