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

// `count` placements over `cores` by the Pin::cores rule: whole cores while there are enough;
// beyond, single hardware threads, round by round (every core's first usable thread, then every
// core's second, ...), so that no CPU gets a second worker while a usable one has none.
std::vector<CpuSet> fill_cores(const std::vector<CpuSet> &cores, std::size_t count) {
  if (count <= cores.size()) {
    return std::vector<CpuSet>(cores.begin(), cores.begin() + static_cast<std::ptrdiff_t>(count));
  }
  std::vector<CpuSet> threads;
  for (int round = 0;; ++round) {
    bool any = false;
    for (const CpuSet &core : cores) {
      if (round < core.weight()) {
        threads.push_back(core.nth(round));
        any = true;
      }
    }
    if (!any) break;
  }
  std::vector<CpuSet> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(threads[i % threads.size()]);
  return out;
}

// The domains Pin::spread deals workers over: NUMA nodes, else packages, else L3 caches, else the
// whole machine.
std::vector<CpuSet> spread_domains(const Topology &topology, const CpuSet &usable) {
  for (hwloc_obj_type_t type : {HWLOC_OBJ_NUMANODE, HWLOC_OBJ_PACKAGE, HWLOC_OBJ_L3CACHE}) {
    // NUMA nodes without CPUs of their own (memory-only: HBM, CXL) carry the CPU set of the object
    // they hang from, so domains can overlap: each keeps only the CPUs no earlier one claimed.
    std::vector<CpuSet> domains;
    CpuSet claimed;
    for (const CpuSet &object : topology.objects(type, usable)) {
      CpuSet own = object - claimed;
      if (own.empty()) continue;
      claimed = claimed | own;
      domains.push_back(std::move(own));
    }
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
  // Deal workers round-robin over the domains, skipping a domain once it has a worker for each of
  // its cores while another still has a free core (uneven domains get uneven shares).
  std::vector<std::vector<CpuSet>> domain_cores;
  for (const CpuSet &domain : domains) domain_cores.push_back(cores_of(topology, domain));
  std::vector<std::size_t> domain_of(workers), index_in_domain(workers);
  std::vector<std::size_t> dealt(domains.size(), 0);
  std::size_t next = 0;
  for (std::size_t i = 0; i < workers; ++i) {
    std::size_t d = next;
    for (std::size_t tried = 0; tried < domains.size(); ++tried) {
      const std::size_t candidate = (next + tried) % domains.size();
      if (dealt[candidate] < domain_cores[candidate].size()) {
        d = candidate;
        break;
      }
    }
    domain_of[i] = d;
    index_in_domain[i] = dealt[d]++;
    next = (d + 1) % domains.size();
  }
  std::vector<std::vector<CpuSet>> per_domain;
  for (std::size_t d = 0; d < domains.size(); ++d) {
    per_domain.push_back(fill_cores(domain_cores[d], dealt[d]));
  }
  std::vector<CpuSet> placement;
  placement.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    placement.push_back(per_domain[domain_of[i]][index_in_domain[i]]);
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
      levels[topology.common_depth(homes[w], homes[peer])].push_back(
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
