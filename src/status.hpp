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
  timeout,          // a timed wait's deadline passed first
  cancelled,        // a group was cancelled since its last wait
  already_created,  // the default pool exists: too late to configure it
};

}  // namespace tp::detail
