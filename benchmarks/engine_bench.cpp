// Engine benchmarks.
//
// BM_Injector: producers push and consumers pop on one Injector, with 1 shard (a single
// Boost.Lockfree queue, the "before") or one shard per thread (the "after"). Run with
// --benchmark_filter=Injector to compare; items/s is queue operations (push + pop) per second.
//
// BM_Execute / BM_ExecuteBatch: no-op jobs through the public C ABI from 1 or 4 outside threads,
// then wait until all have run; items/s is jobs per second.
//
// BM_FibSerial / BM_FibJoin: fib(30) plainly, and with tp_pool_join at every level on 1 and 2
// workers.
//
// BM_VictimOrder: the same kind of work stealing in topology order and in rotating order.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "injector.hpp"
#include "pool.hpp"
#include "tp/tp.h"

namespace {

using tp::detail::Batch;
using tp::detail::Injector;
using tp::detail::Job;

void no_op(void *) {}

Injector *shared_injector = nullptr;

void BM_Injector(benchmark::State &state) {
  const auto shards = static_cast<std::size_t>(state.range(0));
  if (state.thread_index() == 0) shared_injector = new Injector(shards);
  const auto home = static_cast<std::size_t>(state.thread_index());
  Job job{&no_op, nullptr};
  for (auto _ : state) {
    shared_injector->push_to_shards(job);  // the shards alone (lanes have their own test)
    Job out;
    while (!shared_injector->pop(out, home)) {
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * 2);
  if (state.thread_index() == 0) {
    delete shared_injector;
    shared_injector = nullptr;
  }
}
// range(0) = shards: 1 is one shared Boost.Lockfree queue; 4 is what a 4-worker pool gets.
BENCHMARK(BM_Injector)->Arg(1)->Arg(4)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

tp_pool *shared_pool = nullptr;
constexpr std::int64_t kJobsPerRound = 10000;

void create_pool(const benchmark::State &state) {
  if (state.thread_index() == 0)
    tp_pool_create(static_cast<std::size_t>(state.range(0)), &shared_pool);
}
void destroy_pool(const benchmark::State &state) {
  if (state.thread_index() == 0) {
    tp_pool_destroy(shared_pool);
    shared_pool = nullptr;
  }
}

void BM_Execute(benchmark::State &state) {
  create_pool(state);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kJobsPerRound; ++i) tp_pool_execute(shared_pool, no_op, nullptr);
    tp_pool_wait_idle(shared_pool);
  }
  state.SetItemsProcessed(state.iterations() * kJobsPerRound);
  destroy_pool(state);
}
// range(0) = workers.
BENCHMARK(BM_Execute)->Arg(2)->Threads(1)->Threads(4)->UseRealTime();

void BM_ExecuteBatch(benchmark::State &state) {
  create_pool(state);
  std::vector<tp_job> batch(1000, tp_job{no_op, nullptr});
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kJobsPerRound; i += 1000) {
      tp_pool_execute_batch(shared_pool, batch.data(), batch.size());
    }
    tp_pool_wait_idle(shared_pool);
  }
  state.SetItemsProcessed(state.iterations() * kJobsPerRound);
  destroy_pool(state);
}
BENCHMARK(BM_ExecuteBatch)->Arg(2)->Threads(1)->Threads(4)->UseRealTime();

// fib(30) with a fork at every level through tp_pool_join (1.6 million joins), against the plain
// recursive function: the overhead users feel in divide-and-conquer code.
struct Fib {
  tp_pool *pool;
  unsigned n;
  std::uint64_t result;
};

void fib_job(void *arg) {
  auto *f = static_cast<Fib *>(arg);
  if (f->n < 2) {
    f->result = f->n;
    return;
  }
  Fib a{f->pool, f->n - 1, 0}, b{f->pool, f->n - 2, 0};
  tp_pool_join(f->pool, fib_job, &a, fib_job, &b);
  f->result = a.result + b.result;
}

std::uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

constexpr unsigned kFib = 30;
constexpr std::uint64_t kFib30 = 832040;

void BM_FibSerial(benchmark::State &state) {
  for (auto _ : state) {
    const std::uint64_t result = fib_serial(kFib);
    benchmark::DoNotOptimize(result);
    if (result != kFib30) state.SkipWithError("wrong fib(30)");
  }
}
BENCHMARK(BM_FibSerial)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FibJoin(benchmark::State &state) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = static_cast<std::size_t>(state.range(0));
  tp_pool *pool = nullptr;
  tp_pool_create_with(&options, &pool);
  for (auto _ : state) {
    Fib root{pool, kFib, 0}, nothing{pool, 0, 0};
    tp_pool_join(pool, fib_job, &root, fib_job, &nothing);  // from outside: hands it to the pool
    if (root.result != kFib30) state.SkipWithError("wrong fib(30)");
  }
  tp_pool_destroy(pool);
}
// range(0) = workers.
BENCHMARK(BM_FibJoin)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the topology's victim order costs: fib(25) through joins (steal-heavy) on a pool pinned
// with TP_PIN_CORES, stealing in topology order (range(0) = 1) or in plain rotating order (0).
// On a machine with one level (this 2-core one) the two must be equal.
void BM_VictimOrder(benchmark::State &state) {
  tp::detail::PoolConfig config;
  config.workers = 2;
  config.pin = tp::detail::Pin::cores;
  config.ordered_victims = state.range(0) != 0;
  std::unique_ptr<tp::detail::Pool> core;
  if (tp::detail::Pool::create(config, core) != tp::detail::Status::ok) {
    state.SkipWithError("no pool");
    return;
  }
  auto *pool = reinterpret_cast<tp_pool *>(core.get());  // the C ABI's handle is the core pool
  for (auto _ : state) {
    Fib root{pool, 25, 0}, nothing{pool, 0, 0};
    tp_pool_join(pool, fib_job, &root, fib_job, &nothing);
    if (root.result != 75025) state.SkipWithError("wrong fib(25)");
  }
  core->shutdown();
}
BENCHMARK(BM_VictimOrder)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
