#include "machine.hpp"

#include <sched.h>

#include <algorithm>

#include "cpu_quota.hpp"
#include "topology.hpp"
#include "tp/tp.h"  // TP_MAX_WORKERS

namespace tp::detail {

namespace {

// The calling thread's affinity; false when the OS does not say.
bool read_affinity(cpu_set_t &set) noexcept {
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

std::size_t affinity_cpu_count() noexcept {
  cpu_set_t set;
  if (!read_affinity(set)) return 1;
  const int count = CPU_COUNT(&set);
  return count > 0 ? static_cast<std::size_t>(count) : 1;
}

std::string affinity_cpu_list() {
  cpu_set_t set;
  if (!read_affinity(set)) return {};
  std::string list;
  constexpr std::size_t kCpus = CPU_SETSIZE;
  for (std::size_t cpu = 0; cpu < kCpus; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    std::size_t last = cpu;
    while (last + 1 < kCpus && CPU_ISSET(last + 1, &set)) ++last;
    if (!list.empty()) list += ',';
    list += std::to_string(cpu);
    if (last > cpu) list += '-' + std::to_string(last);
    cpu = last;
  }
  return list;
}

std::size_t usable_cores() noexcept {
  try {
    const auto topology = Topology::machine();
    const std::size_t cores =
        topology->objects(HWLOC_OBJ_CORE, topology->usable_by_new_threads()).size();
    return cores != 0 ? cores : affinity_cpu_count();  // no core objects: count CPUs
  } catch (...) {
    return affinity_cpu_count();  // hwloc cannot load (TopologyError), or no memory for it
  }
}

std::size_t default_worker_count() noexcept {
  std::size_t limit = 0;
  try {
    limit = cgroup_cpu_limit();
  } catch (...) {
    // Reading the cgroup files could not allocate: no quota is known.
  }
  return std::min<std::size_t>(default_workers(usable_cores(), limit), TP_MAX_WORKERS);
}

}  // namespace tp::detail
