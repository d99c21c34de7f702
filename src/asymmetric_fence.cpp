#include "asymmetric_fence.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsan_edges.hpp"  // kBuiltWithTsan

namespace tp::detail {

namespace {

long membarrier(int command) noexcept { return syscall(SYS_membarrier, command, 0U, 0); }

bool register_membarrier() noexcept {
  if (tsan::kBuiltWithTsan) return false;  // it cannot see the barrier: keep what it can check
  const long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

bool asymmetric_fences() noexcept {
  static const bool available = register_membarrier();  // once per process
  return available;
}

void heavy_fence() noexcept {
  // Registered, so it cannot fail (EINVAL and EPERM are for unsupported or unregistered commands).
  membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

}  // namespace tp::detail
