// Identical-code folding must not turn a user's job into a batch. The injector once tagged batch
// entries with the address of an empty marker function; a linker that folds identical code
// (lld or gold with --icf=all, over -ffunction-sections objects) could give a user's empty job
// function that same address, and the job's argument was then read as a batch. Built with lld
// and --icf=all against the static library; skipped (exit 77) where the toolchain has no lld.
#include <atomic>
#include <cstdio>
#include <thread>

#include "tp/tp.h"

namespace {

// Empty, like the old marker: the candidate for folding. Its argument points at zeroes, which a
// misread "batch" would take as an empty batch and then try to free.
void empty_job(void *) {}

struct Gate {
  std::atomic<bool> open{false};
};

void hold(void *arg) {
  while (!static_cast<Gate *>(arg)->open.load()) std::this_thread::yield();
}

}  // namespace

int main() {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 1;
  tp_pool *pool = nullptr;
  if (tp_pool_create_with(&options, &pool) != TP_OK) return 1;
  // Hold the worker and fill every submission lane, so that the next jobs go to the MPMC shards,
  // where batches travel too.
  Gate gate;
  if (tp_pool_execute(pool, hold, &gate) != TP_OK) return 1;
  static long zeroes[64] = {};
  const int jobs = 20000;  // more than the lanes hold (2 x 4096)
  for (int i = 0; i < jobs; ++i) {
    if (tp_pool_execute(pool, empty_job, zeroes) != TP_OK) return 1;
  }
  gate.open = true;
  if (tp_pool_wait_idle(pool) != TP_OK) return 1;
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  tp_pool_get_stats(pool, &stats);
  tp_pool_destroy(pool);
  const bool ok = stats.executed == static_cast<unsigned long long>(jobs) + 1;
  std::printf("icf_test: %llu of %d empty jobs ran%s\n",
              static_cast<unsigned long long>(stats.executed - 1), jobs, ok ? "" : " (FAILED)");
  return ok ? 0 : 1;
}
