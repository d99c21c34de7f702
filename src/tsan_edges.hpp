// Happens-before edges told to ThreadSanitizer, for programs built with -fsanitize=thread that link
// a libtp built without it (the installed release library).
//
// TSan sees the program's own memory accesses and the pthread calls of every library (it
// intercepts them), but not the atomics inside an uninstrumented libtp: to TSan a job that reads
// what its submitter wrote, or a caller of tp_pool_wait_idle() that reads what the jobs wrote, is
// a data race. So libtp says where its synchronisation is, through TSan's annotation entry points
// (__tsan_release(addr): what this thread did so far happens before whatever follows an
// __tsan_acquire(addr) on another thread). They are looked up once, when the library is loaded
// (dlsym(RTLD_DEFAULT)): present only when the process runs TSan's runtime. Otherwise every
// announcement is one predictable branch on a constant, and the per-job paths carry a flag of
// their own on a line they read anyway (Worker).
//
// A libtp that is itself built with TSan announces nothing: TSan then sees its atomics, and
// annotations on top would hide the library's own races from its own tests.
//
// The addresses are names, never read or written. Edges (each a release on the first thread, an
// acquire on the second, on the same address):
// - a submission (every way a job enters a pool) before the job runs: the pool's `submitted`;
// - a job's end before a wait for the pool's quiescence returns (wait_idle, shutdown, destroy):
//   the pool's `finished`;
// - a job's end before the wait for its latch returns (joins, groups, a serial queue's marker),
//   and before a group's notifications are sent: the latch;
// - a serial queue's submission before its job runs, and each of its jobs before the next one and
//   before the queue's waits return: the queue;
// - a batch's copy of the caller's jobs before the worker that frees the batch: the batch;
// - every worker's start hook before tp_pool_create returns: the pool's start count;
// - every queue node a submitter allocated before the destroyer frees what is left: the pool's
//   `allocated`.
// One address per pool is coarser than the truth (a job is taken to follow every submission made
// to its pool before it started), so TSan may miss a race between a job and what its submitter
// did after submitting it while later submissions to the same pool came in; it never reports one
// that is not there.
#pragma once

namespace tp::detail::tsan {

// Whether this library is itself built with ThreadSanitizer. GCC defines __SANITIZE_THREAD__
// under -fsanitize=thread; clang answers __has_feature.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kBuiltWithTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kBuiltWithTsan = true;
#else
inline constexpr bool kBuiltWithTsan = false;
#endif
#else
inline constexpr bool kBuiltWithTsan = false;
#endif

struct Entries {
  void (*acquire)(void *address) = nullptr;
  void (*release)(void *address) = nullptr;
};

// Resolved when the library is loaded; both null unless the process runs ThreadSanitizer.
extern const Entries entries;

inline bool announcing() noexcept { return entries.release != nullptr; }

inline void release(const void *address) noexcept {
  if (announcing()) [[unlikely]]
    entries.release(const_cast<void *>(address));
}

inline void acquire(const void *address) noexcept {
  if (announcing()) [[unlikely]]
    entries.acquire(const_cast<void *>(address));
}

// The addresses a pool announces on: never read or written, only named.
struct PoolEdges {
  char submitted = 0;
  char finished = 0;
  char allocated = 0;  // queue nodes allocated by submitters, freed by the pool's destroyer
};

}  // namespace tp::detail::tsan
