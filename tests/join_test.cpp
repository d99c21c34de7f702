// Fork-join through the public C ABI (src/join.hpp): tp_pool_join from a worker and from outside,
// and tp_pool_parallel_for built on it. (c_fork_join_test.c runs the same calls compiled as C.)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using namespace std::chrono_literals;
using tp_test::make_pool;
using tp_test::PoolPtr;
using tp_test::scaled;
using tp_test::Watchdog;

// ---- join ----

struct Fib {
  tp_pool *pool;
  unsigned n;
  std::uint64_t result = 0;
  tp_status status = TP_OK;
};

void fib(void *arg) {
  auto *f = static_cast<Fib *>(arg);
  if (f->n < 2) {
    f->result = f->n;
    return;
  }
  Fib a{f->pool, f->n - 1}, b{f->pool, f->n - 2};
  f->status = tp_pool_join(f->pool, fib, &a, fib, &b);
  if (a.status != TP_OK) f->status = a.status;
  if (b.status != TP_OK) f->status = b.status;
  f->result = a.result + b.result;
}

TEST(Join, FibIsExactOnOneTwoAndFourWorkers) {
  for (std::size_t workers : {1u, 2u, 4u}) {
    PoolPtr pool = make_pool(workers);
    Fib f{pool.get(), 22};
    Fib zero{pool.get(), 0};
    ASSERT_EQ(tp_pool_join(pool.get(), fib, &f, fib, &zero), TP_OK);  // from outside
    EXPECT_EQ(f.status, TP_OK);
    EXPECT_EQ(f.result, 17711u) << workers << " workers";
  }
}

TEST(Join, FromOutsideReturnsOnlyAfterBothHalvesRan) {
  PoolPtr pool = make_pool(2);
  struct Half {
    std::atomic<int> done{0};
  } a, b;
  auto slow = [](void *arg) {
    std::this_thread::sleep_for(5ms);
    static_cast<Half *>(arg)->done = 1;
  };
  ASSERT_EQ(tp_pool_join(pool.get(), slow, &a, slow, &b), TP_OK);
  EXPECT_EQ(a.done.load(), 1);
  EXPECT_EQ(b.done.load(), 1);
}

TEST(Join, AnUnstolenSecondHalfIsTakenBackByTheJoiningWorker) {
  // One worker: nobody can steal b, so the joining worker runs it after a, on the same thread.
  PoolPtr pool = make_pool(1);
  struct Scene {
    tp_pool *pool;
    std::thread::id a_thread{}, b_thread{};
    tp_status status = TP_ERR_INVALID_ARGUMENT;
  } scene{pool.get()};
  ASSERT_EQ(
      tp_pool_execute(
          pool.get(),
          [](void *arg) {
            auto *s = static_cast<Scene *>(arg);
            s->status = tp_pool_join(
                s->pool,
                [](void *x) { static_cast<Scene *>(x)->a_thread = std::this_thread::get_id(); }, s,
                [](void *x) { static_cast<Scene *>(x)->b_thread = std::this_thread::get_id(); }, s);
          },
          &scene),
      TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(scene.status, TP_OK);
  EXPECT_EQ(scene.a_thread, scene.b_thread);
  EXPECT_EQ(tp_test::stats_of(pool.get()).stolen, 0u);
  EXPECT_EQ(tp_test::stats_of(pool.get()).executed,
            2u);  // the joining job and b (a runs inside it)
}

TEST(Join, AStolenSecondHalfRunsOnAPeerWhileTheFirstWaitsForIt) {
  // a does not return until b has started: only a peer that stole b can start it, so the join
  // must both publish b to thieves and wait for it.
  PoolPtr pool = make_pool(2);
  struct Scene {
    tp_pool *pool;
    std::atomic<bool> b_started{false};
    std::thread::id a_thread{}, b_thread{};
    tp_status status = TP_ERR_INVALID_ARGUMENT;
  } scene{pool.get()};
  Watchdog watchdog("a join whose first half waits for its second", 60s,
                    [&] { return tp_test::describe_workers(pool.get()); });
  ASSERT_EQ(tp_pool_execute(
                pool.get(),
                [](void *arg) {
                  auto *s = static_cast<Scene *>(arg);
                  s->status = tp_pool_join(
                      s->pool,
                      [](void *x) {
                        auto *sc = static_cast<Scene *>(x);
                        sc->a_thread = std::this_thread::get_id();
                        while (!sc->b_started.load()) std::this_thread::yield();
                      },
                      s,
                      [](void *x) {
                        auto *sc = static_cast<Scene *>(x);
                        sc->b_thread = std::this_thread::get_id();
                        sc->b_started = true;
                      },
                      s);
                },
                &scene),
            TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  EXPECT_EQ(scene.status, TP_OK);
  EXPECT_NE(scene.a_thread, scene.b_thread);
  EXPECT_EQ(tp_test::stats_of(pool.get()).stolen, 1u);
}

struct Chain {
  tp_pool *pool;
  unsigned depth;
  std::atomic<std::uint64_t> *visits;
};

void count_visit(void *arg) { static_cast<Chain *>(arg)->visits->fetch_add(1); }

void chain(void *arg) {
  auto *c = static_cast<Chain *>(arg);
  c->visits->fetch_add(1);
  if (c->depth == 0) return;
  Chain next{c->pool, c->depth - 1, c->visits}, leaf{c->pool, 0, c->visits};
  // b is the deep side: a thief that steals it goes deep on its own stack too.
  tp_pool_join(c->pool, count_visit, &leaf, chain, &next);
}

TEST(Join, NestsFarDeeperThanTheNumberOfWorkers) {
  PoolPtr pool = make_pool(2);
  std::atomic<std::uint64_t> visits{0};
  const unsigned depth = 5000;
  Chain root{pool.get(), depth, &visits}, leaf{pool.get(), 0, &visits};
  Watchdog watchdog("a chain of 5000 nested joins", 120s);
  ASSERT_EQ(tp_pool_join(pool.get(), chain, &root, count_visit, &leaf), TP_OK);
  EXPECT_EQ(visits.load(), 2u * depth + 2);
}

TEST(Join, FromOutsideAShutDownPoolRunsNeitherHalf) {
  PoolPtr pool = make_pool(2);
  ASSERT_EQ(tp_pool_shutdown(pool.get()), TP_OK);
  std::atomic<int> ran{0};
  auto add = [](void *arg) { static_cast<std::atomic<int> *>(arg)->fetch_add(1); };
  EXPECT_EQ(tp_pool_join(pool.get(), add, &ran, add, &ran), TP_ERR_SHUTDOWN);
  EXPECT_EQ(ran.load(), 0);
}

// ---- parallel_for ----

struct Coverage {
  std::vector<std::atomic<std::uint8_t>> seen;
  std::atomic<std::size_t> pieces{0}, largest{0};
  explicit Coverage(std::size_t n) : seen(n) {}
};

void mark(std::size_t lo, std::size_t hi, void *arg) {
  auto *c = static_cast<Coverage *>(arg);
  for (std::size_t i = lo; i < hi; ++i) c->seen[i].fetch_add(1, std::memory_order_relaxed);
  c->pieces.fetch_add(1);
  std::size_t largest = c->largest.load();
  while (hi - lo > largest && !c->largest.compare_exchange_weak(largest, hi - lo)) {
  }
}

// Runs parallel_for over [begin, end) of a range of `size` and checks every index exactly once
// inside, never outside.
void expect_exact_cover(tp_pool *pool, std::size_t size, std::size_t begin, std::size_t end,
                        std::size_t grain, Coverage &c) {
  ASSERT_EQ(tp_pool_parallel_for(pool, begin, end, grain, mark, &c), TP_OK);
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned expected = i >= begin && i < end ? 1 : 0;
    ASSERT_EQ(c.seen[i].load(), expected)
        << "index " << i << " of [" << begin << ", " << end << ") with grain " << grain;
  }
}

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  PoolPtr pool = make_pool(2);
  const std::size_t n = scaled(200000);
  struct Case {
    std::size_t begin, end, grain;
  };
  for (const Case &k : {Case{0, n, 0}, Case{0, n, 1000}, Case{17, 17 + 12345, 1}, Case{5, 6, 0},
                        Case{0, 7, 100}, Case{3, n - 3, 64}}) {
    Coverage c(n + 1);
    expect_exact_cover(pool.get(), n + 1, k.begin, k.end, k.grain, c);
  }
}

TEST(ParallelFor, NoPieceIsLargerThanTheGrain) {
  PoolPtr pool = make_pool(2);
  for (std::size_t grain : {1u, 7u, 100u, 4096u}) {
    Coverage c(100000);
    ASSERT_EQ(tp_pool_parallel_for(pool.get(), 0, 100000, grain, mark, &c), TP_OK);
    EXPECT_LE(c.largest.load(), grain);
    EXPECT_GE(c.pieces.load(), 100000 / grain);
  }
}

// Grain 0 splits adaptively (src/join.cpp, split()). One worker cannot steal from itself: a loop
// halves once, whatever its size, from outside and from inside a job.
TEST(ParallelFor, GrainZeroOnOneWorkerMakesTwoPieces) {
  PoolPtr pool = make_pool(1);
  for (std::size_t size : {2u, 1000u, 1u << 20}) {
    Coverage c(size);
    expect_exact_cover(pool.get(), size, 0, size, 0, c);
    EXPECT_EQ(c.pieces.load(), 2u) << size << " indices, from outside";
  }
  struct Inside {
    tp_pool *pool;
    Coverage c{1 << 16};
    tp_status status = TP_ERR_INVALID_ARGUMENT;
  } inside{pool.get()};
  auto loop = [](void *arg) {
    auto *in = static_cast<Inside *>(arg);
    in->status = tp_pool_parallel_for(in->pool, 0, 1 << 16, 0, mark, &in->c);
  };
  ASSERT_EQ(tp_pool_join(
                pool.get(), loop, &inside, [](void *) {}, nullptr),
            TP_OK);
  EXPECT_EQ(inside.status, TP_OK);
  EXPECT_EQ(inside.c.pieces.load(), 2u) << "from inside a job";
}

// A piece that another worker steals splits again: the first piece holds its worker until more
// pieces than "two per worker" (4) have run, which only a stolen piece's fresh budget provides.
// Without that rule the loop would make 4 pieces and this piece would wait out its deadline.
TEST(ParallelFor, GrainZeroSplitsAStolenPieceAgain) {
  Watchdog watchdog("GrainZeroSplitsAStolenPieceAgain");
  PoolPtr pool = make_pool(2);
  struct Hold {
    Coverage c{1 << 12};
    std::atomic<bool> released_by_others{false};
  } hold;
  auto body = [](std::size_t lo, std::size_t hi, void *arg) {
    auto *h = static_cast<Hold *>(arg);
    if (lo == 0) {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (h->c.pieces.load() < 5 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
      }
      h->released_by_others.store(h->c.pieces.load() >= 5);
    }
    mark(lo, hi, &h->c);
  };
  ASSERT_EQ(tp_pool_parallel_for(pool.get(), 0, 1 << 12, 0, body, &hold), TP_OK);
  EXPECT_TRUE(hold.released_by_others.load());
  EXPECT_GT(hold.c.pieces.load(), 5u);
  for (std::size_t i = 0; i < (1 << 12); ++i) ASSERT_EQ(hold.c.seen[i].load(), 1) << i;
}

TEST(ParallelFor, AnEmptyOrReversedRangeCallsNothing) {
  PoolPtr pool = make_pool(2);
  Coverage c(16);
  EXPECT_EQ(tp_pool_parallel_for(pool.get(), 9, 9, 0, mark, &c), TP_OK);
  EXPECT_EQ(tp_pool_parallel_for(pool.get(), 10, 3, 1, mark, &c), TP_OK);
  EXPECT_EQ(c.pieces.load(), 0u);
}

struct Matrix {
  tp_pool *pool;
  std::size_t rows, columns;
  std::vector<std::atomic<std::uint8_t>> cells;
  std::atomic<int> failures{0};
};

TEST(ParallelFor, NestedLoopsCoverEveryCellOnce) {
  PoolPtr pool = make_pool(2);
  Matrix m{pool.get(), 64, 300, std::vector<std::atomic<std::uint8_t>>(64 * 300)};
  ASSERT_EQ(tp_pool_parallel_for(
                pool.get(), 0, m.rows, 1,
                [](std::size_t lo, std::size_t hi, void *arg) {
                  auto *mx = static_cast<Matrix *>(arg);
                  for (std::size_t r = lo; r < hi; ++r) {
                    struct Row {
                      Matrix *m;
                      std::size_t r;
                    } row{mx, r};
                    const tp_status status = tp_pool_parallel_for(
                        mx->pool, 0, mx->columns, 7,
                        [](std::size_t c_lo, std::size_t c_hi, void *row_arg) {
                          auto *rw = static_cast<Row *>(row_arg);
                          for (std::size_t c = c_lo; c < c_hi; ++c) {
                            rw->m->cells[rw->r * rw->m->columns + c].fetch_add(1);
                          }
                        },
                        &row);
                    if (status != TP_OK) mx->failures++;
                  }
                },
                &m),
            TP_OK);
  EXPECT_EQ(m.failures.load(), 0);
  for (std::size_t i = 0; i < m.cells.size(); ++i) ASSERT_EQ(m.cells[i].load(), 1) << i;
}

}  // namespace
