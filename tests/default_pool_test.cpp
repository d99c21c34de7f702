// The process-wide pool (tp_pool_default, tp_pool_default_configure). It is created once per
// process, so every case that depends on how it is created runs in a fork()ed child, which starts
// without one (tp.h: "in a child after fork() it is a fresh pool").
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp_test::increment;
using tp_test::Watchdog;

// Runs `body` in a child process and returns its exit status (what body returned), or -1 when it
// died of a signal. A child's failures are its exit codes: gtest's macros do not cross fork(). The
// child's own alarm ends a hang (SIGALRM), rather than a watchdog thread: ThreadSanitizer supports
// fork() badly when the parent has threads (it may reuse a vanished thread's id in the child).
int in_child(const std::function<int()> &body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(60);
    _exit(body());
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Threads of this process whose name starts with `prefix`.
std::size_t threads_named(const std::string &prefix) {
  std::size_t count = 0;
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return 0;
  while (const dirent *task = readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + task->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind(prefix, 0) == 0) ++count;
  }
  closedir(tasks);
  return count;
}

// The default pool runs jobs: 1000 of them, then waits.
int runs_jobs(tp_pool *pool) {
  std::atomic<std::uint64_t> ran{0};
  for (int i = 0; i < 1000; ++i) {
    if (tp_pool_execute(pool, increment, &ran) != TP_OK) return 10;
  }
  if (tp_pool_wait_idle(pool) != TP_OK) return 11;
  return ran.load() == 1000 ? 0 : 12;
}

int workers_of_default() {
  tp_pool *pool = nullptr;
  if (tp_pool_default(&pool) != TP_OK || pool == nullptr) return -1;
  return static_cast<int>(tp_pool_workers(pool));
}

TEST(DefaultPool, ThreadsRacingOnTheFirstCallGetTheSamePoolAndOnlyOneIsCreated) {
  const int status = in_child([] {
    unsetenv("TP_NUM_THREADS");
    constexpr std::size_t kThreads = 8;
    std::atomic<std::size_t> ready{0};
    std::atomic<bool> go{false};
    std::vector<tp_pool *> seen(kThreads, nullptr);
    std::vector<tp_status> statuses(kThreads, TP_ERR_INVALID_ARGUMENT);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) {
        }
        statuses[t] = tp_pool_default(&seen[t]);
      });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    go = true;
    for (auto &thread : threads) thread.join();
    for (std::size_t t = 0; t < kThreads; ++t) {
      if (statuses[t] != TP_OK || seen[t] == nullptr) return 1;
      if (seen[t] != seen[0]) return 2;
    }
    // One pool: as many threads named like its workers as it has workers.
    if (threads_named("tp-worker") != tp_pool_workers(seen[0])) return 3;
    if (tp_pool_workers(seen[0]) != tp_default_workers()) return 4;
    return runs_jobs(seen[0]);
  });
  EXPECT_EQ(status, 0);
}

TEST(DefaultPool, TpNumThreadsSetsTheWorkerCountAndABadValueIsIgnored) {
  const auto with_environment = [](const char *value) {
    return in_child([value] {
      setenv("TP_NUM_THREADS", value, 1);
      return workers_of_default();
    });
  };
  const int fallback = static_cast<int>(tp_default_workers());
  EXPECT_EQ(with_environment("3"), 3);
  EXPECT_EQ(with_environment("1"), 1);
  for (const char *bad : {"0", "", "abc", "3x", " 3", "-2", "+3", "4097", "99999999999999999999"}) {
    EXPECT_EQ(with_environment(bad), fallback) << "TP_NUM_THREADS='" << bad << "'";
  }
}

tp_pool_options options_with(std::size_t workers, const char *name) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  options.thread_name = name;
  options.pin = TP_PIN_NONE;
  return options;
}

TEST(DefaultPool, ConfigureBeforeFirstUseIsHonouredAndRefusedAfterwards) {
  const int status = in_child([] {
    unsetenv("TP_NUM_THREADS");
    std::string name = "cfg-pool";
    const tp_pool_options first = options_with(2, name.c_str());
    if (tp_pool_default_configure(&first) != TP_OK) return 1;
    const tp_pool_options second = options_with(3, name.c_str());
    if (tp_pool_default_configure(&second) != TP_OK) return 2;  // replaces the first
    name = "overwritten";  // the options were copied, the name too
    tp_pool *pool = nullptr;
    if (tp_pool_default(&pool) != TP_OK) return 3;
    if (tp_pool_workers(pool) != 3) return 4;
    if (threads_named("cfg-pool") != 3) return 5;
    if (tp_pool_default_configure(&first) != TP_ERR_ALREADY_CREATED) return 6;
    if (tp_pool_workers(pool) != 3) return 7;
    return runs_jobs(pool);
  });
  EXPECT_EQ(status, 0);
}

TEST(DefaultPool, TpNumThreadsWinsOverTheConfiguredCount) {
  const int workers = in_child([] {
    setenv("TP_NUM_THREADS", "2", 1);
    const tp_pool_options options = options_with(3, "cfg");
    if (tp_pool_default_configure(&options) != TP_OK) return -1;
    return workers_of_default();
  });
  EXPECT_EQ(workers, 2);
}

TEST(DefaultPool, ConfigureRefusesWhatCreateWithRefuses) {
  // None of these creates the default pool, so they may run in this process.
  EXPECT_EQ(tp_pool_default_configure(nullptr), TP_ERR_INVALID_ARGUMENT);
  tp_pool_options options = options_with(2, nullptr);
  options.size = 8;
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_INVALID_ARGUMENT);
  options = options_with(2, nullptr);
  options.size = sizeof options + 8;
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_INVALID_ARGUMENT);
  options = options_with(0, nullptr);
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_ZERO_WORKERS);
  options = options_with(TP_MAX_WORKERS + 1, nullptr);
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_INVALID_ARGUMENT);
  options = options_with(2, nullptr);
  options.spin_limit = TP_MAX_SPIN_LIMIT + 1;
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_default(nullptr), TP_ERR_INVALID_ARGUMENT);
}

TEST(DefaultPool, ShutdownAndDestroyAreRefusedAndChangeNothing) {
  Watchdog watchdog("shutdown and destroy refused");
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_default(&pool), TP_OK);
  tp_pool *again = nullptr;
  ASSERT_EQ(tp_pool_default(&again), TP_OK);
  EXPECT_EQ(pool, again);
  EXPECT_EQ(tp_pool_shutdown(pool), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_destroy(pool), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(runs_jobs(pool), 0);
  const tp_pool_options options = options_with(2, nullptr);
  EXPECT_EQ(tp_pool_default_configure(&options), TP_ERR_ALREADY_CREATED);
}

TEST(DefaultPool, AForkedChildGetsAFreshWorkingPool) {
  Watchdog watchdog("default pool after fork");
  tp_pool *parent = nullptr;
  ASSERT_EQ(tp_pool_default(&parent), TP_OK);
  ASSERT_EQ(runs_jobs(parent), 0);  // the parent's pool is busy and has threads
  const int status = in_child([parent] {
    tp_pool *child = nullptr;
    if (tp_pool_default(&child) != TP_OK || child == nullptr) return 1;
    if (child == parent) return 2;  // the parent's pool has no workers here
    tp_pool *again = nullptr;
    if (tp_pool_default(&again) != TP_OK || again != child) return 3;
    // The parent's pool, still reachable through a handle the child inherited, is refused like the
    // default pool (it has no threads here: a shutdown would wait for ever).
    if (tp_pool_shutdown(parent) != TP_ERR_INVALID_ARGUMENT) return 4;
    if (tp_pool_destroy(parent) != TP_ERR_INVALID_ARGUMENT) return 5;
    return runs_jobs(child);
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(runs_jobs(parent), 0);  // and the parent's pool is untouched
}

void default_pool_from_a_job(void *arg) {
  auto *seen = static_cast<std::atomic<tp_pool *> *>(arg);
  tp_pool *pool = nullptr;
  if (tp_pool_default(&pool) == TP_OK) seen->store(pool);
}

TEST(DefaultPool, ItsOwnJobsGetTheSamePool) {
  Watchdog watchdog("default pool from a job");
  tp_pool *pool = nullptr;
  ASSERT_EQ(tp_pool_default(&pool), TP_OK);
  std::atomic<tp_pool *> seen{nullptr};
  ASSERT_EQ(tp_pool_execute(pool, default_pool_from_a_job, &seen), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool), TP_OK);
  EXPECT_EQ(seen.load(), pool);
}

}  // namespace
