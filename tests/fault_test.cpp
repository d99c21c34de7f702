// Fault injection: each allocation of every call that allocates fails in turn (a table of them is
// printed), a deque that cannot grow, exceptions of every kind from every way a job can run, and
// fork() while a pool runs.
// This binary replaces operator new (to fail the N-th allocation of a thread and to count live
// allocations), so it is built outside the sanitizer presets. What hwloc allocates with malloc
// (CPU sets, formatted lists) is neither failed nor counted here; the asan preset's LeakSanitizer
// covers it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {
std::atomic<std::int64_t> live_allocations{0};
// On this thread only: the allocation number that fails (0 = none) and the count so far.
thread_local std::uint64_t fail_at = 0;
thread_local std::uint64_t made = 0;
thread_local std::uint64_t allocated_here = 0;  // every allocation of this thread, always counted
}  // namespace

void *operator new(std::size_t size) {
  ++allocated_here;
  if (fail_at != 0 && ++made == fail_at) throw std::bad_alloc();
  void *p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  live_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void *operator new[](std::size_t size) { return operator new(size); }
void *operator new(std::size_t size, std::align_val_t align) {
  ++allocated_here;
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

// Fails each allocation that `call` makes on the calling thread in turn: allocation 1 in the
// first round, allocation 2 in the second, ... until a round makes fewer allocations than the
// number to fail (every point was tried). In each round `call` must return TP_OK (it absorbed the
// failure) or TP_ERR_OUT_OF_MEMORY, no exception may escape (the C entry points are noexcept: one
// would end the process), and once `settle` has undone what an accepted call did (waited for its
// jobs, freed what it created), as many allocations must be live as before: nothing leaked.
// `settle` also checks the call's effect: an accepted call's jobs ran, a refused call's did not.
struct FaultTableRow {
  std::uint64_t allocations = 0;
  int out_of_memory = 0, absorbed = 0;
};

template <class Prepare, class Call, class Settle>
FaultTableRow fail_each_allocation(const char *name, Prepare prepare, Call call, Settle settle) {
  FaultTableRow row;
  for (std::uint64_t n = 1;; ++n) {
    const std::int64_t before = live_allocations.load();
    prepare();  // outside the injection; settle() undoes it
    made = 0;
    fail_at = n;
    const tp_status status = call();
    fail_at = 0;
    const bool failed_inside = made >= n;
    EXPECT_TRUE(status == TP_OK || status == TP_ERR_OUT_OF_MEMORY)
        << name << ", allocation " << n << ": " << tp_status_string(status);
    settle(status);
    // A worker may free what the call allocated a moment after the jobs ran (a batch is released
    // after its jobs were moved onto the deque, where a peer may already have run them all): give
    // such frees a moment. A real leak never comes back.
    for (int wait = 0; wait < 1000 && live_allocations.load() != before; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(live_allocations.load(), before)
        << name << ": leak when allocation " << n << " failed";
    if (!failed_inside) {
      row.allocations = n - 1;
      break;
    }
    (status == TP_OK ? row.absorbed : row.out_of_memory)++;
    if (n >= 10000) {
      ADD_FAILURE() << name << " never stops allocating";
      break;
    }
  }
  std::printf("| %s | %llu | %d | %d |\n", name, static_cast<unsigned long long>(row.allocations),
              row.out_of_memory, row.absorbed);
  return row;
}

template <class Call, class Settle>
FaultTableRow fail_each_allocation(const char *name, Call call, Settle settle) {
  return fail_each_allocation(
      name, [] {}, call, settle);
}

TEST(AllocationFailure, EveryCallThatAllocatesFailsCleanlyAtEachAllocation) {
  // Warm up what lives for the whole process (the machine's topology, the library's statics).
  tp_pool *warm = nullptr;
  ASSERT_EQ(tp_pool_create(2, &warm), TP_OK);
  ASSERT_EQ(tp_pool_destroy(warm), TP_OK);
  std::printf("| call | allocations on the calling thread | TP_ERR_OUT_OF_MEMORY | absorbed |\n");

  tp_pool *pool = nullptr;
  std::atomic<int> ran{0};
  auto pool_works = [&](tp_status status) {
    if (status != TP_OK) {
      EXPECT_EQ(pool, nullptr);
      return;
    }
    ran = 0;
    EXPECT_EQ(tp_pool_execute(pool, increment, &ran), TP_OK);
    EXPECT_EQ(tp_pool_destroy(pool), TP_OK);
    EXPECT_EQ(ran.load(), 1);
    pool = nullptr;
  };
  const FaultTableRow create = fail_each_allocation(
      "tp_pool_create", [&] { return tp_pool_create(2, &pool); }, pool_works);
  EXPECT_GT(create.out_of_memory, 0);  // the injection did hit create

  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 2;
  options.thread_name = "a-thread-name-longer-than-any-small-string";  // copied: allocates
  fail_each_allocation(
      "tp_pool_create_with", [&] { return tp_pool_create_with(&options, &pool); }, pool_works);

  // The calls below run on one pool, made outside the injection.
  tp_test::PoolPtr shared = tp_test::make_pool(2);
  tp_pool *p = shared.get();
  tp_group *group = nullptr;
  fail_each_allocation(
      "tp_group_create", [&] { return tp_group_create(p, &group); },
      [&](tp_status status) {
        if (status != TP_OK) {
          EXPECT_EQ(group, nullptr);
          return;
        }
        EXPECT_EQ(tp_group_destroy(group), TP_OK);
      });

  // A fresh group each round, so that the spawn needs a new record.
  fail_each_allocation(
      "tp_group_spawn",
      [&] {
        EXPECT_EQ(tp_group_create(p, &group), TP_OK);
        ran = 0;
      },
      [&] { return tp_group_spawn(group, increment, &ran); },
      [&](tp_status status) {
        EXPECT_EQ(tp_group_wait(group), TP_OK);
        EXPECT_EQ(ran.load(), status == TP_OK ? 1 : 0);
        EXPECT_EQ(tp_group_destroy(group), TP_OK);
      });

  fail_each_allocation(
      "tp_group_spawn_cancellable",
      [&] {
        EXPECT_EQ(tp_group_create(p, &group), TP_OK);
        ran = 0;
      },
      [&] { return tp_group_spawn_cancellable(group, increment, increment, &ran); },
      [&](tp_status status) {
        EXPECT_EQ(tp_group_wait(group), TP_OK);
        EXPECT_EQ(ran.load(), status == TP_OK ? 1 : 0);
        EXPECT_EQ(tp_group_destroy(group), TP_OK);
      });

  // A notification that waits for a job of the group (held at a gate): it is stored until then.
  tp_test::Gate *notify_gate = nullptr;
  fail_each_allocation(
      "tp_group_notify (pending)",
      [&] {
        EXPECT_EQ(tp_group_create(p, &group), TP_OK);
        notify_gate = new tp_test::Gate;
        EXPECT_EQ(tp_group_spawn(group, tp_test::Gate::hold, notify_gate), TP_OK);
        ran = 0;
      },
      [&] { return tp_group_notify(group, increment, &ran); },
      [&](tp_status status) {
        notify_gate->release();
        EXPECT_EQ(tp_group_wait(group), TP_OK);
        EXPECT_EQ(tp_pool_wait_idle(p), TP_OK);
        EXPECT_EQ(ran.load(), status == TP_OK ? 1 : 0);
        EXPECT_EQ(tp_group_destroy(group), TP_OK);
        delete notify_gate;
      });
  fail_each_allocation(
      "tp_group_notify (due at once)",
      [&] {
        EXPECT_EQ(tp_group_create(p, &group), TP_OK);
        ran = 0;
      },
      [&] { return tp_group_notify(group, increment, &ran); },
      [&](tp_status status) {
        EXPECT_EQ(tp_pool_wait_idle(p), TP_OK);
        EXPECT_EQ(ran.load(), status == TP_OK ? 1 : 0);
        EXPECT_EQ(tp_group_destroy(group), TP_OK);
      });

  tp_queue *queue = nullptr;
  fail_each_allocation(
      "tp_queue_create", [&] { return tp_queue_create(p, &queue); },
      [&](tp_status status) {
        if (status != TP_OK) {
          EXPECT_EQ(queue, nullptr);
          return;
        }
        EXPECT_EQ(tp_queue_destroy(queue), TP_OK);
      });
  // A fresh queue each round: the submission starts its carrier (from outside, into an injector
  // shard: a failed node is retried, so it is absorbed).
  fail_each_allocation(
      "tp_queue_submit (an idle queue)",
      [&] {
        EXPECT_EQ(tp_queue_create(p, &queue), TP_OK);
        ran = 0;
      },
      [&] { return tp_queue_submit(queue, increment, &ran); },
      [&](tp_status status) {
        EXPECT_EQ(tp_queue_wait(queue), TP_OK);
        EXPECT_EQ(ran.load(), status == TP_OK ? 1 : 0);
        EXPECT_EQ(tp_queue_destroy(queue), TP_OK);
      });
  // With the only worker held and every node of the queue in use, the next submission needs a node.
  tp_pool *held_for_queue = nullptr;
  tp_test::Gate *queue_gate = nullptr;
  int queued_in_queue = 0;
  fail_each_allocation(
      "tp_queue_submit (every node in use)",
      [&] {
        held_for_queue = tp_test::make_pool(1).release();
        queue_gate = new tp_test::Gate;
        EXPECT_EQ(tp_pool_execute(held_for_queue, tp_test::Gate::hold, queue_gate), TP_OK);
        queue_gate->wait_for_arrivals(1);
        EXPECT_EQ(tp_queue_create(held_for_queue, &queue), TP_OK);
        ran = 0;
        queued_in_queue = 0;
        for (std::uint64_t before = allocated_here; allocated_here == before;) {
          EXPECT_EQ(tp_queue_submit(queue, increment, &ran), TP_OK);
          ++queued_in_queue;
        }
      },
      [&] { return tp_queue_submit(queue, increment, &ran); },
      [&](tp_status status) {
        queue_gate->release();
        EXPECT_EQ(tp_queue_destroy(queue), TP_OK);
        EXPECT_EQ(tp_pool_wait_idle(held_for_queue), TP_OK);
        EXPECT_EQ(ran.load(), queued_in_queue + (status == TP_OK ? 1 : 0));
        EXPECT_EQ(tp_pool_destroy(held_for_queue), TP_OK);
        delete queue_gate;
      });

  // High and low jobs wait in queues of their own: with the only worker held and every node of
  // the level's queue in use, the next submission needs a node.
  for (const tp_priority level : {TP_PRIORITY_HIGH, TP_PRIORITY_LOW}) {
    tp_pool *held = nullptr;
    tp_test::Gate *gate = nullptr;
    int queued = 0;
    fail_each_allocation(
        level == TP_PRIORITY_HIGH ? "tp_pool_execute_priority (high, every node in use)"
                                  : "tp_pool_execute_priority (low, every node in use)",
        [&] {
          held = tp_test::make_pool(1).release();
          gate = new tp_test::Gate;
          EXPECT_EQ(tp_pool_execute(held, tp_test::Gate::hold, gate), TP_OK);
          gate->wait_for_arrivals(1);
          ran = 0;
          queued = 0;
          for (std::uint64_t before = allocated_here; allocated_here == before;) {
            EXPECT_EQ(tp_pool_execute_priority(held, increment, &ran, level), TP_OK);
            ++queued;
          }
        },
        [&] { return tp_pool_execute_priority(held, increment, &ran, level); },
        [&](tp_status status) {
          gate->release();
          EXPECT_EQ(tp_pool_wait_idle(held), TP_OK);
          EXPECT_EQ(ran.load(), queued + (status == TP_OK ? 1 : 0));
          EXPECT_EQ(tp_pool_destroy(held), TP_OK);
          delete gate;
        });
  }

  tp_job batch[4] = {{increment, &ran}, {increment, &ran}, {increment, &ran}, {increment, &ran}};
  auto ran_if_accepted = [&](int jobs) {
    return [&, jobs](tp_status status) {
      EXPECT_EQ(tp_pool_wait_idle(p), TP_OK);
      EXPECT_EQ(ran.load(), status == TP_OK ? jobs : 0);
    };
  };
  fail_each_allocation(
      "tp_pool_execute_batch (from outside)",
      [&] {
        ran = 0;
        return tp_pool_execute_batch(p, batch, 4);
      },
      ran_if_accepted(4));
  fail_each_allocation(
      "tp_pool_execute (from outside)",
      [&] {
        ran = 0;
        return tp_pool_execute(p, increment, &ran);
      },
      ran_if_accepted(1));
  // With every submission lane full (the workers held), a single job goes to an MPMC shard, whose
  // node cache is empty once a push had to allocate: the next push allocates a node.
  struct Gate {
    std::atomic<bool> open{false};
  } gate;
  tp_pool *held = nullptr;
  int queued = 0;
  fail_each_allocation(
      "tp_pool_execute (from outside, every lane full)",
      [&] {
        tp_pool_options one;
        tp_pool_options_init(&one);
        one.workers = 1;
        one.spin_limit = 0;
        EXPECT_EQ(tp_pool_create_with(&one, &held), TP_OK);
        gate.open = false;
        ran = 0;
        EXPECT_EQ(tp_pool_execute(
                      held,
                      [](void *arg) {
                        while (!static_cast<Gate *>(arg)->open.load()) std::this_thread::yield();
                      },
                      &gate),
                  TP_OK);
        queued = 0;
        for (std::uint64_t before = allocated_here; allocated_here == before;) {
          EXPECT_EQ(tp_pool_execute(held, increment, &ran), TP_OK);
          ++queued;
        }
      },
      [&] { return tp_pool_execute(held, increment, &ran); },
      [&](tp_status status) {
        gate.open = true;
        EXPECT_EQ(tp_pool_wait_idle(held), TP_OK);
        EXPECT_EQ(ran.load(), queued + (status == TP_OK ? 1 : 0));
        EXPECT_EQ(tp_pool_destroy(held), TP_OK);
      });
  fail_each_allocation(
      "tp_pool_join (from outside)",
      [&] {
        ran = 0;
        return tp_pool_join(p, increment, &ran, increment, &ran);
      },
      ran_if_accepted(2));
  fail_each_allocation(
      "tp_pool_parallel_for (from outside)",
      [&] {
        ran = 0;
        return tp_pool_parallel_for(
            p, 0, 64, 8,
            [](size_t lo, size_t hi, void *arg) {
              static_cast<std::atomic<int> *>(arg)->fetch_add(static_cast<int>(hi - lo));
            },
            &ran);
      },
      ran_if_accepted(64));

  // The default pool is created once and never freed, so its row is its own loop: each failed
  // creation returns TP_ERR_OUT_OF_MEMORY and leaves nothing behind, the next call tries again, and
  // once one succeeds the pool works and later calls allocate nothing.
  // Configured first (outside the injection), so that creation does not read the machine's
  // defaults, whose allocations are absorbed (a cgroup file that cannot be read means no quota).
  ASSERT_EQ(tp_pool_default_configure(&options), TP_OK);
  FaultTableRow row;
  tp_pool *default_pool = nullptr;
  for (std::uint64_t n = 1; n < 10000; ++n) {
    const std::int64_t before = live_allocations.load();
    made = 0;
    fail_at = n;
    const tp_status status = tp_pool_default(&default_pool);
    fail_at = 0;
    if (status == TP_OK) {
      row.allocations = n - 1;
      break;
    }
    ASSERT_EQ(status, TP_ERR_OUT_OF_MEMORY) << "allocation " << n;
    EXPECT_EQ(default_pool, nullptr);
    EXPECT_EQ(live_allocations.load(), before)
        << "tp_pool_default: leak when allocation " << n << " failed";
    row.out_of_memory++;
  }
  ASSERT_NE(default_pool, nullptr);
  const std::uint64_t allocated_before = allocated_here;
  tp_pool *again = nullptr;
  EXPECT_EQ(tp_pool_default(&again), TP_OK);
  EXPECT_EQ(again, default_pool);
  EXPECT_EQ(allocated_here, allocated_before);  // the fast path allocates nothing
  ran = 0;
  EXPECT_EQ(tp_pool_execute(default_pool, increment, &ran), TP_OK);
  EXPECT_EQ(tp_pool_wait_idle(default_pool), TP_OK);
  EXPECT_EQ(ran.load(), 1);
  EXPECT_GT(row.out_of_memory, 0);
  std::printf("| tp_pool_default (first call) | %llu | %d | 0 |\n",
              static_cast<unsigned long long>(row.allocations), row.out_of_memory);
}

struct Spawner {
  tp_pool *pool;
  std::atomic<int> ran{0};
  int accepted = 0;
  tp_status refused = TP_OK;
  tp_status batch = TP_OK;
  tp_status join = TP_ERR_INVALID_ARGUMENT;
  std::atomic<int> join_halves{0};
};

TEST(AllocationFailure, ADequeThatCannotGrowRefusesSpawnsAndJoinsRunInline) {
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
                  // A join cannot push its second half either: it absorbs the failure and runs
                  // both halves here.
                  made = 0;
                  fail_at = 1;
                  s->join =
                      tp_pool_join(s->pool, increment, &s->join_halves, increment, &s->join_halves);
                  fail_at = 0;
                },
                &spawner),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(spawner.refused, TP_ERR_OUT_OF_MEMORY);
  EXPECT_GT(spawner.accepted, 0);
  EXPECT_EQ(spawner.batch, TP_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(spawner.join, TP_OK);
  EXPECT_EQ(spawner.join_halves.load(), 2);
  EXPECT_EQ(spawner.ran.load(), spawner.accepted);  // every accepted job ran, nothing else did
}

// The notification that the pool refuses when the group empties (the finisher's deque cannot
// grow) runs on the finisher's thread, once the group is open: it may wait for the group (and
// destroy it) without waiting for itself.
struct RefusedNotification {
  tp_pool *pool;
  tp_group *group = nullptr;
  std::atomic<int> ran{0};
  int filled = 0;
  std::atomic<int> wait_status{-1};
  std::thread::id notified_on{}, last_job_on{};
};

void wait_for_and_destroy_the_group(void *arg) {
  fail_at = 0;
  auto *test = static_cast<RefusedNotification *>(arg);
  test->notified_on = std::this_thread::get_id();
  test->wait_status = tp_group_wait(test->group);
  EXPECT_EQ(tp_group_destroy(test->group), TP_OK);
}

void last_job_that_leaves_the_deque_full(void *arg) {
  auto *test = static_cast<RefusedNotification *>(arg);
  test->last_job_on = std::this_thread::get_id();
  // Pending: this job is unfinished.
  ASSERT_EQ(tp_group_notify(test->group, wait_for_and_destroy_the_group, test), TP_OK);
  // Fill the only worker's deque until it would have to grow, and leave the next allocation of
  // this thread failing: the notification cannot be pushed.
  made = 0;
  fail_at = 1;
  while (tp_pool_execute(test->pool, increment, &test->ran) == TP_OK) ++test->filled;
  made = 0;
  fail_at = 1;
}

TEST(AllocationFailure, ANotificationThePoolRefusesRunsOnceTheGroupIsOpen) {
  tp_test::Watchdog watchdog("a refused notification that waits for its group");
  tp_test::PoolPtr pool = tp_test::make_pool(1);
  RefusedNotification test{pool.get()};
  ASSERT_EQ(tp_group_create(pool.get(), &test.group), TP_OK);
  ASSERT_EQ(tp_group_spawn(test.group, last_job_that_leaves_the_deque_full, &test), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_GT(test.filled, 0);
  EXPECT_EQ(test.ran.load(), test.filled);
  EXPECT_EQ(test.wait_status.load(), TP_OK);
  // Refused, so run by the finisher itself, inline: no job of its own (the group's job and the
  // fillers are).
  EXPECT_EQ(test.notified_on, test.last_job_on);
  EXPECT_EQ(tp_test::stats_of(pool.get()).executed, static_cast<std::uint64_t>(test.filled) + 1);
}

// A queue's carrier that cannot be pushed (the submitting worker's deque cannot grow) runs on the
// submitting worker instead: the queue's job has run when the submission returns.
struct InlineTurn {
  tp_pool *pool;
  tp_queue *queue = nullptr;
  std::atomic<int> ran{0};
  int filled = 0;
  int queued_ran_before_return = -1;
  tp_status status = TP_ERR_INVALID_ARGUMENT;
};

void submit_to_an_idle_queue_with_a_full_deque(void *arg) {
  auto *test = static_cast<InlineTurn *>(arg);
  made = 0;
  fail_at = 1;
  while (tp_pool_execute(test->pool, increment, &test->ran) == TP_OK) ++test->filled;
  made = 0;
  fail_at = 1;  // the carrier's push onto this deque fails
  const int before = test->ran.load();
  test->status = tp_queue_submit(test->queue, increment, &test->ran);
  fail_at = 0;
  test->queued_ran_before_return = test->ran.load() - before;
}

TEST(AllocationFailure, AQueueWhoseCarrierCannotBePushedRunsItsTurnOnTheSubmitter) {
  tp_test::Watchdog watchdog("a carrier that cannot be pushed");
  tp_test::PoolPtr pool = tp_test::make_pool(1);
  InlineTurn test{pool.get()};
  ASSERT_EQ(tp_queue_create(pool.get(), &test.queue), TP_OK);
  ASSERT_EQ(tp_pool_execute(pool.get(), submit_to_an_idle_queue_with_a_full_deque, &test), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(test.status, TP_OK);
  EXPECT_GT(test.filled, 0);
  EXPECT_EQ(test.queued_ran_before_return, 1);
  EXPECT_EQ(test.ran.load(), test.filled + 1);
  EXPECT_EQ(tp_queue_destroy(test.queue), TP_OK);
  // The turn was part of the submitting job: the counts add up (nothing left unfinished).
  EXPECT_EQ(tp_test::stats_of(pool.get()).executed, static_cast<std::uint64_t>(test.filled) + 2);
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
