// What this process may run on, as the OS and hwloc report it: the one place that asks. The pool
// (the CPUs an unpinned worker may use) and tp_default_workers() both read it from here.
#pragma once

#include <cstddef>
#include <string>

namespace tp::detail {

// The CPUs in the calling thread's affinity mask (taskset, sched_setaffinity); at least 1.
std::size_t affinity_cpu_count() noexcept;

// The same CPUs in hwloc's list format ("0-3,8"), read without hwloc (for when it cannot load);
// "" when the OS does not say. Throws std::bad_alloc.
std::string affinity_cpu_list();

// The physical cores a thread created now by the calling thread may use (cgroup cpuset and
// affinity); where hwloc shows no core objects or cannot load, the CPUs of the affinity mask.
std::size_t usable_cores() noexcept;

// What a pool should have by default on this machine: usable_cores(), limited by the cgroup v2
// CPU quota when one is set, at least 1 and at most TP_MAX_WORKERS.
std::size_t default_worker_count() noexcept;

}  // namespace tp::detail
