// A pool's configuration as the core sees it, and the defaults every layer derives from: the C
// ABI's tp_pool_options_init() and the C++ wrapper read them from here or from tp.h's macros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "placement.hpp"
#include "tp/tp.h"  // TP_DEFAULT_SPIN_LIMIT, TP_MAX_SPIN_LIMIT: the public defaults

namespace tp::detail {

inline constexpr unsigned kDefaultSpinLimit = TP_DEFAULT_SPIN_LIMIT;
inline constexpr unsigned kMaxSpinLimit = TP_MAX_SPIN_LIMIT;
inline constexpr const char *kDefaultThreadName = "tp-worker";
inline constexpr Pin kDefaultPin = Pin::cores;

// Worker `index`'s thread name: the prefix, a dash and the index, in the 15 bytes Linux keeps
// (plus the terminator). A long prefix is cut, not the index: workers keep telling apart in top
// and a debugger. The cut falls between UTF-8 characters, never inside one (a torn character is
// invalid UTF-8 in every tool that shows the name). The trace names its tracks the same way.
inline std::string worker_thread_name(const std::string &prefix, std::size_t index) {
  constexpr std::size_t kMaxThreadName = 15;
  std::string suffix(1, '-');
  suffix += std::to_string(index);
  std::size_t keep = prefix.size();
  if (keep + suffix.size() > kMaxThreadName) {
    keep = suffix.size() < kMaxThreadName ? kMaxThreadName - suffix.size() : 0;
    // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
    while (keep > 0 && (static_cast<unsigned char>(prefix[keep]) & 0xC0) == 0x80) --keep;
  }
  std::string name(prefix.data(), keep);
  name.append(suffix);
  return name;
}

struct PoolConfig {
  std::size_t workers = 1;
  Pin pin = kDefaultPin;
  unsigned spin_limit = kDefaultSpinLimit;
  std::string thread_name = kDefaultThreadName;
  void (*on_worker_start)(std::size_t worker, void *user) = nullptr;
  void (*on_worker_stop)(std::size_t worker, void *user) = nullptr;
  void *user = nullptr;
  // Where the pool writes its trace when destroyed (trace.hpp); empty: TP_TRACE decides.
  std::string trace_path = {};
  // False for the process's default pool: it is never destroyed, so it would never write its
  // trace, and would hold the buffers for nothing.
  bool traceable = true;
  std::size_t deque_capacity = 256;  // initial capacity of each worker's deque
  // Tests only (not reachable through the C ABI): start_workers() acts as if the OS refused the
  // thread of this worker, to show that a failed create joins what it started and frees all.
  std::size_t refuse_thread_of_worker = SIZE_MAX;
  // Benchmarks only: false makes a pinned pool steal in plain rotating order, to measure what the
  // topology order costs.
  bool ordered_victims = true;
};

}  // namespace tp::detail
