// The CPU's spin-wait hint, and the spin round built on it (the worker loop, wait_idle).
#pragma once

#include <thread>

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

// One round of waiting for something another thread will do: a pause hint for the first
// `pause_rounds` rounds, then the core is yielded, so that a thread that shares it (a submitter,
// on a machine with as many workers as cores) runs instead of the one spinning.
inline void spin_round(unsigned round, unsigned pause_rounds) noexcept {
  if (round < pause_rounds) {
    cpu_pause();
  } else {
    std::this_thread::yield();
  }
}

}  // namespace tp::detail
