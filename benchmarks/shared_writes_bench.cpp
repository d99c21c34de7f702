// Pool-wide writes per job on each way in (src/shared_writes.hpp): built with
// -DTP_COUNT_SHARED_WRITES=ON (the `counters` preset), where every atomic write to a line the
// whole pool shares is counted. Prints a markdown table: for each path, the writes per job, total
// and by kind. A count, not a time: the same on any machine, and what predicts how a path
// behaves on many cores.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "shared_writes.hpp"
#include "tp/tp.h"

namespace {

using tp::detail::kSharedLines;
using tp::detail::shared_write_counts;
using tp::detail::SharedLine;

struct Counts {
  std::uint64_t by_line[kSharedLines] = {};
};

Counts snapshot() {
  Counts counts;
  for (std::size_t i = 0; i < kSharedLines; ++i) {
    counts.by_line[i] = shared_write_counts[i].load(std::memory_order_relaxed);
  }
  return counts;
}

void report(const char *path, const Counts &before, const Counts &after, std::uint64_t jobs) {
  std::uint64_t total = 0;
  std::string kinds;
  for (std::size_t i = 0; i < kSharedLines; ++i) {
    const std::uint64_t writes = after.by_line[i] - before.by_line[i];
    total += writes;
    if (writes == 0) continue;
    char text[96];
    std::snprintf(text, sizeof text, "%s%s %.2f", kinds.empty() ? "" : ", ",
                  tp::detail::shared_line_name(static_cast<SharedLine>(i)),
                  static_cast<double>(writes) / static_cast<double>(jobs));
    kinds += text;
  }
  std::printf("| %s | %.2f | %s |\n", path, static_cast<double>(total) / static_cast<double>(jobs),
              kinds.empty() ? "-" : kinds.c_str());
}

tp_pool *make_pool(std::size_t workers) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  tp_pool *pool = nullptr;
  if (tp_pool_create_with(&options, &pool) != TP_OK) std::exit(1);
  return pool;
}

void no_op(void *) {}

// ---- a join whose b is not stolen: one worker, joins inside a job ----
struct Joins {
  tp_pool *pool;
  int count;
  Counts before, after;
};

void joins_on_a_worker(void *arg) {
  auto *j = static_cast<Joins *>(arg);
  for (int i = 0; i < 100; ++i) tp_pool_join(j->pool, no_op, nullptr, no_op, nullptr);  // warm-up
  j->before = snapshot();
  for (int i = 0; i < j->count; ++i) tp_pool_join(j->pool, no_op, nullptr, no_op, nullptr);
  j->after = snapshot();
}

// ---- fork-join: fib with a join at every level ----
struct Fib {
  tp_pool *pool;
  unsigned n;
  std::uint64_t result;
};

void fib(void *arg) {
  auto *f = static_cast<Fib *>(arg);
  if (f->n < 2) {
    f->result = f->n;
    return;
  }
  Fib a{f->pool, f->n - 1, 0}, b{f->pool, f->n - 2, 0};
  tp_pool_join(f->pool, fib, &a, fib, &b);
  f->result = a.result + b.result;
}
void fib_job(void *arg) { fib(arg); }

// ---- a busy pool: every worker runs a job until released ----
struct Hold {
  std::atomic<bool> release{false};
  std::atomic<int> held{0};
};

void hold(void *arg) {
  auto *h = static_cast<Hold *>(arg);
  h->held.fetch_add(1);
  while (!h->release.load(std::memory_order_acquire)) std::this_thread::yield();
}

void hold_all(tp_pool *pool, Hold &h, int workers) {
  for (int w = 0; w < workers; ++w) tp_pool_execute(pool, hold, &h);
  while (h.held.load() < workers) std::this_thread::yield();
}

// ---- a park/wake storm: the sleep lock ----
void busy_5us(void *) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(5);
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Rounds of one short job per worker from outside, then a wait until the pool is idle, into
// workers that park as soon as they find nothing (spin_limit 0, unpinned): every round wakes the
// workers and every worker parks again, the most traffic the sleep lock can get per job.
void sleep_lock_storm(std::size_t workers) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  options.spin_limit = 0;
  options.pin = TP_PIN_NONE;
  tp_pool *pool = nullptr;
  if (tp_pool_create_with(&options, &pool) != TP_OK) std::exit(1);
  tp_pool_stats before{}, after{};
  before.size = after.size = sizeof before;
  constexpr int kRounds = 2000;
  tp_pool_get_stats(pool, &before);
  const Counts writes_before = snapshot();
  tp::detail::LockCounts &lock_counts = tp::detail::sleep_lock_counts;
  const std::uint64_t contended_before = lock_counts.contended.load();
  const std::uint64_t held_before = lock_counts.held_ns.load();
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t i = 0; i < workers; ++i) tp_pool_execute(pool, busy_5us, nullptr);
    tp_pool_wait_idle(pool);
    std::this_thread::sleep_for(std::chrono::microseconds(100));  // for every worker to park
  }
  const std::uint64_t contended = lock_counts.contended.load() - contended_before;
  const std::uint64_t held_ns = lock_counts.held_ns.load() - held_before;
  const Counts writes_after = snapshot();
  tp_pool_get_stats(pool, &after);
  const auto lock = static_cast<std::size_t>(SharedLine::sleep_lock);
  const std::uint64_t takes = writes_after.by_line[lock] - writes_before.by_line[lock];
  const std::uint64_t parks = after.parks - before.parks;
  const std::uint64_t jobs = static_cast<std::uint64_t>(kRounds) * workers;
  const auto per = [](std::uint64_t n, std::uint64_t d) {
    return static_cast<double>(n) / static_cast<double>(d ? d : 1);
  };
  std::printf("| %zu | %.2f | %.2f | %.2f | %.1f%% | %.0f ns |\n", workers, per(parks, jobs),
              per(takes, jobs), per(takes, parks), 100.0 * per(contended, takes),
              per(held_ns, takes));
  tp_pool_destroy(pool);
}

}  // namespace

int main() {
  if constexpr (!tp::detail::kCountSharedWrites) {
    std::printf(
        "built without TP_COUNT_SHARED_WRITES: nothing is counted (use the counters "
        "preset)\n");
    return 0;
  }
  std::printf("| path | pool-wide writes per job | by kind |\n|---|---|---|\n");
  {
    tp_pool *pool = make_pool(1);
    Joins joins{pool, 100000, {}, {}};
    tp_pool_execute(pool, joins_on_a_worker, &joins);
    tp_pool_wait_idle(pool);
    report("join, b not stolen (1 worker, joins inside a job)", joins.before, joins.after,
           static_cast<std::uint64_t>(joins.count));
    tp_pool_destroy(pool);
  }
  {
    // fib(25) on 2 workers, a join at every level: its joins are mostly not stolen, some are;
    // the writes over all of them, per join and per steal.
    tp_pool *pool = make_pool(2);
    Fib warm{pool, 20, 0}, none{pool, 0, 0};
    tp_pool_join(pool, fib, &warm, fib, &none);
    tp_pool_wait_idle(pool);
    tp_pool_stats stats_before{};
    stats_before.size = sizeof stats_before;
    tp_pool_get_stats(pool, &stats_before);
    const Counts before = snapshot();
    Fib root{pool, 25, 0};
    tp_pool_execute(pool, fib_job, &root);  // from inside a job, as fork-join code runs
    tp_pool_wait_idle(pool);
    const Counts after = snapshot();
    tp_pool_stats stats_after{};
    stats_after.size = sizeof stats_after;
    tp_pool_get_stats(pool, &stats_after);
    const std::uint64_t joins = 121392;  // fib(25) makes fib(26) - 1 joins
    const std::uint64_t steals = stats_after.stolen - stats_before.stolen;
    report("fib(25) on 2 workers, per join (all joins)", before, after, joins);
    char path[96];
    std::snprintf(path, sizeof path, "fib(25) on 2 workers, per steal (%llu steals)",
                  static_cast<unsigned long long>(steals));
    report(path, before, after, steals == 0 ? 1 : steals);
    tp_pool_destroy(pool);
  }
  {
    tp_pool *pool = make_pool(2);
    Hold h;
    hold_all(pool, h, 2);
    const int jobs = 4000;  // within the lanes: a steady stream, not a flood
    const Counts before = snapshot();
    for (int i = 0; i < jobs; ++i) tp_pool_execute(pool, no_op, nullptr);
    const Counts after = snapshot();
    report("tp_pool_execute from outside into a busy pool (submission only)", before, after,
           static_cast<std::uint64_t>(jobs));
    const Counts drain_before = snapshot();
    h.release = true;
    tp_pool_wait_idle(pool);
    const Counts drain_after = snapshot();
    report("... and taking and running those jobs (their workers' side)", drain_before, drain_after,
           static_cast<std::uint64_t>(jobs));
    tp_pool_destroy(pool);
  }
  {
    // A stream into workers that keep up: they take the jobs as they come (a quiet worker gathers
    // them from the lane, Lanes::pop), so this row depends on timing, unlike the others.
    tp_pool *pool = make_pool(2);
    const int jobs = 200000;
    const Counts before = snapshot();
    for (int i = 0; i < jobs; ++i) tp_pool_execute(pool, no_op, nullptr);
    tp_pool_wait_idle(pool);
    const Counts after = snapshot();
    report("a stream of tp_pool_execute from outside into an idle pool (both sides)", before, after,
           static_cast<std::uint64_t>(jobs));
    tp_pool_destroy(pool);
  }
  {
    tp_pool *pool = make_pool(2);
    tp_group *group = nullptr;
    tp_group_create(pool, &group);
    for (int i = 0; i < 100; ++i) tp_group_spawn(group, no_op, nullptr);  // warm the records
    tp_group_wait(group);
    Hold h;
    hold_all(pool, h, 2);
    const int jobs = 100;
    const Counts before = snapshot();
    for (int i = 0; i < jobs; ++i) tp_group_spawn(group, no_op, nullptr);
    const Counts after = snapshot();
    report("tp_group_spawn from outside into a busy pool (submission only)", before, after,
           static_cast<std::uint64_t>(jobs));
    h.release = true;
    tp_group_wait(group);
    tp_group_destroy(group);
    tp_pool_destroy(pool);
  }
  {
    tp_pool *pool = make_pool(2);
    Hold h;
    hold_all(pool, h, 2);
    const std::vector<tp_job> batch(1000, tp_job{no_op, nullptr});
    const Counts before = snapshot();
    for (int i = 0; i < 10; ++i) tp_pool_execute_batch(pool, batch.data(), batch.size());
    const Counts after = snapshot();
    report("tp_pool_execute_batch of 1,000 from outside into a busy pool", before, after, 10000);
    h.release = true;
    tp_pool_wait_idle(pool);
    tp_pool_destroy(pool);
  }
  std::printf(
      "\nThe sleep lock in a park/wake storm (rounds of one 5 us job per worker from outside, "
      "then wait_idle and 100 us for the workers to park; spin_limit 0, unpinned):\n\n"
      "| workers | parks per job | sleep-lock takes per job | takes per park | "
      "takes that found it held | held per take |\n|---|---|---|---|---|---|\n");
  for (std::size_t workers : {2, 4, 8, 16}) sleep_lock_storm(workers);
  return 0;
}
