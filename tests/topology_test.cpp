// Placement and binding on this machine: every worker runs where its placement says (read with
// sched_getaffinity from inside its jobs), inside the CPUs its creator could use (under
// `taskset -c 0` that is CPU 0 for all: the ctest `topology_test_on_one_cpu`), and
// tp_pool_worker_cpus reports it.
#include "topology.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "placement.hpp"
#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp::detail::CpuSet;
using tp::detail::Pin;
using tp::detail::Topology;

std::string affinity_of_this_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::string list;
  for (std::size_t cpu = 0; cpu < std::size_t{CPU_SETSIZE}; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    if (!list.empty()) list += ",";
    list += std::to_string(cpu);
  }
  return CpuSet::from_list(list.c_str()).to_list();  // in hwloc's list format
}

// One job per worker, each holding its worker until all of them have reported: N jobs that wait
// for each other can only finish on N different workers, so every worker reports the affinity it
// runs with (however the pool would otherwise spread a handful of short jobs).
std::vector<std::string> worker_affinities(tp_pool *pool) {
  struct Report {
    tp_pool *pool;
    std::mutex mutex;
    std::vector<std::string> affinity;
    std::atomic<std::size_t> arrived{0};
  } report{pool, {}, std::vector<std::string>(tp_pool_workers(pool))};
  tp_test::Watchdog watchdog("affinity report", std::chrono::seconds(60));
  for (std::size_t i = 0; i < report.affinity.size(); ++i) {
    EXPECT_EQ(tp_pool_execute(
                  pool,
                  [](void *arg) {
                    auto *r = static_cast<Report *>(arg);
                    {
                      std::lock_guard lock(r->mutex);
                      r->affinity[static_cast<std::size_t>(tp_pool_current_worker(r->pool))] =
                          affinity_of_this_thread();
                    }
                    r->arrived.fetch_add(1);
                    while (r->arrived.load() < r->affinity.size()) std::this_thread::yield();
                  },
                  &report),
              TP_OK);
  }
  tp_pool_wait_idle(pool);
  return report.affinity;
}

std::string cpus_of(tp_pool *pool, std::size_t worker) {
  char buf[256];
  EXPECT_EQ(tp_pool_worker_cpus(pool, worker, buf, sizeof buf), TP_OK);
  return buf;
}

tp_test::PoolPtr pool_with(std::size_t workers, tp_pin pin) {
  return tp_test::make_pool(workers, TP_DEFAULT_SPIN_LIMIT, pin);
}

void expect_placed_as_planned(std::size_t workers, tp_pin pin, Pin core_pin) {
  auto topology = Topology::machine();
  const auto expected =
      tp::detail::plan_placement(*topology, topology->usable_by_new_threads(), workers, core_pin);
  tp_test::PoolPtr pool = pool_with(workers, pin);
  const std::vector<std::string> actual = worker_affinities(pool.get());
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  ASSERT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_OK);
  EXPECT_EQ(stats.pinned, workers);
  for (std::size_t w = 0; w < workers; ++w) {
    EXPECT_EQ(actual[w], expected[w].to_list()) << "worker " << w;
    EXPECT_EQ(cpus_of(pool.get(), w), expected[w].to_list()) << "worker " << w;
    std::cout << "worker " << w << ": cpus " << actual[w] << "\n";
  }
}

TEST(Binding, CoresPolicyEachWorkerRunsWhereItsPlacementSays) {
  expect_placed_as_planned(3, TP_PIN_CORES, Pin::cores);  // more workers than this machine's cores
}

TEST(Binding, SpreadPolicyEachWorkerRunsWhereItsPlacementSays) {
  expect_placed_as_planned(2, TP_PIN_SPREAD, Pin::spread);
}

TEST(Binding, WorkersStayInsideTheCpusTheirCreatorMayUse) {
  const CpuSet mine = CpuSet::from_list(affinity_of_this_thread().c_str());
  for (tp_pin pin : {TP_PIN_NONE, TP_PIN_CORES, TP_PIN_SPREAD}) {
    tp_test::PoolPtr pool = pool_with(3, pin);
    for (const std::string &affinity : worker_affinities(pool.get())) {
      const CpuSet worker = CpuSet::from_list(affinity.c_str());
      EXPECT_TRUE((worker & mine) == worker)
          << "pin " << pin << ": worker on " << affinity << ", creator on " << mine.to_list();
    }
  }
}

TEST(Binding, UnpinnedWorkersReportTheCreatorsCpus) {
  tp_test::PoolPtr pool = pool_with(2, TP_PIN_NONE);
  auto topology = Topology::machine();
  const std::string usable = topology->usable_by_new_threads().to_list();
  EXPECT_EQ(cpus_of(pool.get(), 0), usable);
  EXPECT_EQ(cpus_of(pool.get(), 1), usable);
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  ASSERT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_OK);
  EXPECT_EQ(stats.pinned, 0u);
}

TEST(Binding, WorkerCpusRejectsBadArguments) {
  tp_test::PoolPtr pool = pool_with(2, TP_PIN_CORES);
  char buf[64] = "untouched";
  EXPECT_EQ(tp_pool_worker_cpus(pool.get(), 2, buf, sizeof buf), TP_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(buf, "");
  EXPECT_EQ(tp_pool_worker_cpus(nullptr, 0, buf, sizeof buf), TP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tp_pool_worker_cpus(pool.get(), 0, nullptr, 10), TP_ERR_INVALID_ARGUMENT);
  std::snprintf(buf, sizeof buf, "untouched");
  const std::string full = cpus_of(pool.get(), 0);
  EXPECT_EQ(tp_pool_worker_cpus(pool.get(), 0, buf, full.size()), TP_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(buf, "");  // too small: an empty string, not a cut one
  EXPECT_EQ(tp_pool_worker_cpus(pool.get(), 0, buf, full.size() + 1), TP_OK);
  EXPECT_EQ(full, buf);
  EXPECT_EQ(tp_pool_worker_cpus(pool.get(), 0, buf, 0), TP_ERR_INVALID_ARGUMENT);
}

TEST(DefaultWorkers, AtLeastOneAndNoMoreThanTheUsableCpus) {
  const std::size_t workers = tp_default_workers();
  EXPECT_GE(workers, 1u);
  const CpuSet mine = CpuSet::from_list(affinity_of_this_thread().c_str());
  EXPECT_LE(workers, static_cast<std::size_t>(mine.weight()));
  tp_pool_options options;
  tp_pool_options_init(&options);
  EXPECT_EQ(options.workers, workers);
  std::cout << "tp_default_workers() = " << workers << " on CPUs " << mine.to_list() << "\n";
}

}  // namespace
