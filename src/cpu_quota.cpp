#include "cpu_quota.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tp::detail {

namespace {

// The cgroup v2 path of this process ("0::/user.slice/..."), or "" when there is none.
std::string own_cgroup(const std::string &proc_self_cgroup) {
  std::ifstream file(proc_self_cgroup);
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

// One cpu.max file: "max 100000" (no limit: 0) or "QUOTA PERIOD" (ceil(QUOTA / PERIOD) CPUs).
std::size_t read_cpu_max(const std::string &path) {
  std::ifstream file(path);
  std::string quota;
  unsigned long long period = 0;
  if (!(file >> quota >> period) || quota == "max" || period == 0) return 0;
  unsigned long long microseconds = 0;
  std::istringstream number(quota);
  if (!(number >> microseconds) || microseconds == 0) return 0;
  return static_cast<std::size_t>((microseconds + period - 1) / period);
}

}  // namespace

std::size_t cgroup_cpu_limit(const std::string &cgroup_root, const std::string &proc_self_cgroup) {
  std::string path = own_cgroup(proc_self_cgroup);
  if (path.empty() || path[0] != '/') return 0;
  std::size_t limit = 0;
  // A limit anywhere up the hierarchy applies to us: take the smallest.
  for (;;) {
    const std::size_t here = read_cpu_max(cgroup_root + (path == "/" ? "" : path) + "/cpu.max");
    if (here != 0) limit = limit == 0 ? here : std::min(limit, here);
    if (path == "/") break;
    const std::size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return limit;
}

std::size_t default_workers(std::size_t usable_cores, std::size_t cpu_limit) noexcept {
  std::size_t workers = usable_cores;
  if (cpu_limit != 0) workers = std::min(workers, cpu_limit);
  return std::max<std::size_t>(workers, 1);
}

}  // namespace tp::detail
