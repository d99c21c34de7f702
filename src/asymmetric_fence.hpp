// Asymmetric fences, for a Dekker pair whose one side runs on every job and whose other side is
// rare: a submission through a lane counts its job and then reads whether the pool still accepts
// jobs; shutdown stores that it does not and then reads the counts (pool.cpp). A symmetric pair
// needs a full barrier on both sides: a locked instruction per job. Here the common side is a
// plain store and a compiler barrier, and the rare side has the kernel run a full barrier on every
// thread of the process (membarrier's PRIVATE_EXPEDITED command, Linux 4.14): the technique of
// liburcu and of folly's hazard pointers.
//
// Why that is enough: the barrier falls somewhere in the common side's program. If its store comes
// before that point, the barrier drained it, and the rare side, whose reads come after membarrier()
// returns, sees it. If its store comes after, so does its load (program order, kept by the compiler
// barrier and by the processor, which does not move a load before a full barrier), and the rare
// side's write, made before it called membarrier(), is visible to that load.
//
// Not used for the sleep protocol's pair (a push, then a read of the sleep state), although its
// re-checks before sleeping are rare: the last searcher's re-check when it finds a job is not, and
// it is what guarantees that a job published while a searcher was looking gets a worker even when
// the job that searcher found blocks. A heavy fence there would cost a system call per job.
//
// Where membarrier is missing (an old kernel, a seccomp filter) both sides are seq_cst operations.
// ThreadSanitizer cannot see the kernel's barrier: its builds keep the symmetric form, which is the
// one its reports check.
#pragma once

#include <atomic>

namespace tp::detail {

// Whether this process uses the asymmetric form: membarrier is registered on the first call.
// Thread-safe; every pool asks once, when it is created, and keeps the answer.
bool asymmetric_fences() noexcept;

// The rare side: a full barrier on every thread of the process. Only when asymmetric_fences().
void heavy_fence() noexcept;

// The common side's store: a plain (release) store and a compiler barrier when `asymmetric`, a
// seq_cst store otherwise. The load that follows it is seq_cst (on x86-64, a plain load).
template <class T>
inline void store_light(std::atomic<T> &atomic, T value, bool asymmetric) noexcept {
  if (asymmetric) {
    atomic.store(value, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    atomic.store(value, std::memory_order_seq_cst);
  }
}

}  // namespace tp::detail
