// How many CPUs' worth of time the process's cgroup grants it (cgroup v2 `cpu.max`), for
// tp_default_workers(). Paths are parameters so that tests can point them at fake files.
#pragma once

#include <cstddef>
#include <string>

namespace tp::detail {

// The quota of the process's cgroup and of each of its ancestors, the smallest one, rounded up to
// whole CPUs; 0 when no quota is set anywhere (or nothing can be read: cgroup v1, no /sys).
std::size_t cgroup_cpu_limit(const std::string &cgroup_root = "/sys/fs/cgroup",
                             const std::string &proc_self_cgroup = "/proc/self/cgroup");

// What tp_default_workers() returns: the usable cores, limited by the quota when one is set, and
// at least 1.
std::size_t default_workers(std::size_t usable_cores, std::size_t cpu_limit) noexcept;

}  // namespace tp::detail
