// The scheduler's second pass, measured (the figures the scheduler issue asks for), through the
// public C ABI only, so that the same binary runs against an earlier libtp.so.0 for the "before"
// column (LD_LIBRARY_PATH=old/build/release scheduler_bench):
//
// - child start: worker A joins, its second half b is stolen by worker B, A runs dry; b pushes a
//   child and keeps computing until the child started. Time from the push to the child's start,
//   with A still in its spin (b pushes at once) and with A asleep (b pushes 2 ms later).
// - waiter CPU: the CPU clock of a worker that waits 1 s in a join with nothing to help with.
// - memory: the process's RSS before one job spawns 10^7 no-op jobs, right after they ran, after
//   100 ms of idleness, and the peak.
// - fairness: how long an outside job waits behind a job that keeps re-submitting itself on the
//   only worker.
// - timed waits (0.2; skipped with an older library, found with dlsym): how late a wait with a
//   1 ms deadline returns TP_ERR_TIMEOUT, from outside the pool and from a worker that sleeps in
//   the sleep protocol with the deadline.
//
// Usage: scheduler_bench [trials] (default 200). Prints a markdown table.
#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include "tp/tp.h"

namespace {

using Clock = std::chrono::steady_clock;

tp_pool *make_pool(std::size_t workers) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  tp_pool *pool = nullptr;
  if (tp_pool_create_with(&options, &pool) != TP_OK) std::exit(1);
  return pool;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

void spin_for(std::chrono::microseconds duration) {
  const auto end = Clock::now() + duration;
  while (Clock::now() < end) {
  }
}

// ---- timed waits ----

using GroupWaitFor = tp_status (*)(tp_group *, uint64_t);
using PoolWaitIdleFor = tp_status (*)(tp_pool *, uint64_t);
constexpr std::uint64_t kDeadlineNs = 1000000;  // 1 ms

struct Held {
  std::atomic<bool> arrived{false}, open{false};
};
void hold(void *arg) {
  auto *held = static_cast<Held *>(arg);
  held->arrived = true;
  while (!held->open.load()) std::this_thread::yield();
}

struct LateOnAWorker {
  GroupWaitFor wait_for;
  tp_group *held_group;
  std::vector<double> *late_us;
  int trials;
};
void timed_waits_on_a_worker(void *arg) {
  auto *test = static_cast<LateOnAWorker *>(arg);
  for (int i = 0; i < test->trials; ++i) {
    const auto start = Clock::now();
    if (test->wait_for(test->held_group, kDeadlineNs) != TP_ERR_TIMEOUT) std::exit(2);
    test->late_us->push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count() - 1000.0);
  }
}

// How late past a 1 ms deadline: from outside (group and pool waits) and from a worker.
void timed_wait_lateness(int trials) {
  const auto wait_for = reinterpret_cast<GroupWaitFor>(dlsym(RTLD_DEFAULT, "tp_group_wait_for"));
  const auto idle_for =
      reinterpret_cast<PoolWaitIdleFor>(dlsym(RTLD_DEFAULT, "tp_pool_wait_idle_for"));
  if (wait_for == nullptr || idle_for == nullptr) return;  // a library older than 0.2
  tp_pool *pool = make_pool(2);
  tp_group *held_group = nullptr;
  tp_group_create(pool, &held_group);
  Held held;
  tp_group_spawn(held_group, hold, &held);
  while (!held.arrived.load()) std::this_thread::yield();
  std::vector<double> group_late, idle_late, worker_late;
  for (int i = 0; i < trials; ++i) {
    auto start = Clock::now();
    if (wait_for(held_group, kDeadlineNs) != TP_ERR_TIMEOUT) std::exit(2);
    group_late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() -
                         1000.0);
    start = Clock::now();
    if (idle_for(pool, kDeadlineNs) != TP_ERR_TIMEOUT) std::exit(2);
    idle_late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() -
                        1000.0);
  }
  LateOnAWorker on_worker{wait_for, held_group, &worker_late, trials};
  tp_group *waiter = nullptr;
  tp_group_create(pool, &waiter);
  tp_group_spawn(waiter, timed_waits_on_a_worker, &on_worker);
  tp_group_wait(waiter);
  tp_group_destroy(waiter);
  held.open = true;
  tp_group_destroy(held_group);
  tp_pool_destroy(pool);
  std::printf("| tp_group_wait_for(1 ms) from outside, past the deadline | %.1f us | %.1f us |\n",
              percentile(group_late, 0.5), percentile(group_late, 0.99));
  std::printf(
      "| tp_pool_wait_idle_for(1 ms) from outside, past the deadline | %.1f us | %.1f us |\n",
      percentile(idle_late, 0.5), percentile(idle_late, 0.99));
  std::printf(
      "| tp_group_wait_for(1 ms) on a worker asleep in the protocol, past the deadline | %.1f us "
      "| %.1f us |\n",
      percentile(worker_late, 0.5), percentile(worker_late, 0.99));
}

// ---- child start ----

struct ChildTrial {
  tp_pool *pool;
  std::chrono::microseconds delay;  // how long b computes before it pushes the child
  std::atomic<bool> b_started{false};
  std::atomic<bool> child_started{false};
  Clock::time_point pushed, started;
};

void child(void *arg) {
  auto *t = static_cast<ChildTrial *>(arg);
  t->started = Clock::now();
  t->child_started.store(true, std::memory_order_release);
}

void first_half(void *arg) {
  auto *t = static_cast<ChildTrial *>(arg);
  while (!t->b_started.load()) std::this_thread::yield();  // b must be stolen
}

void second_half(void *arg) {
  auto *t = static_cast<ChildTrial *>(arg);
  t->b_started = true;
  spin_for(t->delay);  // meanwhile the joiner, A, runs dry and spins, then sleeps
  t->pushed = Clock::now();
  if (tp_pool_execute(t->pool, child, t) != TP_OK) std::exit(1);
  while (!t->child_started.load(std::memory_order_acquire)) {  // b keeps its worker busy
  }
}

void joining_job(void *arg) {
  auto *t = static_cast<ChildTrial *>(arg);
  tp_pool_join(t->pool, first_half, t, second_half, t);
}

std::vector<double> child_start_us(tp_pool *pool, std::chrono::microseconds delay, int trials) {
  std::vector<double> latencies;
  for (int i = 0; i < trials; ++i) {
    ChildTrial trial{pool, delay};
    tp_pool_execute(pool, joining_job, &trial);
    tp_pool_wait_idle(pool);
    latencies.push_back(
        std::chrono::duration<double, std::micro>(trial.started - trial.pushed).count());
  }
  return latencies;
}

// ---- waiter CPU ----

struct IdleJoin {
  tp_pool *pool;
  std::atomic<bool> b_started{false};
  std::atomic<bool> joiner_known{false};
  pthread_t joiner{};
};

double thread_cpu_ms(pthread_t thread) {
  clockid_t clock;
  if (pthread_getcpuclockid(thread, &clock) != 0) return 0;
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

double waiter_cpu_percent() {
  tp_pool *pool = make_pool(2);
  IdleJoin scene{pool};
  tp_pool_execute(
      pool,
      [](void *arg) {
        auto *s = static_cast<IdleJoin *>(arg);
        s->joiner = pthread_self();
        s->joiner_known = true;
        tp_pool_join(
            s->pool,
            [](void *x) {
              auto *sx = static_cast<IdleJoin *>(x);
              while (!sx->b_started.load()) std::this_thread::yield();
            },
            s,
            [](void *x) {
              static_cast<IdleJoin *>(x)->b_started = true;
              std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // b idles its worker
            },
            s);
      },
      &scene);
  while (!scene.b_started.load() || !scene.joiner_known.load()) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the joiner's spin ends
  const double before = thread_cpu_ms(scene.joiner);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double after = thread_cpu_ms(scene.joiner);
  tp_pool_wait_idle(pool);
  tp_pool_destroy(pool);
  return (after - before) / 1000.0 * 100.0;  // ms of CPU per 1000 ms, as % of a core
}

// ---- memory ----

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

struct Spawner {
  tp_pool *pool;
  long jobs;
};

void no_op(void *) {}

void spawn_all(void *arg) {
  auto *s = static_cast<Spawner *>(arg);
  for (long i = 0; i < s->jobs; ++i) tp_pool_execute(s->pool, no_op, nullptr);
}

// ---- fairness ----

struct Poller {
  tp_pool *pool;
  std::atomic<bool> stop{false};
  Clock::time_point submitted, started;
};

void poll(void *arg) {
  auto *p = static_cast<Poller *>(arg);
  if (!p->stop.load(std::memory_order_relaxed)) tp_pool_execute(p->pool, poll, p);
}

void stop_poller(void *arg) {
  auto *p = static_cast<Poller *>(arg);
  p->started = Clock::now();
  p->stop = true;
}

}  // namespace

int main(int argc, char **argv) {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 200;
  std::printf("libtp %u, 2 workers (1 for fairness), %d trials per latency\n\n", tp_version(),
              trials);
  std::printf("| measurement | median | p99 |\n|---|---|---|\n");
  {
    tp_pool *pool = make_pool(2);
    const auto spinning = child_start_us(pool, std::chrono::microseconds(0), trials);
    const auto asleep = child_start_us(pool, std::chrono::microseconds(2000), trials);
    tp_pool_destroy(pool);
    std::printf("| child start, joiner still spinning | %.1f us | %.1f us |\n",
                percentile(spinning, 0.5), percentile(spinning, 0.99));
    std::printf("| child start, joiner asleep in its wait | %.1f us | %.1f us |\n",
                percentile(asleep, 0.5), percentile(asleep, 0.99));
  }
  {
    tp_pool *pool = make_pool(1);
    std::vector<double> waits;
    int starved = 0;
    for (int i = 0; i < std::max(10, trials / 10); ++i) {
      Poller poller{pool};
      tp_pool_execute(pool, poll, &poller);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      poller.submitted = Clock::now();
      tp_pool_execute(pool, stop_poller, &poller);
      // A pool without fairness never runs the outside job: give up after a second (and stop
      // the poller from here, so that the pool drains).
      const auto deadline = Clock::now() + std::chrono::seconds(1);
      while (!poller.stop.load() && Clock::now() < deadline) std::this_thread::yield();
      if (!poller.stop.exchange(true)) {
        ++starved;
        tp_pool_wait_idle(pool);
        continue;
      }
      tp_pool_wait_idle(pool);
      waits.push_back(
          std::chrono::duration<double, std::micro>(poller.started - poller.submitted).count());
    }
    tp_pool_destroy(pool);
    if (waits.empty()) {
      std::printf(
          "| outside job behind a self-resubmitting job, 1 worker | never (> 1 s, %d of %d) "
          "| - |\n",
          starved, starved);
    } else {
      std::printf("| outside job behind a self-resubmitting job, 1 worker | %.1f us | %.1f us |\n",
                  percentile(waits, 0.5), percentile(waits, 0.99));
    }
  }
  timed_wait_lateness(trials);
  std::printf("\n| measurement | value |\n|---|---|\n");
  std::printf(
      "| CPU of a worker waiting 1 s in a join, nothing to help with | %.3f%% of a core |\n",
      waiter_cpu_percent());
  {
    tp_pool *pool = make_pool(2);
    tp_pool_execute(pool, no_op, nullptr);
    tp_pool_wait_idle(pool);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double before = rss_mib();
    Spawner spawner{pool, 10000000};
    tp_pool_execute(pool, spawn_all, &spawner);
    tp_pool_wait_idle(pool);
    const double after = rss_mib();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double idle = rss_mib();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    tp_pool_destroy(pool);
    std::printf("| RSS before one job spawns 10^7 no-op jobs | %.1f MiB |\n", before);
    std::printf("| RSS right after they ran | %.1f MiB |\n", after);
    std::printf("| RSS after 100 ms idle | %.1f MiB |\n", idle);
    std::printf("| peak RSS (ru_maxrss) | %.1f MiB |\n",
                static_cast<double>(usage.ru_maxrss) / 1024);
  }
  return 0;
}
