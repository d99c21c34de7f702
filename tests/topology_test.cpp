// Placement on synthetic machines (hwloc's synthetic topologies) and binding on this one.
#include "topology.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <mutex>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tp/tp.h"

namespace {

using tp::detail::CpuSet;
using tp::detail::Pin;
using tp::detail::Topology;

std::vector<std::string> lists(const std::vector<CpuSet> &placement) {
  std::vector<std::string> out;
  for (const CpuSet &cpus : placement) out.push_back(cpus.to_list());
  return out;
}

TEST(Placement, CoresPolicyGivesEachWorkerOneCoreInOrder) {
  auto topology = Topology::load_synthetic("pack:1 core:4 pu:2");
  EXPECT_EQ(lists(topology->plan(Pin::cores, 3)), (std::vector<std::string>{"0-1", "2-3", "4-5"}));
}

TEST(Placement, CoresPolicyWrapsAroundWithMoreWorkersThanCores) {
  auto topology = Topology::load_synthetic("pack:1 core:2 pu:1");
  EXPECT_EQ(lists(topology->plan(Pin::cores, 5)),
            (std::vector<std::string>{"0", "1", "0", "1", "0"}));
}

TEST(Placement, CoresPolicyFillsOnePackageBeforeTheNext) {
  auto topology = Topology::load_synthetic("pack:2 core:2 pu:2");
  EXPECT_EQ(lists(topology->plan(Pin::cores, 4)),
            (std::vector<std::string>{"0-1", "2-3", "4-5", "6-7"}));
}

TEST(Placement, NoPinningLeavesEveryWorkerOnTheAllowedSet) {
  auto topology = Topology::load_synthetic("pack:1 core:4 pu:1");
  EXPECT_EQ(lists(topology->plan(Pin::none, 2)), (std::vector<std::string>{"0-3", "0-3"}));
}

TEST(Placement, AnInvalidSyntheticDescriptionIsATopologyError) {
  EXPECT_THROW(Topology::load_synthetic("not a machine"), tp::detail::TopologyError);
}

// On this machine: each worker's actual affinity, read from inside one of its jobs, is the CPU set
// the placement gave it.
TEST(Binding, EachWorkerRunsWhereItsPlacementSays) {
  const std::size_t workers = 3;  // more than this 2-core machine has: wraps around
  auto topology = Topology::load_system();
  const std::vector<std::string> expected = lists(topology->plan(Pin::cores, workers));

  tp_test::PoolPtr pool = tp_test::make_pool(workers, 200, TP_PIN_CORES);
  struct Report {
    tp_pool *pool;
    std::mutex mutex;
    std::vector<std::string> affinity;
  } report{pool.get(), {}, std::vector<std::string>(workers)};
  for (int i = 0; i < 200; ++i) {
    tp_pool_execute(
        pool.get(),
        [](void *arg) {
          auto *r = static_cast<Report *>(arg);
          cpu_set_t set;
          CPU_ZERO(&set);
          sched_getaffinity(0, sizeof set, &set);
          std::string list;
          for (std::size_t cpu = 0; cpu < std::size_t{CPU_SETSIZE}; ++cpu) {
            if (!CPU_ISSET(cpu, &set)) continue;
            if (!list.empty()) list += ",";
            list += std::to_string(cpu);
          }
          std::lock_guard lock(r->mutex);
          r->affinity[static_cast<std::size_t>(tp_pool_current_worker(r->pool))] = list;
        },
        &report);
  }
  ASSERT_EQ(tp_pool_wait_idle(pool.get()), TP_OK);
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  ASSERT_EQ(tp_pool_get_stats(pool.get(), &stats), TP_OK);
  EXPECT_EQ(stats.pinned, workers);
  for (std::size_t w = 0; w < workers; ++w) {
    if (report.affinity[w].empty()) continue;  // this worker happened to run none of the jobs
    CpuSet actual;
    hwloc_bitmap_list_sscanf(actual.get(), report.affinity[w].c_str());
    EXPECT_EQ(actual.to_list(), expected[w]) << "worker " << w;
  }
}

}  // namespace
