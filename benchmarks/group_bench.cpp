// The cost of a task group's spawn and wait, through the public C ABI only, so that the same binary
// runs against an earlier libtp.so.0 (LD_LIBRARY_PATH=old/build/release group_bench) to compare two
// builds of the library: 1,000 no-op jobs spawned into a group and waited for, from outside the
// pool and from inside a job; median and minimum over rounds, in ns per job.
//
// Usage: group_bench [rounds] (default 200).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tp/tp.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kJobs = 1000;

void no_op(void *) {}

struct Round {
  tp_pool *pool;
  double ns_per_job = 0;
};

double spawn_and_wait(tp_pool *pool) {
  tp_group *group = nullptr;
  if (tp_group_create(pool, &group) != TP_OK) std::exit(1);
  const auto start = Clock::now();
  for (int i = 0; i < kJobs; ++i) tp_group_spawn(group, no_op, nullptr);
  tp_group_wait(group);
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  tp_group_destroy(group);
  return ns / kJobs;
}

void from_a_job(void *arg) {
  auto *round = static_cast<Round *>(arg);
  round->ns_per_job = spawn_and_wait(round->pool);
}

void report(const char *what, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::printf("| %s | %.1f ns | %.1f ns |\n", what, values[values.size() / 2], values.front());
}

}  // namespace

int main(int argc, char **argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  tp_pool *pool = nullptr;
  if (tp_pool_create(2, &pool) != TP_OK) return 1;
  std::vector<double> outside, inside;
  for (int r = 0; r < rounds; ++r) {
    outside.push_back(spawn_and_wait(pool));
    Round round{pool};
    tp_pool_execute(pool, from_a_job, &round);
    tp_pool_wait_idle(pool);
    inside.push_back(round.ns_per_job);
  }
  tp_pool_destroy(pool);
  std::printf("libtp %u, 2 workers, %d rounds of %d no-op jobs\n\n", tp_version(), rounds, kJobs);
  std::printf("| group spawn + wait, per job | median | min |\n|---|---|---|\n");
  report("from outside the pool", outside);
  report("from inside a job", inside);
  return 0;
}
