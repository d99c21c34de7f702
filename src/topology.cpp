#include "topology.hpp"

#include <cstdlib>
#include <mutex>
#include <new>

namespace tp::detail {

CpuSet::CpuSet() : bitmap_(hwloc_bitmap_alloc()) {
  if (bitmap_ == nullptr) throw std::bad_alloc();
}

CpuSet::CpuSet(hwloc_const_bitmap_t bitmap) : bitmap_(hwloc_bitmap_dup(bitmap)) {
  if (bitmap_ == nullptr) throw std::bad_alloc();
}

CpuSet CpuSet::from_list(const char *list) {
  CpuSet set;
  hwloc_bitmap_list_sscanf(set.get(), list);
  return set;
}

CpuSet::~CpuSet() {
  if (bitmap_ != nullptr) hwloc_bitmap_free(bitmap_);
}

CpuSet CpuSet::operator&(const CpuSet &other) const {
  CpuSet out;
  hwloc_bitmap_and(out.get(), bitmap_, other.bitmap_);
  return out;
}

CpuSet CpuSet::operator|(const CpuSet &other) const {
  CpuSet out;
  hwloc_bitmap_or(out.get(), bitmap_, other.bitmap_);
  return out;
}

CpuSet CpuSet::operator-(const CpuSet &other) const {
  CpuSet out;
  hwloc_bitmap_andnot(out.get(), bitmap_, other.bitmap_);
  return out;
}

CpuSet CpuSet::nth(int n) const {
  CpuSet out;
  int index = hwloc_bitmap_first(bitmap_);
  for (int i = 0; i < n && index >= 0; ++i) index = hwloc_bitmap_next(bitmap_, index);
  if (index >= 0) hwloc_bitmap_only(out.get(), static_cast<unsigned>(index));
  return out;
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

std::shared_ptr<const Topology> Topology::machine() {
  // Loading takes milliseconds (it reads /sys); the structure of the machine does not change
  // while the process runs, so it is loaded once. What may change, the CPUs the caller may use,
  // is asked again each time (usable_by_new_threads()).
  static std::mutex mutex;
  static std::shared_ptr<const Topology> loaded;
  std::lock_guard lock(mutex);
  if (!loaded) {
    hwloc_topology_t topology;
    if (hwloc_topology_init(&topology) != 0) throw TopologyError{};
    loaded = finish_load(topology);
  }
  return loaded;
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

CpuSet Topology::usable_by_new_threads() const {
  CpuSet usable = allowed();
  CpuSet bound;
  if (hwloc_get_cpubind(topology_, bound.get(), HWLOC_CPUBIND_THREAD) == 0 && !bound.empty()) {
    usable = usable & bound;
  }
  return usable;
}

std::vector<CpuSet> Topology::objects(hwloc_obj_type_t type, const CpuSet &usable) const {
  std::vector<CpuSet> found;
  hwloc_obj_t object = nullptr;
  while ((object = hwloc_get_next_obj_by_type(topology_, type, object)) != nullptr) {
    if (object->cpuset == nullptr) continue;
    CpuSet cpus = CpuSet(object->cpuset) & usable;
    if (!cpus.empty()) found.push_back(std::move(cpus));
  }
  return found;
}

hwloc_obj_t Topology::home_of(const CpuSet &cpus) const noexcept {
  hwloc_obj_t object = hwloc_get_obj_covering_cpuset(topology_, cpus.get());
  return object != nullptr ? object : hwloc_get_root_obj(topology_);
}

int Topology::common_depth(hwloc_obj_t a, hwloc_obj_t b) const noexcept {
  return hwloc_get_common_ancestor_obj(topology_, a, b)->depth;
}

bool Topology::bind_current_thread(const CpuSet &cpus) const noexcept {
  return hwloc_set_cpubind(topology_, cpus.get(), HWLOC_CPUBIND_THREAD) == 0;
}

}  // namespace tp::detail
