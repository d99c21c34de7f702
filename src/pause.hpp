// The CPU's spin-wait hint (spin_wait.hpp builds every wait's spin on it).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tp::detail {

// Tells the core that this is a spin loop: frees pipeline resources for the sibling hyperthread
// and avoids the memory-order mis-speculation penalty when the loop exits.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace tp::detail
