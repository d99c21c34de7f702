// libFuzzer target: each input is a small program of C ABI calls. After every program it checks
// that every call returned a documented status, that every job accepted with TP_OK ran exactly
// once (or, in a cancelled group, had its on_cancel run instead: exactly one of the two) and every
// refused job never ran, and that no thread outlived the program but the default pool's (memory
// leaks: LeakSanitizer, which the fuzz preset enables). Cancellation, notifications and timed
// waits race with the jobs the workers run, with spawns, waits and destroy. Serial queues' jobs
// check that no other job of their queue runs at the same time.
//
// Build: cmake --workflow --preset fuzz; run: build/fuzz/tests/fuzz/api_fuzz tests/fuzz/corpus
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "tp/tp.h"

namespace {

constexpr int kMaxJobs = 256;
constexpr int kPools = 2;

[[noreturn]] void fail(const char *what, int line) {
  std::fprintf(stderr, "api_fuzz: %s (line %d)\n", what, line);
  std::abort();
}
#define REQUIRE(condition) \
  if (!(condition)) fail(#condition, __LINE__)

bool one_of(tp_status status, std::initializer_list<tp_status> allowed) {
  for (tp_status s : allowed) {
    if (s == status) return true;
  }
  return false;
}

int count_threads() {
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  int count = 0;
  while (dirent *entry = readdir(tasks)) count += entry->d_name[0] != '.';
  closedir(tasks);
  return count;
}

struct Program;

// One job: it counts its runs and may, once, make a nested call into its pool.
struct JobRecord {
  std::atomic<bool> ready{false};  // fields below written (by whichever thread made the record)
  Program *program;
  tp_pool *pool;
  std::atomic<int> ran{0};
  std::atomic<int> cancelled{0};  // its on_cancel ran (a job of a cancelled group)
  std::atomic<int> expected{0};   // 1 once its submission returned TP_OK
  std::uint8_t nested = 0;        // what it does inside: 0 nothing, see run_job
  std::uint8_t depth = 0;
  // A plain tp_group_spawn job with no on_cancel: if its group was cancelled (this flag of its
  // slot is set), it may have been skipped without a trace, so it ran at most once.
  const std::atomic<bool> *skippable_if = nullptr;
  tp_queue *queue = nullptr;  // a serial queue's job: of the queue in slot `slot`
  int slot = 0;
  bool submitted_from_outside = false;

  bool ran_as_expected() const {
    const int done = ran.load() + cancelled.load();
    if (ran.load() != 0 && cancelled.load() != 0) return false;
    if (skippable_if != nullptr && skippable_if->load() && expected.load() == 1) return done <= 1;
    return done == expected.load();
  }
};

struct Program {
  const std::uint8_t *data;
  std::size_t size, at = 0;
  JobRecord jobs[kMaxJobs];
  std::atomic<int> used{0};
  tp_pool *pools[kPools] = {};
  bool shut[kPools] = {};
  tp_group *groups[kPools] = {};
  std::atomic<bool> group_cancelled[kPools] = {};  // the slot's group was cancelled at some point
  tp_queue *queues[kPools] = {};
  std::atomic<int> queue_inside[kPools] = {};  // jobs of the slot's queue running right now

  std::uint8_t next() { return at < size ? data[at++] : 0; }

  JobRecord *new_job(tp_pool *pool, std::uint8_t nested, std::uint8_t depth) {
    const int id = used.fetch_add(1);
    if (id >= kMaxJobs) return nullptr;
    JobRecord &job = jobs[id];
    job.program = this;
    job.pool = pool;
    job.nested = nested;
    job.depth = depth;
    job.ready.store(true, std::memory_order_release);  // the main thread reads records of jobs
    return &job;
  }
};

void run_job(void *arg);
void cancel_job(void *arg) { static_cast<JobRecord *>(arg)->cancelled.fetch_add(1); }

// The default pool lives as long as the process: its workers are counted once it exists.
tp_pool *default_pool = nullptr;
int default_pool_threads = 0;

// Submits `job` at `level` and records whether it was accepted.
void submit(tp_pool *pool, JobRecord *job, bool inside, tp_priority level = TP_PRIORITY_NORMAL) {
  if (job == nullptr) return;
  const tp_status status = level == TP_PRIORITY_NORMAL
                               ? tp_pool_execute(pool, run_job, job)
                               : tp_pool_execute_priority(pool, run_job, job, level);
  if (inside) {
    REQUIRE(one_of(status, {TP_OK, TP_ERR_OUT_OF_MEMORY}));  // from a job: accepted while draining
  } else {
    REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
  }
  if (status == TP_OK) job->expected.store(1);
}

void run_job(void *arg) {
  auto *job = static_cast<JobRecord *>(arg);
  job->ran.fetch_add(1);
  Program &program = *job->program;
  switch (job->nested) {
    case 1:  // spawn children, `depth` levels deep; the second child at a priority level
      if (job->depth > 0) {
        for (int child = 0; child < 2; ++child) {
          submit(job->pool,
                 program.new_job(job->pool, 1, static_cast<std::uint8_t>(job->depth - 1)), true,
                 child == 0 ? TP_PRIORITY_NORMAL : static_cast<tp_priority>(job->depth % 3));
        }
      }
      break;
    case 2: {  // join inside a job: both halves have run when it returns
      JobRecord *a = program.new_job(job->pool, 0, 0), *b = program.new_job(job->pool, 0, 0);
      if (a == nullptr || b == nullptr) break;
      const tp_status status = tp_pool_join(job->pool, run_job, a, run_job, b);
      REQUIRE(status == TP_OK);
      a->expected.store(1);
      b->expected.store(1);
      REQUIRE(a->ran.load() == 1 && b->ran.load() == 1);
      break;
    }
    case 3:  // what a job may not do to its own pool
      REQUIRE(tp_pool_wait_idle(job->pool) == TP_ERR_WOULD_DEADLOCK);
      REQUIRE(tp_pool_shutdown(job->pool) == TP_ERR_WOULD_DEADLOCK);
      REQUIRE(tp_pool_destroy(job->pool) == TP_ERR_WOULD_DEADLOCK);
      REQUIRE(tp_pool_current_worker(job->pool) >= 0);
      break;
    default:
      break;
  }
}

// A serial queue's job: alone in its queue while it runs; it may submit a follow-up to its own
// queue (nested 4), or try what a queue's own job may not do (nested 5).
void run_queue_job(void *arg) {
  auto *job = static_cast<JobRecord *>(arg);
  Program &program = *job->program;
  REQUIRE(program.queue_inside[job->slot].fetch_add(1) == 0);  // never two jobs of one queue
  job->ran.fetch_add(1);
  if (job->nested == 4) {
    if (JobRecord *next = program.new_job(job->pool, 0, 0)) {
      next->queue = job->queue;
      next->slot = job->slot;
      const tp_status status = tp_queue_submit(job->queue, run_queue_job, next);
      REQUIRE(
          one_of(status, {TP_OK, TP_ERR_OUT_OF_MEMORY}));  // from a job: accepted while draining
      if (status == TP_OK) next->expected.store(1);
    }
  } else if (job->nested == 5) {
    REQUIRE(tp_queue_wait(job->queue) == TP_ERR_WOULD_DEADLOCK);
    REQUIRE(tp_queue_destroy(job->queue) == TP_ERR_WOULD_DEADLOCK);
  }
  program.queue_inside[job->slot].fetch_sub(1);
}

// Every job submitted from outside to `queue` so far has run (after a wait for the queue).
void check_queue_ran(const Program &program, const tp_queue *queue) {
  for (int i = 0; i < std::min(program.used.load(), kMaxJobs); ++i) {
    const JobRecord &job = program.jobs[i];
    if (!job.ready.load(std::memory_order_acquire)) continue;
    if (job.queue == queue && job.submitted_from_outside) REQUIRE(job.ran_as_expected());
  }
}

void check_stats(tp_pool *pool) {
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  REQUIRE(tp_pool_get_stats(pool, &stats) == TP_OK);
  REQUIRE(stats.exceptions == 0);
  stats.size = 3;
  REQUIRE(tp_pool_get_stats(pool, &stats) == TP_ERR_INVALID_ARGUMENT);
}

void run_program(Program &program) {
  while (program.at < program.size) {
    const std::uint8_t op = program.next();
    const int slot = (op >> 4) % kPools;
    tp_pool *&pool = program.pools[slot];
    const std::uint8_t arg = program.next();
    switch (op % 19) {
      case 0: {  // create, with sometimes odd options
        if (pool != nullptr) break;
        tp_pool_options options;
        tp_pool_options_init(&options);
        options.workers = arg % 4;                       // 0 is an error
        options.pin = static_cast<tp_pin>(arg / 4 % 4);  // 3 is an error
        options.spin_limit = (arg & 0x40) != 0 ? 0 : 50;
        // A size larger than this library knows (a smaller one down to 0.1's is a valid older
        // caller, read field by field).
        if ((arg & 0x80) != 0) options.size += sizeof(void *);
        tp_pool *created = nullptr;
        const tp_status status = tp_pool_create_with(&options, &created);
        const bool valid = options.workers > 0 && arg / 4 % 4 != 3 && (arg & 0x80) == 0;
        if (valid) {
          REQUIRE(
              one_of(status, {TP_OK, TP_ERR_THREAD_START, TP_ERR_OUT_OF_MEMORY, TP_ERR_TOPOLOGY}));
        } else {
          REQUIRE(one_of(status, {TP_ERR_ZERO_WORKERS, TP_ERR_INVALID_ARGUMENT}));
        }
        REQUIRE((status == TP_OK) == (created != nullptr));
        pool = created;
        program.shut[slot] = false;
        break;
      }
      case 1:  // execute from outside, maybe a job that spawns or joins inside
        if (pool == nullptr) break;
        submit(pool,
               program.new_job(pool, static_cast<std::uint8_t>(arg % 4),
                               static_cast<std::uint8_t>(arg / 4 % 4)),
               false);
        break;
      case 2: {  // a batch, all or nothing; sometimes with a NULL function inside
        if (pool == nullptr) break;
        tp_job batch[4];
        JobRecord *records[4] = {};
        const int count = arg % 5;
        for (int i = 0; i < count; ++i) {
          records[i] = program.new_job(pool, 0, 0);
          batch[i] = tp_job{records[i] != nullptr ? run_job : nullptr, records[i]};
        }
        const tp_status status = tp_pool_execute_batch(pool, batch, static_cast<size_t>(count));
        bool any_null = false;
        for (int i = 0; i < count; ++i) any_null = any_null || batch[i].fn == nullptr;
        if (any_null) {
          REQUIRE(status == TP_ERR_INVALID_ARGUMENT);
        } else {
          REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
        }
        if (status == TP_OK) {
          for (int i = 0; i < count; ++i) records[i]->expected.store(1);
        }
        break;
      }
      case 3: {  // join from outside: both have run when it returns
        if (pool == nullptr) break;
        JobRecord *a = program.new_job(pool, 0, 0), *b = program.new_job(pool, 0, 0);
        if (a == nullptr || b == nullptr) break;
        const tp_status status = tp_pool_join(pool, run_job, a, run_job, b);
        REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
        if (status == TP_OK) {
          a->expected.store(1);
          b->expected.store(1);
          REQUIRE(a->ran.load() == 1 && b->ran.load() == 1);
        } else {
          REQUIRE(a->ran.load() == 0 && b->ran.load() == 0);
        }
        break;
      }
      case 4: {  // groups: create, spawn, wait
        if (pool == nullptr) break;
        tp_group *&group = program.groups[slot];
        if (group == nullptr) {
          REQUIRE(tp_group_create(pool, &group) == TP_OK);
        }
        for (int i = 0; i < arg % 4; ++i) {
          JobRecord *job = program.new_job(pool, 0, 0);
          if (job == nullptr) break;
          job->skippable_if = &program.group_cancelled[slot];
          const tp_status status = tp_group_spawn(group, run_job, job);
          REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
          if (status == TP_OK) job->expected.store(1);
        }
        if ((arg & 0x80) != 0) REQUIRE(one_of(tp_group_wait(group), {TP_OK, TP_ERR_CANCELLED}));
        break;
      }
      case 5:  // wait_idle: everything accepted for this pool so far has run
        if (pool == nullptr) break;
        REQUIRE(tp_pool_wait_idle(pool) == TP_OK);
        for (int i = 0; i < std::min(program.used.load(), kMaxJobs); ++i) {
          const JobRecord &job = program.jobs[i];
          if (!job.ready.load(std::memory_order_acquire)) continue;  // being made right now
          if (job.pool == pool && job.nested == 0) {
            REQUIRE(job.ran_as_expected());
          }
        }
        break;
      case 6:  // shutdown (idempotent)
        if (pool == nullptr) break;
        REQUIRE(tp_pool_shutdown(pool) == TP_OK);
        program.shut[slot] = true;
        break;
      case 7:  // destroy; the slot is empty afterwards (its group and queue too: after their pool)
        if (pool == nullptr) break;
        REQUIRE(tp_pool_destroy(pool) == TP_OK);
        pool = nullptr;
        REQUIRE(tp_group_destroy(program.groups[slot]) == TP_OK);
        program.groups[slot] = nullptr;
        REQUIRE(tp_queue_destroy(program.queues[slot]) == TP_OK);
        program.queues[slot] = nullptr;
        break;
      case 8:  // NULL arguments
        REQUIRE(tp_pool_execute(nullptr, run_job, nullptr) == TP_ERR_INVALID_ARGUMENT);
        REQUIRE(tp_pool_wait_idle(nullptr) == TP_ERR_INVALID_ARGUMENT);
        REQUIRE(tp_pool_join(pool, nullptr, nullptr, run_job, nullptr) == TP_ERR_INVALID_ARGUMENT);
        REQUIRE(tp_group_spawn(nullptr, run_job, nullptr) == TP_ERR_INVALID_ARGUMENT);
        if (pool != nullptr) {
          REQUIRE(tp_pool_execute(pool, nullptr, nullptr) == TP_ERR_INVALID_ARGUMENT);
        }
        break;
      case 9:
        if (pool != nullptr) check_stats(pool);
        break;
      case 10:  // parallel_for covers the range once
        if (pool == nullptr) break;
        {
          static std::atomic<int> covered[64];
          for (auto &c : covered) c.store(0);
          const std::size_t end = arg % 64, grain = arg / 64;
          const tp_status status = tp_pool_parallel_for(
              pool, 0, end, grain,
              [](size_t lo, size_t hi, void *) {
                for (size_t i = lo; i < hi; ++i) covered[i].fetch_add(1);
              },
              nullptr);
          REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
          for (std::size_t i = 0; i < end; ++i) {
            REQUIRE(covered[i].load() == (status == TP_OK ? 1 : 0));
          }
        }
        break;
      case 11:  // a group wait from outside
        if (program.groups[slot] != nullptr) {
          REQUIRE(one_of(tp_group_wait(program.groups[slot]), {TP_OK, TP_ERR_CANCELLED}));
        }
        break;
      case 12: {  // cancellable spawns (some spawning more jobs), and maybe a cancel after them
        tp_group *group = program.groups[slot];
        if (group == nullptr) break;
        for (int i = 0; i < arg % 4; ++i) {
          JobRecord *job = program.new_job(pool, (arg & 0x10) != 0 ? 1 : 0, arg / 32 % 3);
          if (job == nullptr) break;
          const tp_status status = tp_group_spawn_cancellable(group, run_job, cancel_job, job);
          REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
          if (status == TP_OK) job->expected.store(1);
        }
        if ((arg & 0x80) != 0) {
          program.group_cancelled[slot] = true;
          REQUIRE(tp_group_cancel(group) == TP_OK);
          REQUIRE(tp_group_is_cancelled(group) == 1);
        }
        break;
      }
      case 13: {  // a notification: a job of the pool once the group is empty
        tp_group *group = program.groups[slot];
        if (group == nullptr) break;
        JobRecord *job = program.new_job(pool, 0, 0);
        if (job == nullptr) break;
        const tp_status status = tp_group_notify(group, run_job, job);
        REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
        if (status == TP_OK) job->expected.store(1);
        break;
      }
      case 14: {  // timed waits with short deadlines: nothing changes when they run out
        const std::uint64_t timeout_ns = static_cast<std::uint64_t>(arg % 16) * 20000;
        if (program.groups[slot] != nullptr) {
          REQUIRE(one_of(tp_group_wait_for(program.groups[slot], timeout_ns),
                         {TP_OK, TP_ERR_TIMEOUT, TP_ERR_CANCELLED}));
        }
        if (pool != nullptr) {
          REQUIRE(one_of(tp_pool_wait_idle_for(pool, timeout_ns), {TP_OK, TP_ERR_TIMEOUT}));
        }
        break;
      }
      case 15: {  // a serial queue: create, submit (jobs that may submit more), maybe wait
        if (pool == nullptr) break;
        tp_queue *&queue = program.queues[slot];
        if (queue == nullptr) REQUIRE(tp_queue_create(pool, &queue) == TP_OK);
        for (int i = 0; i <= arg % 4; ++i) {
          const std::uint8_t nested = (arg & 0x10) != 0 ? 4 : (arg & 0x20) != 0 ? 5 : 0;
          JobRecord *job = program.new_job(pool, nested, 0);
          if (job == nullptr) break;
          job->queue = queue;
          job->slot = slot;
          job->submitted_from_outside = true;
          const tp_status status = tp_queue_submit(queue, run_queue_job, job);
          REQUIRE(one_of(status, {TP_OK, TP_ERR_SHUTDOWN, TP_ERR_OUT_OF_MEMORY}));
          if (status == TP_OK) job->expected.store(1);
        }
        if ((arg & 0x80) != 0) {
          REQUIRE(tp_queue_wait(queue) == TP_OK);
          check_queue_ran(program, queue);
        }
        break;
      }
      case 16: {  // destroy a queue: it drains first
        tp_queue *&queue = program.queues[slot];
        if (queue == nullptr) break;
        const tp_queue *gone = queue;
        REQUIRE(tp_queue_destroy(queue) == TP_OK);
        queue = nullptr;
        check_queue_ran(program, gone);
        break;
      }
      case 17: {  // execute at a priority level from outside; 3 is no level (refused)
        if (pool == nullptr) break;
        const int level = arg % 4;
        JobRecord *job = program.new_job(pool, static_cast<std::uint8_t>(arg / 4 % 4),
                                         static_cast<std::uint8_t>(arg / 16 % 4));
        if (job == nullptr) break;
        if (level == 3) {
          REQUIRE(tp_pool_execute_priority(pool, run_job, job, static_cast<tp_priority>(level)) ==
                  TP_ERR_INVALID_ARGUMENT);
          break;  // never runs: expected stays 0
        }
        submit(pool, job, false, static_cast<tp_priority>(level));
        break;
      }
      default: {  // the default pool: one for the process, refused shutdown and destroy
        tp_pool *shared = nullptr;
        REQUIRE(tp_pool_default(&shared) == TP_OK && shared != nullptr);
        if (default_pool == nullptr) {
          default_pool = shared;
          default_pool_threads = static_cast<int>(tp_pool_workers(shared));
        }
        REQUIRE(shared == default_pool);
        submit(shared, program.new_job(shared, 0, 0), false);
        if ((arg & 1) != 0) {
          REQUIRE(tp_pool_shutdown(shared) == TP_ERR_INVALID_ARGUMENT);
          REQUIRE(tp_pool_destroy(shared) == TP_ERR_INVALID_ARGUMENT);
        }
        REQUIRE(one_of(tp_pool_wait_idle_for(shared, std::uint64_t{arg} * 1000),
                       {TP_OK, TP_ERR_TIMEOUT}));
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const int threads_before = count_threads();
  auto *program = new Program{data, size};
  run_program(*program);
  // Destroy every pool (which runs everything accepted), then the groups and queues (allowed after
  // their pool: nothing is left to wait for).
  for (tp_pool *pool : program->pools) REQUIRE(tp_pool_destroy(pool) == TP_OK);
  for (tp_group *group : program->groups) REQUIRE(tp_group_destroy(group) == TP_OK);
  for (tp_queue *queue : program->queues) REQUIRE(tp_queue_destroy(queue) == TP_OK);
  if (default_pool != nullptr) REQUIRE(tp_pool_wait_idle(default_pool) == TP_OK);
  for (int i = 0; i < std::min(program->used.load(), kMaxJobs); ++i) {
    const JobRecord &job = program->jobs[i];
    if (!job.ran_as_expected()) {
      std::fprintf(stderr, "job %d ran %d times and was cancelled %d times, expected %d\n", i,
                   job.ran.load(), job.cancelled.load(), job.expected.load());
      std::abort();
    }
  }
  // A joined thread can linger in /proc for a moment while the kernel reaps it: allow a little.
  const int expected_threads = threads_before + default_pool_threads;
  int threads = count_threads();
  for (int wait = 0; wait < 200 && threads != expected_threads; ++wait) {
    usleep(1000);
    threads = count_threads();
  }
  REQUIRE(threads == expected_threads);
  delete program;
  return 0;
}
