// Engine benchmarks.
//
// BM_Injector: producers push and consumers pop on one Injector, with 1 shard (a single
// Boost.Lockfree queue, the "before") or one shard per thread (the "after"). Run with
// --benchmark_filter=Injector to compare; items/s is queue operations (push + pop) per second.
//
// BM_Execute / BM_ExecuteBatch: no-op jobs through the public C ABI from 1 or 4 outside threads,
// then wait until all have run; items/s is jobs per second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "injector.hpp"
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
    shared_injector->push(job);
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

}  // namespace

BENCHMARK_MAIN();
