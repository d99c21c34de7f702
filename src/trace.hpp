// A pool's trace timeline: what each worker ran, stole, took from the injector and when it slept,
// written when the pool is destroyed as Chrome trace-event JSON (the format Perfetto and
// chrome://tracing load).
//
// On when the pool's options name a file (tp_pool_options.trace_path) or, for every pool, when
// TP_TRACE=<prefix> is in the environment at creation: the file is then
// `<prefix>.<pid>.<n>.json`, n counting the traced pools of the process from 0.
//
// Each worker records into a buffer of its own that nobody else touches while the pool runs (no
// atomics, no shared line): a ring of kTraceEventsPerWorker events that overwrites its oldest
// events when full and counts them as dropped. The writer reads the buffers after the workers
// have been joined, which orders every record before it.
//
// Off, a worker's trace buffer pointer is null: one predictable branch per job, on the worker's
// own line (worker.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tp::detail {

struct PoolConfig;

// Events kept per worker: 32 bytes each, so 1 MiB per worker.
inline constexpr std::size_t kTraceEventsPerWorker = std::size_t{1} << 15;

struct TraceEvent {
  enum class Kind : std::uint32_t {
    job,       // a span: `subject` is the job's function (or the user's function it wraps)
    park,      // a span: the worker slept in the kernel (idle, or waiting with nothing to help)
    steal,     // an instant: one job stolen from worker `value`
    injector,  // an instant: `value` jobs taken from the injector
  };
  std::uint64_t start_ns = 0;  // steady clock
  std::uint64_t end_ns = 0;    // spans only
  const void *subject = nullptr;
  Kind kind = Kind::job;
  std::uint32_t value = 0;
};

inline std::uint64_t trace_now() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// One worker's events. Written by its worker only; read by the writer once the worker has ended.
class TraceBuffer {
 public:
  explicit TraceBuffer(std::size_t capacity);  // a power of two; throws std::bad_alloc

  void record(const TraceEvent &event) noexcept {
    events_[static_cast<std::size_t>(recorded_) & mask_] = event;
    ++recorded_;
  }
  void span(TraceEvent::Kind kind, const void *subject, std::uint64_t start_ns) noexcept {
    record(TraceEvent{start_ns, trace_now(), subject, kind, 0});
  }
  void instant(TraceEvent::Kind kind, std::uint32_t value) noexcept {
    const std::uint64_t now = trace_now();
    record(TraceEvent{now, now, nullptr, kind, value});
  }

  std::uint64_t recorded() const noexcept { return recorded_; }
  std::uint64_t dropped() const noexcept {
    return recorded_ > capacity() ? recorded_ - capacity() : 0;
  }
  std::size_t capacity() const noexcept { return mask_ + 1; }
  // The events kept, oldest first.
  template <class Visit>
  void for_each(Visit visit) const {
    for (std::uint64_t i = dropped(); i < recorded_; ++i) {
      visit(events_[static_cast<std::size_t>(i) & mask_]);
    }
  }

 private:
  std::unique_ptr<TraceEvent[]> events_;
  std::size_t mask_;
  std::uint64_t recorded_ = 0;
};

class Trace {
 public:
  // The pool's trace if tracing is on for it (see above), else null. Throws std::bad_alloc.
  static std::unique_ptr<Trace> open(const PoolConfig &config);

  Trace(std::string path, const PoolConfig &config);

  TraceBuffer &buffer(std::size_t worker) noexcept { return buffers_[worker]; }

  // Writes the file; after every worker has ended. False when it could not be written (the pool is
  // destroyed all the same: a trace is no reason to fail a destroy).
  bool write() const noexcept;

 private:
  std::string path_;
  const PoolConfig &config_;
  std::uint64_t origin_ns_;  // the pool's creation: time 0 of the timeline
  std::vector<TraceBuffer> buffers_;
};

}  // namespace tp::detail
