// The core's result type. capi/ translates it to tp_status; the core never speaks C.
#pragma once

namespace tp::detail {

enum class Status {
  ok,
  zero_workers,
  shutdown,
  invalid_argument,
  out_of_memory,
  thread_start,
  topology,
  would_deadlock,
};

}  // namespace tp::detail
