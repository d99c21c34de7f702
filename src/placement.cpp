#include "placement.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace tp::detail {

namespace {

// The units Pin::cores hands out: cores, or PUs where the topology has no core objects.
std::vector<CpuSet> cores_of(const Topology &topology, const CpuSet &usable) {
  std::vector<CpuSet> cores = topology.objects(HWLOC_OBJ_CORE, usable);
  if (cores.empty()) cores = topology.objects(HWLOC_OBJ_PU, usable);
  return cores;
}

// `count` placements over `cores` by the Pin::cores rule.
std::vector<CpuSet> fill_cores(const std::vector<CpuSet> &cores, std::size_t count) {
  std::vector<CpuSet> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const CpuSet &core = cores[i % cores.size()];
    if (count <= cores.size()) {
      out.push_back(core);
    } else {
      const auto round = static_cast<int>(i / cores.size());
      out.push_back(core.nth(round % core.weight()));
    }
  }
  return out;
}

// The domains Pin::spread deals workers over: NUMA nodes, else packages, else L3 caches, else the
// whole machine.
std::vector<CpuSet> spread_domains(const Topology &topology, const CpuSet &usable) {
  for (hwloc_obj_type_t type : {HWLOC_OBJ_NUMANODE, HWLOC_OBJ_PACKAGE, HWLOC_OBJ_L3CACHE}) {
    std::vector<CpuSet> domains = topology.objects(type, usable);
    if (domains.size() > 1) return domains;
  }
  return {usable};
}

}  // namespace

std::vector<CpuSet> plan_placement(const Topology &topology, const CpuSet &usable,
                                   std::size_t workers, Pin pin) {
  if (pin == Pin::none) return std::vector<CpuSet>(workers, usable);
  if (cores_of(topology, usable).empty()) throw TopologyError{};
  if (pin == Pin::cores) return fill_cores(cores_of(topology, usable), workers);

  const std::vector<CpuSet> domains = spread_domains(topology, usable);
  std::vector<std::vector<CpuSet>> per_domain;
  for (std::size_t d = 0; d < domains.size(); ++d) {
    // Worker i goes to domain i % D as its (i / D)-th worker there.
    const std::size_t count = workers / domains.size() + (d < workers % domains.size() ? 1 : 0);
    per_domain.push_back(fill_cores(cores_of(topology, domains[d]), count));
  }
  std::vector<CpuSet> placement;
  placement.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    placement.push_back(per_domain[i % domains.size()][i / domains.size()]);
  }
  return placement;
}

std::vector<VictimOrder> plan_victims(const Topology &topology,
                                      const std::vector<CpuSet> &placement) {
  const std::size_t workers = placement.size();
  std::vector<VictimOrder> orders(workers);
  if (workers > kMaxOrderedVictims) return orders;
  std::vector<hwloc_obj_t> homes;
  homes.reserve(workers);
  for (const CpuSet &cpus : placement) homes.push_back(topology.home_of(cpus));
  for (std::size_t w = 0; w < workers; ++w) {
    // Peers grouped by the depth of the smallest object holding both: deeper is nearer.
    std::map<int, std::vector<std::uint32_t>, std::greater<>> levels;
    for (std::size_t p = 1; p < workers; ++p) {
      const std::size_t peer = (w + p) % workers;
      levels[Topology::common_depth(homes[w], homes[peer])].push_back(
          static_cast<std::uint32_t>(peer));
    }
    for (const auto &[depth, peers] : levels) {
      orders[w].peers.insert(orders[w].peers.end(), peers.begin(), peers.end());
      orders[w].level_ends.push_back(static_cast<std::uint32_t>(orders[w].peers.size()));
    }
  }
  return orders;
}

}  // namespace tp::detail
