// The trace timeline, through the C API as a user turns it on (tp_pool_options.trace_path, or
// TP_TRACE in the environment): the file a destroyed pool writes, read back and counted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <clocale>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

// Exported (the test is linked with ENABLE_EXPORTS) and not mangled: the trace names its jobs so.
extern "C" void traced_job(void *arg) {
  static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(1, std::memory_order_relaxed);
}

namespace {

// Not exported: the trace can only give its address.
void hidden_job(void *arg) {
  static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(1, std::memory_order_relaxed);
}

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The trace holds one event per line. Lines that contain every one of `parts`.
std::size_t count_lines(const std::string &text, std::initializer_list<std::string> parts) {
  std::size_t count = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    count += std::all_of(parts.begin(), parts.end(),
                         [&](const std::string &part) { return line.find(part) != line.npos; });
  }
  return count;
}

// The sum, over the lines that contain every one of `parts`, of the number that follows `key`.
std::uint64_t sum_after(const std::string &text, std::initializer_list<std::string> parts,
                        const std::string &key) {
  std::uint64_t sum = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!std::all_of(parts.begin(), parts.end(),
                     [&](const std::string &part) { return line.find(part) != line.npos; })) {
      continue;
    }
    const std::size_t at = line.find(key);
    if (at != line.npos) sum += std::strtoull(line.c_str() + at + key.size(), nullptr, 10);
  }
  return sum;
}

// A job's complete event, as the trace writes it: {"name":"<function>","cat":"job","ph":"X",...
std::string job_event(const std::string &function) {
  return "{\"name\":\"" + function + "\",\"cat\":\"job\",\"ph\":\"X\",\"ts\":";
}

std::filesystem::path fresh_path(const std::string &name) {
  const std::filesystem::path path =
      std::filesystem::path(testing::TempDir()) /
      (name + "." + std::to_string(static_cast<long>(getpid())) + ".json");
  std::filesystem::remove(path);
  return path;
}

// An empty folder of this process's for the traces TP_TRACE=<folder>/run writes.
std::filesystem::path fresh_folder(const std::string &name) {
  const std::filesystem::path folder = std::filesystem::path(testing::TempDir()) /
                                       (name + "." + std::to_string(static_cast<long>(getpid())));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

// The names of the files in `folder`, sorted.
std::vector<std::string> file_names(const std::filesystem::path &folder) {
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

tp_pool *traced_pool(std::size_t workers, const std::filesystem::path &path) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  options.pin = TP_PIN_NONE;
  const std::string text = path.string();
  options.trace_path = text.c_str();  // copied during create
  tp_pool *pool = nullptr;
  EXPECT_EQ(tp_pool_create_with(&options, &pool), TP_OK);
  return pool;
}

TEST(Trace, OptionsInitLeavesItOff) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  EXPECT_EQ(options.trace_path, nullptr);
}

TEST(Trace, EveryJobIsACompleteEventNamedAfterItsFunction) {
  tp_test::Watchdog watchdog("EveryJobIsACompleteEventNamedAfterItsFunction");
  const auto path = fresh_path("trace_jobs");
  tp_pool *pool = traced_pool(2, path);
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> ran{0};
  constexpr std::uint64_t kJobs = 1000;
  for (std::uint64_t i = 0; i < kJobs; ++i)
    ASSERT_EQ(tp_pool_execute(pool, traced_job, &ran), TP_OK);
  tp_job batch[10];
  for (tp_job &job : batch) job = tp_job{traced_job, &ran};
  ASSERT_EQ(tp_pool_execute_batch(pool, batch, 10), TP_OK);
  ASSERT_EQ(tp_pool_execute(pool, hidden_job, &ran), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool), TP_OK);
  EXPECT_FALSE(std::filesystem::exists(path)) << "written at destroy, not before";
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  ASSERT_EQ(ran.load(), kJobs + 11);

  const std::string trace = read_file(path);
  ASSERT_FALSE(trace.empty()) << path;
  EXPECT_EQ(trace.front(), '{');
  EXPECT_EQ(trace.substr(trace.size() - 3), "]}\n");
  EXPECT_EQ(count_lines(trace, {job_event("traced_job"), "\"dur\":"}), kJobs + 10);
  // The unexported function is named by its address.
  EXPECT_EQ(count_lines(trace, {"{\"name\":\"0x", "\",\"cat\":\"job\",\"ph\":\"X\""}), 1u);
  // Every job came from outside: the injector takes add up to all of them.
  EXPECT_EQ(sum_after(trace, {"\"name\":\"injector\""}, "\"jobs\":"), kJobs + 11);
  // One track per worker, named like its thread.
  EXPECT_EQ(
      count_lines(trace, {"\"name\":\"thread_name\",\"ph\":\"M\"", "\"name\":\"tp-worker-0\""}),
      1u);
  EXPECT_EQ(
      count_lines(trace, {"\"name\":\"thread_name\",\"ph\":\"M\"", "\"name\":\"tp-worker-1\""}),
      1u);
  // The metadata: the pool's options and the (zero) dropped count.
  EXPECT_EQ(count_lines(trace, {"\"otherData\":{",
                                "\"workers\":2,\"pin\":\"none\",\"spin_limit\":200,"
                                "\"thread_name\":\"tp-worker\"",
                                "\"events_dropped\":0}"}),
            1u);
  // And the same on the process's name record, for Perfetto.
  EXPECT_EQ(
      count_lines(trace, {"\"name\":\"process_name\"", "\"workers\":2", "\"events_dropped\":0}"}),
      1u);
  std::filesystem::remove(path);
}

// A job that spawns one onto its own deque and waits for it without running it: only the other
// worker can run it, by stealing it.
struct StealSetup {
  tp_pool *pool;
  std::atomic<bool> child_ran{false};
};

extern "C" void set_child_ran(void *arg) {
  static_cast<StealSetup *>(arg)->child_ran.store(true, std::memory_order_release);
}

extern "C" void spawn_and_spin(void *arg) {
  auto *setup = static_cast<StealSetup *>(arg);
  ASSERT_EQ(tp_pool_execute(setup->pool, set_child_ran, setup), TP_OK);  // onto this deque
  while (!setup->child_ran.load(std::memory_order_acquire)) std::this_thread::yield();
}

TEST(Trace, StealsNameTheVictimAndParksAreSpans) {
  tp_test::Watchdog watchdog("StealsNameTheVictimAndParksAreSpans");
  const auto path = fresh_path("trace_steal");
  tp_pool *pool = traced_pool(2, path);
  ASSERT_NE(pool, nullptr);
  StealSetup setup{pool};
  ASSERT_EQ(tp_pool_execute(pool, spawn_and_spin, &setup), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(pool), TP_OK);
  // Idle workers park after their spin phase; the span ends when destroy wakes them.
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(tp_pool_get_stats(pool, &stats), TP_OK);
  } while (stats.parks == 0);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);

  const std::string trace = read_file(path);
  EXPECT_GE(count_lines(trace, {"{\"name\":\"steal\",\"cat\":\"steal\",\"ph\":\"i\"",
                                "\"from\":\"tp-worker-"}),
            1u);
  EXPECT_EQ(count_lines(trace, {job_event("set_child_ran")}), 1u);
  EXPECT_EQ(count_lines(trace, {job_event("spawn_and_spin")}), 1u);
  EXPECT_GE(
      count_lines(trace, {"{\"name\":\"park\",\"cat\":\"park\",\"ph\":\"X\",\"ts\":", "\"dur\":"}),
      1u);
  std::filesystem::remove(path);
}

// The join's halves are jobs of their own in the trace, named after the user's function whether
// they ran in place, were stolen, or were submitted from outside.
extern "C" void join_leaf(void *arg) { traced_job(arg); }

TEST(Trace, JoinHalvesAreNamedAfterTheUsersFunctions) {
  tp_test::Watchdog watchdog("JoinHalvesAreNamedAfterTheUsersFunctions");
  const auto path = fresh_path("trace_join");
  tp_pool *pool = traced_pool(2, path);
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_pool_join(pool, join_leaf, &ran, join_leaf, &ran), TP_OK);  // from outside
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(count_lines(read_file(path), {job_event("join_leaf")}), 2u);
  std::filesystem::remove(path);
}

// A parallel loop's pieces are wrapped twice (a join half or an outside join's record, around a
// piece): named after the loop's body all the same, never after libtp's wrappers.
extern "C" void traced_range(std::size_t lo, std::size_t hi, void *arg) {
  static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(hi - lo, std::memory_order_relaxed);
}

TEST(Trace, ParallelLoopPiecesAreNamedAfterTheBody) {
  tp_test::Watchdog watchdog("ParallelLoopPiecesAreNamedAfterTheBody");
  const auto path = fresh_path("trace_loop");
  tp_pool *pool = traced_pool(2, path);
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> covered{0};
  ASSERT_EQ(tp_pool_parallel_for(pool, 0, 10000, 10, traced_range, &covered), TP_OK);  // outside
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  ASSERT_EQ(covered.load(), 10000u);
  const std::string trace = read_file(path);
  EXPECT_GE(count_lines(trace, {job_event("traced_range")}), 2u);
  EXPECT_EQ(count_lines(trace, {"{\"name\":\"0x", "\"cat\":\"job\""}), 0u);
  std::filesystem::remove(path);
}

TEST(Trace, AFullBufferDropsTheOldestAndCountsThem) {
  tp_test::Watchdog watchdog("AFullBufferDropsTheOldestAndCountsThem");
  const auto path = fresh_path("trace_full");
  tp_pool *pool = traced_pool(1, path);
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> ran{0};
  constexpr std::uint64_t kJobs = 100000;  // three times what one worker's buffer holds
  std::vector<tp_job> jobs(kJobs, tp_job{traced_job, &ran});
  ASSERT_EQ(tp_pool_execute_batch(pool, jobs.data(), jobs.size()), TP_OK);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  ASSERT_EQ(ran.load(), kJobs);

  const std::string trace = read_file(path);
  const std::uint64_t capacity = sum_after(trace, {"\"otherData\":"}, "\"events_per_worker\":");
  const std::uint64_t recorded = sum_after(trace, {"\"otherData\":"}, "\"events_recorded\":");
  const std::uint64_t dropped = sum_after(trace, {"\"otherData\":"}, "\"events_dropped\":");
  ASSERT_GT(capacity, 0u);
  ASSERT_LT(capacity, kJobs);
  EXPECT_GE(recorded, kJobs);  // every job, plus the injector take and any park
  EXPECT_EQ(dropped, recorded - capacity);
  EXPECT_EQ(sum_after(trace, {"\"name\":\"thread_name\""}, "\"dropped\":"), dropped);
  // What is kept is a buffer's worth of events.
  const std::size_t kept =
      count_lines(trace, {"\"cat\":\"job\""}) + count_lines(trace, {"\"cat\":\"park\""}) +
      count_lines(trace, {"\"cat\":\"steal\""}) + count_lines(trace, {"\"cat\":\"injector\""});
  EXPECT_EQ(kept, capacity);
  std::filesystem::remove(path);
}

TEST(Trace, TheEnvironmentTurnsItOnForEveryPool) {
  tp_test::Watchdog watchdog("TheEnvironmentTurnsItOnForEveryPool");
  const std::filesystem::path dir = fresh_folder("tp_trace_env");
  const std::string prefix = (dir / "run").string();
  ASSERT_EQ(setenv("TP_TRACE", prefix.c_str(), 1), 0);
  std::atomic<std::uint64_t> ran{0};
  for (int i = 0; i < 2; ++i) {
    tp_pool *pool = nullptr;
    ASSERT_EQ(tp_pool_create(1, &pool), TP_OK);
    ASSERT_EQ(tp_pool_execute(pool, traced_job, &ran), TP_OK);
    ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  }
  ASSERT_EQ(unsetenv("TP_TRACE"), 0);
  tp_pool *untraced = nullptr;
  ASSERT_EQ(tp_pool_create(1, &untraced), TP_OK);
  ASSERT_EQ(tp_pool_destroy(untraced), TP_OK);

  // <prefix>.<pid>.<n>.json, n numbering the traced pools of the process.
  const std::vector<std::string> names = file_names(dir);
  ASSERT_EQ(names.size(), 2u);
  const std::string stem = "run." + std::to_string(static_cast<long>(getpid())) + ".";
  EXPECT_EQ(names, (std::vector<std::string>{stem + "0.json", stem + "1.json"}));
  for (const std::string &name : names) {
    EXPECT_EQ(count_lines(read_file(dir / name), {job_event("traced_job")}), 1u) << name;
  }
  std::filesystem::remove_all(dir);
}

TEST(Trace, TheDefaultPoolIsNotTraced) {
  // It is never destroyed, so it could never write its trace: it takes no buffers and no number.
  tp_test::Watchdog watchdog("TheDefaultPoolIsNotTraced");
  const std::filesystem::path dir = fresh_folder("tp_trace_default");
  const std::string prefix = (dir / "run").string();
  ASSERT_EQ(setenv("TP_TRACE", prefix.c_str(), 1), 0);
  tp_pool *shared = nullptr;
  ASSERT_EQ(tp_pool_default(&shared), TP_OK);
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_pool_execute(shared, traced_job, &ran), TP_OK);
  ASSERT_EQ(tp_pool_wait_idle(shared), TP_OK);
  tp_pool *own = nullptr;
  ASSERT_EQ(tp_pool_create(1, &own), TP_OK);
  ASSERT_EQ(tp_pool_destroy(own), TP_OK);
  ASSERT_EQ(unsetenv("TP_TRACE"), 0);
  // The first traced pool of the process is the one created here.
  EXPECT_EQ(
      file_names(dir),
      (std::vector<std::string>{"run." + std::to_string(static_cast<long>(getpid())) + ".0.json"}));
  std::filesystem::remove_all(dir);
}

TEST(Trace, NumbersAreWrittenTheSameInEveryLocale) {
  // printf's %f writes a decimal comma under these; the trace must stay JSON.
  const char *comma_locale = nullptr;
  for (const char *name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE"}) {
    if (std::setlocale(LC_NUMERIC, name) != nullptr) {
      comma_locale = name;
      break;
    }
  }
  if (comma_locale == nullptr) {
    // trace_decimal_comma builds one (tests/CMakeLists.txt) and requires it.
    if (std::getenv("TP_TEST_REQUIRE_COMMA_LOCALE") != nullptr) FAIL() << "no de_DE/fr_FR locale";
    GTEST_SKIP() << "no locale with a decimal comma is installed";
  }
  const auto path = fresh_path("trace_locale");
  tp_pool *pool = traced_pool(1, path);
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_pool_execute(pool, traced_job, &ran), TP_OK);
  ASSERT_EQ(tp_pool_destroy(pool), TP_OK);
  std::setlocale(LC_NUMERIC, "C");
  const std::string trace = read_file(path);
  const std::size_t at = trace.find(job_event("traced_job"));
  ASSERT_NE(at, std::string::npos);
  const std::size_t number = at + job_event("traced_job").size();
  const std::size_t end = trace.find(',', number);
  const std::string ts = trace.substr(number, end - number);
  EXPECT_NE(ts.find('.'), std::string::npos) << ts << " under " << comma_locale;
  EXPECT_EQ(trace.substr(end, 7), ",\"dur\":") << "under " << comma_locale;
  std::filesystem::remove(path);
}

TEST(Trace, AnUnwritablePathLosesTheTraceNotThePool) {
  tp_pool *pool = traced_pool(1, "/nonexistent-directory/trace.json");
  ASSERT_NE(pool, nullptr);
  std::atomic<std::uint64_t> ran{0};
  ASSERT_EQ(tp_pool_execute(pool, traced_job, &ran), TP_OK);
  EXPECT_EQ(tp_pool_destroy(pool), TP_OK);
  EXPECT_EQ(ran.load(), 1u);
}

}  // namespace
