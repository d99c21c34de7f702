#include "topology.hpp"

#include <cstdlib>
#include <new>

namespace tp::detail {

CpuSet::CpuSet() : bitmap_(hwloc_bitmap_alloc()) {
  if (bitmap_ == nullptr) throw std::bad_alloc();
}

CpuSet::CpuSet(hwloc_const_bitmap_t bitmap) : bitmap_(hwloc_bitmap_dup(bitmap)) {
  if (bitmap_ == nullptr) throw std::bad_alloc();
}

CpuSet::~CpuSet() {
  if (bitmap_ != nullptr) hwloc_bitmap_free(bitmap_);
}

std::string CpuSet::to_list() const {
  char *text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, bitmap_) < 0 || text == nullptr) throw std::bad_alloc();
  std::string list(text);
  std::free(text);
  return list;
}

std::unique_ptr<Topology> Topology::finish_load(hwloc_topology_t topology) {
  if (hwloc_topology_load(topology) != 0) {
    hwloc_topology_destroy(topology);
    throw TopologyError{};
  }
  try {
    return std::unique_ptr<Topology>(new Topology(topology));
  } catch (...) {
    hwloc_topology_destroy(topology);
    throw;
  }
}

std::unique_ptr<Topology> Topology::load_system() {
  hwloc_topology_t topology;
  if (hwloc_topology_init(&topology) != 0) throw TopologyError{};
  return finish_load(topology);
}

std::unique_ptr<Topology> Topology::load_synthetic(const char *description) {
  hwloc_topology_t topology;
  if (hwloc_topology_init(&topology) != 0) throw TopologyError{};
  if (hwloc_topology_set_synthetic(topology, description) != 0) {
    hwloc_topology_destroy(topology);
    throw TopologyError{};
  }
  return finish_load(topology);
}

Topology::~Topology() { hwloc_topology_destroy(topology_); }

CpuSet Topology::allowed() const { return CpuSet(hwloc_topology_get_allowed_cpuset(topology_)); }

std::vector<CpuSet> Topology::plan(Pin pin, std::size_t workers) const {
  const CpuSet usable = allowed();
  std::vector<CpuSet> placement;
  placement.reserve(workers);
  if (pin == Pin::none) {
    placement.assign(workers, usable);
    return placement;
  }
  std::vector<CpuSet> cores;
  for (hwloc_obj_type_t type : {HWLOC_OBJ_CORE, HWLOC_OBJ_PU}) {
    hwloc_obj_t object = nullptr;
    while ((object = hwloc_get_next_obj_by_type(topology_, type, object)) != nullptr) {
      CpuSet core(object->cpuset);
      hwloc_bitmap_and(core.get(), core.get(), usable.get());
      if (!core.empty()) cores.push_back(std::move(core));
    }
    if (!cores.empty()) break;
  }
  if (cores.empty()) throw TopologyError{};  // no usable CPU at all: hwloc saw nothing we may use
  for (std::size_t i = 0; i < workers; ++i) {
    placement.push_back(cores[i % cores.size()]);
  }
  return placement;
}

bool Topology::bind_current_thread(const CpuSet &cpus) const noexcept {
  return hwloc_set_cpubind(topology_, cpus.get(), HWLOC_CPUBIND_THREAD) == 0;
}

}  // namespace tp::detail
