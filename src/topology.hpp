// The machine as hwloc sees it, and where to put workers on it.
// Placement is a pure function of (topology, allowed CPUs, worker count, policy), so that it can be
// tested on synthetic topologies of machines we do not have; binding is the only side effect.
#pragma once

#include <hwloc.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tp::detail {

enum class Pin { none, cores };

// An owned hwloc bitmap.
class CpuSet {
 public:
  CpuSet();                                      // empty; throws std::bad_alloc
  explicit CpuSet(hwloc_const_bitmap_t bitmap);  // a copy; throws std::bad_alloc
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
  std::string to_list() const;  // hwloc's list format: "0-3,8"
  bool operator==(const CpuSet &other) const noexcept {
    return hwloc_bitmap_isequal(bitmap_, other.bitmap_) != 0;
  }

 private:
  hwloc_bitmap_t bitmap_;
};

class Topology {
 public:
  // This machine. Throws TopologyError when hwloc cannot describe it, std::bad_alloc.
  static std::unique_ptr<Topology> load_system();
  // A synthetic machine in hwloc's description language, e.g. "pack:2 core:4 pu:2" (for tests).
  static std::unique_ptr<Topology> load_synthetic(const char *description);

  ~Topology();
  Topology(const Topology &) = delete;
  Topology &operator=(const Topology &) = delete;

  // The CPUs this process may use.
  CpuSet allowed() const;

  // One CPU set per worker. Pin::none: every worker gets the allowed set (it is not bound).
  // Pin::cores: worker i gets the (i mod cores)-th usable core in topology order, restricted to
  // the allowed CPUs; with no core objects (some virtual machines) PUs stand in for cores.
  std::vector<CpuSet> plan(Pin pin, std::size_t workers) const;

  // Binds the calling thread to `cpus`. False when the OS refused (not an error for the pool).
  bool bind_current_thread(const CpuSet &cpus) const noexcept;

 private:
  explicit Topology(hwloc_topology_t topology) : topology_(topology) {}
  static std::unique_ptr<Topology> finish_load(hwloc_topology_t topology);

  hwloc_topology_t topology_;
};

struct TopologyError {};

}  // namespace tp::detail
