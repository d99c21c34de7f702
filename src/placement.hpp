// Where workers go: a pure function of (topology, usable CPUs, worker count, policy), and the
// order in which each worker visits its peers when it steals. Pure so that it can be tested on
// synthetic topologies of machines we do not have (tests/placement_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "topology.hpp"

namespace tp::detail {

enum class Pin { none, cores, spread };

// One CPU set per worker.
// - Pin::none: every worker gets `usable` (it is not bound).
// - Pin::cores: one worker per physical core in topology order (so a package and a NUMA node
//   fill before the next); with more workers than cores, worker c + i takes the second hardware
//   thread of core i, 2c + i the third, and so on around again. With at most one worker per core,
//   a worker gets its whole core (the OS picks the hardware thread).
// - Pin::spread: workers go round-robin over the NUMA nodes (over the packages when there is one
//   NUMA node, over the L3 caches when there is one package), each domain filled as Pin::cores
//   fills the machine, so that memory bandwidth is spread.
// Only CPUs in `usable` count; with no core objects (some virtual machines) PUs stand in for cores.
// Throws TopologyError when `usable` holds no CPU of the topology.
std::vector<CpuSet> plan_placement(const Topology &topology, const CpuSet &usable,
                                   std::size_t workers, Pin pin);

// The peers a worker steals from, nearest first: those sharing its core, then its L2, its L3, its
// NUMA node, its package, then the rest. `level_ends[k]` is where level k ends in `peers`; a thief
// visits the levels in order, and starts each at a varying peer so that thieves spread out.
struct VictimOrder {
  std::vector<std::uint32_t> peers;
  std::vector<std::uint32_t> level_ends;
};

// Pools larger than this steal in plain rotating order: the orders take workers^2 entries.
inline constexpr std::size_t kMaxOrderedVictims = 256;

// For a pinned pool, from the topology; `placement` as plan_placement() made it. An empty order
// (unpinned pools, pools above kMaxOrderedVictims) means: every peer, one level, rotating.
std::vector<VictimOrder> plan_victims(const Topology &topology,
                                      const std::vector<CpuSet> &placement);

}  // namespace tp::detail
