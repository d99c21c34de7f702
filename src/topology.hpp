// The machine as hwloc sees it: CPU sets, the objects that contain them, and binding. Where
// workers go is placement.hpp's business; this file only describes and binds.
#pragma once

#include <hwloc.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tp::detail {

// An owned hwloc bitmap.
class CpuSet {
 public:
  CpuSet();                                      // empty; throws std::bad_alloc
  explicit CpuSet(hwloc_const_bitmap_t bitmap);  // a copy; throws std::bad_alloc
  static CpuSet from_list(const char *list);     // "0-3,8"; throws std::bad_alloc
  CpuSet(const CpuSet &other) : CpuSet(other.bitmap_) {}
  CpuSet(CpuSet &&other) noexcept : bitmap_(std::exchange(other.bitmap_, nullptr)) {}
  CpuSet &operator=(CpuSet other) noexcept {
    std::swap(bitmap_, other.bitmap_);
    return *this;
  }
  ~CpuSet();

  hwloc_const_bitmap_t get() const noexcept { return bitmap_; }
  hwloc_bitmap_t get() noexcept { return bitmap_; }
  bool empty() const noexcept { return hwloc_bitmap_iszero(bitmap_) != 0; }
  int weight() const noexcept { return hwloc_bitmap_weight(bitmap_); }
  CpuSet operator&(const CpuSet &other) const;
  CpuSet operator|(const CpuSet &other) const;
  CpuSet operator-(const CpuSet &other) const;  // the CPUs of this set that `other` lacks
  // The `n`-th set CPU (0-based) alone; empty when there are not that many.
  CpuSet nth(int n) const;
  std::string to_list() const;  // hwloc's list format: "0-3,8"
  bool operator==(const CpuSet &other) const noexcept {
    return hwloc_bitmap_isequal(bitmap_, other.bitmap_) != 0;
  }

 private:
  hwloc_bitmap_t bitmap_;
};

class Topology {
 public:
  // This machine, loaded once per process and shared (hwloc topologies are read-only once loaded,
  // and reading or binding with one is thread-safe). Throws TopologyError when hwloc cannot
  // describe the machine, std::bad_alloc.
  static std::shared_ptr<const Topology> machine();
  // A synthetic machine in hwloc's description language, e.g. "pack:2 core:4 pu:2" (for tests).
  static std::unique_ptr<Topology> load_synthetic(const char *description);

  ~Topology();
  Topology(const Topology &) = delete;
  Topology &operator=(const Topology &) = delete;

  // The CPUs hwloc allows this process (its cgroup cpuset).
  CpuSet allowed() const;
  // What a thread created now by the calling thread may run on: the allowed CPUs, restricted to
  // the calling thread's own binding (taskset, sched_setaffinity). Only for the real machine.
  CpuSet usable_by_new_threads() const;

  // The objects of `type` (cores, NUMA nodes, packages, L3 caches, PUs) that hold at least one
  // CPU of `usable`, in topology order, each restricted to `usable`.
  std::vector<CpuSet> objects(hwloc_obj_type_t type, const CpuSet &usable) const;

  // The smallest object that holds every CPU of `cpus` (the machine's root when none is smaller).
  hwloc_obj_t home_of(const CpuSet &cpus) const noexcept;
  // The depth in the tree of the smallest object that holds both: the larger, the closer.
  int common_depth(hwloc_obj_t a, hwloc_obj_t b) const noexcept;

  // Binds the calling thread to `cpus`. False when the OS refused (not an error for the pool).
  bool bind_current_thread(const CpuSet &cpus) const noexcept;

 private:
  explicit Topology(hwloc_topology_t topology) : topology_(topology) {}
  static std::unique_ptr<Topology> finish_load(hwloc_topology_t topology);

  hwloc_topology_t topology_;
};

struct TopologyError {};

}  // namespace tp::detail
