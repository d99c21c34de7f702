// Placement and victim orders on synthetic machines (hwloc's synthetic topologies), for each
// policy, with worker counts below, at and above the core count, and with odd allowed sets.
#include "placement.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "cpu_quota.hpp"

namespace {

using tp::detail::CpuSet;
using tp::detail::Pin;
using tp::detail::plan_placement;
using tp::detail::plan_victims;
using tp::detail::Topology;
using tp::detail::VictimOrder;
using Lists = std::vector<std::string>;

// Two sockets, two NUMA nodes each (one L3 each), 8 cores per NUMA node, 2 hardware threads per
// core: 32 cores, 64 PUs; core k holds PUs 2k and 2k+1, NUMA node n holds cores 8n..8n+7.
constexpr const char *kTwoSockets = "pack:2 numa:2 l3:1 core:8 pu:2";
constexpr const char *kFourCores = "pack:1 core:4 pu:1";
constexpr const char *kFourCoresSmt = "pack:1 core:4 pu:2";

Lists plan(const char *machine, std::size_t workers, Pin pin, const char *allowed = nullptr) {
  auto topology = Topology::load_synthetic(machine);
  const CpuSet usable = allowed != nullptr ? CpuSet::from_list(allowed) : topology->allowed();
  Lists lists;
  for (const CpuSet &cpus : plan_placement(*topology, usable, workers, pin)) {
    lists.push_back(cpus.to_list());
  }
  return lists;
}

// "0-1" style lists of PUs a..b step 2 (the first hardware threads of consecutive cores), etc.
Lists whole_cores(int first_core, int count) {
  Lists lists;
  for (int c = first_core; c < first_core + count; ++c) {
    lists.push_back(std::to_string(2 * c) + "-" + std::to_string(2 * c + 1));
  }
  return lists;
}

TEST(PlacementCores, BelowTheCoreCountEachWorkerGetsAWholeCore) {
  EXPECT_EQ(plan(kTwoSockets, 3, Pin::cores), whole_cores(0, 3));
  EXPECT_EQ(plan(kFourCores, 2, Pin::cores), (Lists{"0", "1"}));
}

TEST(PlacementCores, AtTheCoreCountEveryCoreHasOneWorkerFillingSocketsInOrder) {
  EXPECT_EQ(plan(kTwoSockets, 32, Pin::cores), whole_cores(0, 32));
  EXPECT_EQ(plan(kFourCores, 4, Pin::cores), (Lists{"0", "1", "2", "3"}));
}

TEST(PlacementCores, AboveTheCoreCountWorkersWrapOntoSecondHardwareThreads) {
  const Lists placed = plan(kTwoSockets, 40, Pin::cores);
  ASSERT_EQ(placed.size(), 40u);
  for (int w = 0; w < 32; ++w)
    EXPECT_EQ(placed[static_cast<std::size_t>(w)], std::to_string(2 * w)) << w;  // first threads
  for (int w = 32; w < 40; ++w)
    EXPECT_EQ(placed[static_cast<std::size_t>(w)], std::to_string(2 * (w - 32) + 1)) << w;
  // No second hardware thread: around again.
  EXPECT_EQ(plan(kFourCores, 6, Pin::cores), (Lists{"0", "1", "2", "3", "0", "1"}));
  // Three rounds over 2-thread cores: first threads, second threads, first threads again.
  EXPECT_EQ(plan(kFourCoresSmt, 9, Pin::cores),
            (Lists{"0", "2", "4", "6", "1", "3", "5", "7", "0"}));
}

TEST(PlacementSpread, RoundRobinOverNumaNodes) {
  EXPECT_EQ(plan(kTwoSockets, 4, Pin::spread), (Lists{"0-1", "16-17", "32-33", "48-49"}));
  EXPECT_EQ(plan(kTwoSockets, 6, Pin::spread),
            (Lists{"0-1", "16-17", "32-33", "48-49", "2-3", "18-19"}));
}

TEST(PlacementSpread, AboveTheCoreCountOfANodeItsWorkersWrapOntoHardwareThreads) {
  const Lists placed = plan(kTwoSockets, 40, Pin::spread);  // 10 workers per NUMA node of 8 cores
  ASSERT_EQ(placed.size(), 40u);
  EXPECT_EQ(placed[0], "0");    // node 0, first thread of its first core
  EXPECT_EQ(placed[1], "16");   // node 1
  EXPECT_EQ(placed[4], "2");    // node 0 again, next core
  EXPECT_EQ(placed[32], "1");   // node 0's ninth worker: second thread of its first core
  EXPECT_EQ(placed[39], "51");  // node 3's tenth worker: second thread of its second core
}

TEST(PlacementSpread, OneNumaNodeSpreadsOverPackagesThenL3) {
  EXPECT_EQ(plan("pack:2 core:2 pu:1", 3, Pin::spread), (Lists{"0", "2", "1"}));
  EXPECT_EQ(plan("pack:1 l3:2 core:2 pu:1", 2, Pin::spread), (Lists{"0", "2"}));
  EXPECT_EQ(plan(kFourCores, 3, Pin::spread), (Lists{"0", "1", "2"}));  // one domain: as cores
}

TEST(PlacementAllowed, OnlyAllowedCpusCount) {
  // Core 0 has only PU 0 allowed, core 1 only PU 3, core 2 only PU 5, core 3 both PUs.
  EXPECT_EQ(plan(kFourCoresSmt, 4, Pin::cores, "0,3,5-7"), (Lists{"0", "3", "5", "6-7"}));
  // Beyond one worker per core, no CPU gets a second worker while one has none (7 before 0).
  EXPECT_EQ(plan(kFourCoresSmt, 5, Pin::cores, "0,3,5-7"), (Lists{"0", "3", "5", "6", "7"}));
  EXPECT_EQ(plan(kFourCoresSmt, 6, Pin::cores, "0,3,5-7"), (Lists{"0", "3", "5", "6", "7", "0"}));
  // Cores without an allowed CPU are skipped: two cores left, so a third worker means hardware
  // threads.
  EXPECT_EQ(plan(kFourCoresSmt, 2, Pin::cores, "4-7"), (Lists{"4-5", "6-7"}));
  EXPECT_EQ(plan(kFourCoresSmt, 3, Pin::cores, "4-7"), (Lists{"4", "6", "5"}));
  EXPECT_EQ(plan(kFourCoresSmt, 2, Pin::none, "4-7"), (Lists{"4-7", "4-7"}));
  // A NUMA node with nothing allowed is not a spread domain.
  EXPECT_EQ(plan(kTwoSockets, 3, Pin::spread, "0-15,48-63"), (Lists{"0-1", "48-49", "2-3"}));
}

TEST(PlacementSpread, UnevenDomainsGetUnevenShares) {
  // Node 0 has one usable core, node 1 eight: once node 0 has a worker on its core, the next
  // workers go to node 1's free cores rather than onto node 0's second hardware thread.
  const Lists placed = plan(kTwoSockets, 6, Pin::spread, "0-1,16-31");
  EXPECT_EQ(placed, (Lists{"0-1", "16-17", "18-19", "20-21", "22-23", "24-25"}));
}

TEST(PlacementAllowed, NothingUsableIsATopologyError) {
  auto topology = Topology::load_synthetic(kFourCores);
  EXPECT_THROW(plan_placement(*topology, CpuSet::from_list("100-101"), 2, Pin::cores),
               tp::detail::TopologyError);
}

// The levels of one worker's victim order, as lists of peers.
std::vector<std::vector<std::uint32_t>> levels(const VictimOrder &order) {
  std::vector<std::vector<std::uint32_t>> out;
  std::uint32_t begin = 0;
  for (std::uint32_t end : order.level_ends) {
    out.emplace_back(order.peers.begin() + begin, order.peers.begin() + end);
    std::sort(out.back().begin(), out.back().end());
    begin = end;
  }
  return out;
}

std::vector<std::uint32_t> range(std::uint32_t first, std::uint32_t last) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

std::vector<VictimOrder> victims(const char *machine, std::size_t workers, Pin pin) {
  auto topology = Topology::load_synthetic(machine);
  return plan_victims(*topology, plan_placement(*topology, topology->allowed(), workers, pin));
}

TEST(VictimOrder, NearestPeersFirstOnTwoSockets) {
  const auto orders = victims(kTwoSockets, 32, Pin::cores);
  // Worker 0: its L3 / NUMA node (cores 1-7), then the other node of its socket, then the rest.
  EXPECT_EQ(levels(orders[0]),
            (std::vector<std::vector<std::uint32_t>>{range(1, 7), range(8, 15), range(16, 31)}));
  // Worker 20 (socket 1, node 2).
  std::vector<std::uint32_t> node2 = range(16, 23);
  node2.erase(std::find(node2.begin(), node2.end(), 20u));
  EXPECT_EQ(levels(orders[20]),
            (std::vector<std::vector<std::uint32_t>>{node2, range(24, 31), range(0, 15)}));
}

TEST(VictimOrder, PeersOnTheSameCoreComeFirst) {
  const auto orders = victims(kTwoSockets, 64, Pin::cores);  // two workers per core
  const auto order = levels(orders[0]);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], (std::vector<std::uint32_t>{32}));  // the other hardware thread of core 0
  EXPECT_EQ(order[1].size(), 14u);                        // the rest of its NUMA node
  EXPECT_EQ(order[2].size(), 16u);                        // the other node of the socket
  EXPECT_EQ(order[3].size(), 32u);                        // the other socket
}

TEST(VictimOrder, OneLevelMachineHasOneLevel) {
  const auto orders = victims(kFourCores, 4, Pin::cores);
  for (std::size_t w = 0; w < 4; ++w) {
    ASSERT_EQ(orders[w].level_ends, (std::vector<std::uint32_t>{3})) << w;
    EXPECT_EQ(orders[w].peers.size(), 3u);
  }
}

TEST(VictimOrder, VeryLargePoolsStealInRotatingOrder) {
  const auto orders = victims(kTwoSockets, tp::detail::kMaxOrderedVictims + 1, Pin::cores);
  for (const VictimOrder &order : orders) EXPECT_TRUE(order.peers.empty());
}

// Prints the placements of two synthetic machines (for the README and the note).
TEST(PlacementReport, PrintTwoSyntheticMachines) {
  for (const char *machine : {kTwoSockets, "pack:1 core:4 pu:2"}) {
    for (Pin pin : {Pin::cores, Pin::spread}) {
      std::cout << machine << (pin == Pin::cores ? ", TP_PIN_CORES" : ", TP_PIN_SPREAD")
                << ", 8 workers:";
      for (const std::string &cpus : plan(machine, 8, pin)) std::cout << " [" << cpus << "]";
      std::cout << "\n";
    }
  }
}

}  // namespace
