// The C ABI: check arguments, call the core, translate the result. Every entry point is noexcept
// (tp.h declares it so to C++ callers, and the compiler holds these definitions to it), and every
// one that calls into the core runs that call inside guard(), the one place where an exception
// becomes a status: no C++ exception ever reaches a C caller, and none ends in std::terminate.
// The few that only read (tp_version, tp_pool_workers, ...) call nothing that can throw.
#include "tp/tp.h"

#include <cstring>
#include <memory>
#include <new>

#include "abi.hpp"
#include "default_pool.hpp"
#include "group.hpp"
#include "join.hpp"
#include "machine.hpp"
#include "pool.hpp"
#include "serial_queue.hpp"

namespace {

using tp::capi::copy_within;
using tp::capi::kOptionsFirstSize;
using tp::capi::kStatsFirstSize;
using tp::detail::Deadline;
using tp::detail::Job;
using tp::detail::Pool;
using tp::detail::Status;

// The largest batch whose copy fits in memory at all: larger counts are a caller's bug.
constexpr std::size_t kMaxBatch = (SIZE_MAX / 4) / sizeof(tp_job);

static_assert(sizeof(tp_job) == sizeof(Job) && offsetof(tp_job, fn) == offsetof(Job, fn) &&
                  offsetof(tp_job, arg) == offsetof(Job, arg),
              "tp_job and the core's Job must share a layout: batches are copied as they are");

tp_status to_c(Status status) noexcept {
  switch (status) {
    case Status::ok:
      return TP_OK;
    case Status::zero_workers:
      return TP_ERR_ZERO_WORKERS;
    case Status::shutdown:
      return TP_ERR_SHUTDOWN;
    case Status::invalid_argument:
      return TP_ERR_INVALID_ARGUMENT;
    case Status::out_of_memory:
      return TP_ERR_OUT_OF_MEMORY;
    case Status::thread_start:
      return TP_ERR_THREAD_START;
    case Status::topology:
      return TP_ERR_TOPOLOGY;
    case Status::would_deadlock:
      return TP_ERR_WOULD_DEADLOCK;
    case Status::timeout:
      return TP_ERR_TIMEOUT;
    case Status::cancelled:
      return TP_ERR_CANCELLED;
    case Status::already_created:
      return TP_ERR_ALREADY_CREATED;
  }
  return TP_ERR_INVALID_ARGUMENT;
}

// The guard every entry point runs in. The core reports its own failures as statuses; what can
// still escape it is a failure to get resources (an allocation, a string or vector too long),
// so every exception means TP_ERR_OUT_OF_MEMORY. Entry points that return no status give their
// documented fallback instead.
template <class Body>
auto guard(Body &&body, decltype(body()) on_exception) noexcept {
  try {
    return body();
  } catch (...) {
    return on_exception;
  }
}
template <class Body>
tp_status guard(Body &&body) noexcept {
  return guard(std::forward<Body>(body), TP_ERR_OUT_OF_MEMORY);
}

Pool *core(tp_pool *pool) noexcept { return reinterpret_cast<Pool *>(pool); }
const Pool *core(const tp_pool *pool) noexcept { return reinterpret_cast<const Pool *>(pool); }
tp::detail::Group *core(tp_group *group) noexcept {
  return reinterpret_cast<tp::detail::Group *>(group);
}
const tp::detail::Group *core(const tp_group *group) noexcept {
  return reinterpret_cast<const tp::detail::Group *>(group);
}
tp::detail::SerialQueue *core(tp_queue *queue) noexcept {
  return reinterpret_cast<tp::detail::SerialQueue *>(queue);
}

// A C caller may store any int in an enum field; read it as an int, never as an out-of-range enum.
template <class Enum>
int as_int(const Enum &value) noexcept {
  static_assert(sizeof(Enum) == sizeof(int));
  int raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

// Every option at its default (the core's), with `workers` workers.
tp_pool_options default_options(std::size_t workers) noexcept {
  static_assert(tp::detail::kDefaultPin == tp::detail::Pin::cores);
  tp_pool_options options{};
  options.size = sizeof(tp_pool_options);
  options.workers = workers;
  options.pin = TP_PIN_CORES;
  options.spin_limit = tp::detail::kDefaultSpinLimit;
  options.thread_name = tp::detail::kDefaultThreadName;
  return options;
}

// The defaults into a caller's struct of `size` bytes, field by field: nothing past its end.
void fill_default_options(tp_pool_options *options, std::size_t size) noexcept {
  const tp_pool_options defaults = default_options(tp::detail::default_worker_count());
  options->size = size;
  copy_within(*options, defaults, size, &tp_pool_options::workers);
  copy_within(*options, defaults, size, &tp_pool_options::pin);
  copy_within(*options, defaults, size, &tp_pool_options::spin_limit);
  copy_within(*options, defaults, size, &tp_pool_options::thread_name);
  copy_within(*options, defaults, size, &tp_pool_options::on_worker_start);
  copy_within(*options, defaults, size, &tp_pool_options::on_worker_stop);
  copy_within(*options, defaults, size, &tp_pool_options::user);
  copy_within(*options, defaults, size, &tp_pool_options::trace_path);
}

// The caller's options over the defaults, field by field up to the caller's `size`.
tp_pool_options read_options(const tp_pool_options &given) noexcept {
  tp_pool_options options = default_options(1);
  const std::size_t size = given.size;
  copy_within(options, given, size, &tp_pool_options::workers);
  copy_within(options, given, size, &tp_pool_options::pin);
  copy_within(options, given, size, &tp_pool_options::spin_limit);
  copy_within(options, given, size, &tp_pool_options::thread_name);
  copy_within(options, given, size, &tp_pool_options::on_worker_start);
  copy_within(options, given, size, &tp_pool_options::on_worker_stop);
  copy_within(options, given, size, &tp_pool_options::user);
  copy_within(options, given, size, &tp_pool_options::trace_path);
  return options;
}

// Checks options (already read over the defaults) and translates them for the core.
tp_status to_config(const tp_pool_options &options, tp::detail::PoolConfig &config) {
  if (options.workers == 0) return TP_ERR_ZERO_WORKERS;
  if (options.workers > TP_MAX_WORKERS) return TP_ERR_INVALID_ARGUMENT;
  if (options.spin_limit > TP_MAX_SPIN_LIMIT) return TP_ERR_INVALID_ARGUMENT;
  const int pin = as_int(options.pin);
  if (pin != TP_PIN_NONE && pin != TP_PIN_CORES && pin != TP_PIN_SPREAD) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  config.workers = options.workers;
  config.pin = pin == TP_PIN_NONE    ? tp::detail::Pin::none
               : pin == TP_PIN_CORES ? tp::detail::Pin::cores
                                     : tp::detail::Pin::spread;
  config.spin_limit = options.spin_limit;
  if (options.thread_name != nullptr) config.thread_name = options.thread_name;  // may throw
  config.on_worker_start = options.on_worker_start;
  config.on_worker_stop = options.on_worker_stop;
  config.user = options.user;
  if (options.trace_path != nullptr) config.trace_path = options.trace_path;  // may throw
  return TP_OK;
}

tp_status create(const tp_pool_options &options, tp_pool **out) {
  tp::detail::PoolConfig config;
  if (const tp_status status = to_config(options, config); status != TP_OK) return status;
  std::unique_ptr<Pool> pool;
  const Status status = Pool::create(config, pool);
  if (status != Status::ok) return to_c(status);
  *out = reinterpret_cast<tp_pool *>(pool.release());
  return TP_OK;
}

// Writes the fields of `full` that lie within the caller's stats->size.
void write_stats(const tp::detail::StatsSnapshot &snapshot, tp_pool_stats *stats) noexcept {
  tp_pool_stats full{};
  full.executed = snapshot.executed;
  full.stolen = snapshot.stolen;
  full.from_injector = snapshot.from_injector;
  full.parks = snapshot.parks;
  full.exceptions = snapshot.exceptions;
  full.pinned = snapshot.pinned;
  full.cancelled = snapshot.cancelled;
  const std::size_t size = stats->size;
  copy_within(*stats, full, size, &tp_pool_stats::executed);
  copy_within(*stats, full, size, &tp_pool_stats::stolen);
  copy_within(*stats, full, size, &tp_pool_stats::from_injector);
  copy_within(*stats, full, size, &tp_pool_stats::parks);
  copy_within(*stats, full, size, &tp_pool_stats::exceptions);
  copy_within(*stats, full, size, &tp_pool_stats::pinned);
  copy_within(*stats, full, size, &tp_pool_stats::cancelled);
}

// Older callers pass a smaller struct (at least the first published one); a size larger than this
// library knows asks for options it cannot honour.
bool options_struct_ok(const tp_pool_options *options) noexcept {
  return options != nullptr && options->size >= kOptionsFirstSize &&
         options->size <= sizeof(tp_pool_options);
}

bool stats_struct_ok(const tp_pool_stats *stats) noexcept {
  return stats != nullptr && stats->size >= kStatsFirstSize;
}

}  // namespace

extern "C" {

const char *tp_status_string(tp_status status) noexcept {
  switch (as_int(status)) {
    case TP_OK:
      return "TP_OK: success";
    case TP_ERR_ZERO_WORKERS:
      return "TP_ERR_ZERO_WORKERS: a pool needs at least one worker";
    case TP_ERR_SHUTDOWN:
      return "TP_ERR_SHUTDOWN: the pool no longer accepts jobs";
    case TP_ERR_INVALID_ARGUMENT:
      return "TP_ERR_INVALID_ARGUMENT: invalid argument";
    case TP_ERR_OUT_OF_MEMORY:
      return "TP_ERR_OUT_OF_MEMORY: out of memory";
    case TP_ERR_THREAD_START:
      return "TP_ERR_THREAD_START: the OS refused to start a thread";
    case TP_ERR_TOPOLOGY:
      return "TP_ERR_TOPOLOGY: hwloc could not describe this machine";
    case TP_ERR_WOULD_DEADLOCK:
      return "TP_ERR_WOULD_DEADLOCK: the call would wait for itself";
    case TP_ERR_TIMEOUT:
      return "TP_ERR_TIMEOUT: the wait ran out before the work was done";
    case TP_ERR_CANCELLED:
      return "TP_ERR_CANCELLED: the group was cancelled since its last wait";
    case TP_ERR_ALREADY_CREATED:
      return "TP_ERR_ALREADY_CREATED: the default pool exists already";
  }
  return "unknown tp_status";
}

unsigned tp_version(void) noexcept { return TP_VERSION_NUMBER; }

size_t tp_default_workers(void) noexcept { return tp::detail::default_worker_count(); }

tp_status tp_pool_worker_cpus(const tp_pool *pool, size_t worker, char *buf, size_t len) noexcept {
  if (buf != nullptr && len > 0) buf[0] = '\0';
  if (pool == nullptr || buf == nullptr || worker >= core(pool)->workers()) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  return guard([&] {
    const std::string &cpus = core(pool)->worker_cpus(worker);
    if (cpus.size() + 1 > len) return TP_ERR_INVALID_ARGUMENT;
    std::memcpy(buf, cpus.c_str(), cpus.size() + 1);
    return TP_OK;
  });
}

#if defined(TP_SYMBOL_VERSIONS)
// The shared library: tp_pool_options_init() in two versions (abi.hpp). Programs linked against
// 0.1 bind to TP_0 and get a 0.1 struct, nothing past its end; programs linked since 0.3, when
// trace_path was appended, bind to the default TP_0.3 and get today's struct. Exported only under
// their versioned name (tp.map lists neither of these two names).
extern "C" TP_API void tp_pool_options_init_v0_1(tp_pool_options *options) noexcept;
extern "C" TP_API void tp_pool_options_init_v0_3(tp_pool_options *options) noexcept;
__asm__(".symver tp_pool_options_init_v0_1, tp_pool_options_init@TP_0");
__asm__(".symver tp_pool_options_init_v0_3, tp_pool_options_init@@TP_0.3");

void tp_pool_options_init_v0_1(tp_pool_options *options) noexcept {
  if (options != nullptr) fill_default_options(options, kOptionsFirstSize);
}

void tp_pool_options_init_v0_3(tp_pool_options *options) noexcept {
  if (options != nullptr) fill_default_options(options, sizeof(tp_pool_options));
}
#else
// The static library: one version, today's, since a program links it with the header it was
// compiled against; and no version names, which a user's shared object linking it could not hold.
void tp_pool_options_init(tp_pool_options *options) noexcept {
  if (options != nullptr) fill_default_options(options, sizeof(tp_pool_options));
}
#endif

tp_status tp_pool_create(size_t workers, tp_pool **out) noexcept {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  // Not tp_pool_options_init(): the worker count is given, so the default one (which reads the
  // topology and the cgroup files) is not needed.
  return guard([&] { return create(default_options(workers), out); });
}

tp_status tp_pool_create_with(const tp_pool_options *options, tp_pool **out) noexcept {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (!options_struct_ok(options)) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return create(read_options(*options), out); });
}

tp_status tp_pool_default(tp_pool **out) noexcept {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  return guard([&] {
    Pool *pool = nullptr;
    const Status status = tp::detail::default_pool(pool);
    if (status == Status::ok) *out = reinterpret_cast<tp_pool *>(pool);
    return to_c(status);
  });
}

tp_status tp_pool_default_configure(const tp_pool_options *options) noexcept {
  if (!options_struct_ok(options)) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    tp::detail::PoolConfig config;
    if (const tp_status status = to_config(read_options(*options), config); status != TP_OK) {
      return status;
    }
    return to_c(tp::detail::configure_default_pool(config));
  });
}

tp_status tp_pool_execute(tp_pool *pool, tp_job_fn fn, void *arg) noexcept {
  if (pool == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(pool)->submit(Job{fn, arg})); });
}

tp_status tp_pool_execute_priority(tp_pool *pool, tp_job_fn fn, void *arg,
                                   tp_priority priority) noexcept {
  if (pool == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  const int level = as_int(priority);
  if (level != TP_PRIORITY_NORMAL && level != TP_PRIORITY_HIGH && level != TP_PRIORITY_LOW) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  const tp::detail::Priority core_priority = level == TP_PRIORITY_HIGH ? tp::detail::Priority::high
                                             : level == TP_PRIORITY_LOW
                                                 ? tp::detail::Priority::low
                                                 : tp::detail::Priority::normal;
  return guard([&] { return to_c(core(pool)->submit(Job{fn, arg}, core_priority)); });
}

tp_status tp_pool_execute_batch(tp_pool *pool, const tp_job *jobs, size_t count) noexcept {
  if (pool == nullptr || (jobs == nullptr && count > 0) || count > kMaxBatch) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < count; ++i) {
    if (jobs[i].fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  }
  return guard(
      [&] { return to_c(core(pool)->submit(reinterpret_cast<const Job *>(jobs), count)); });
}

tp_status tp_pool_wait_idle(tp_pool *pool) noexcept {
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(pool)->wait_idle()); });
}

tp_status tp_pool_wait_idle_for(tp_pool *pool, uint64_t timeout_ns) noexcept {
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(pool)->wait_idle(Deadline::after(timeout_ns))); });
}

tp_status tp_pool_shutdown(tp_pool *pool) noexcept {
  if (pool == nullptr || tp::detail::is_default_pool(core(pool))) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(pool)->shutdown()); });
}

tp_status tp_pool_destroy(tp_pool *pool) noexcept {
  if (pool == nullptr) return TP_OK;
  if (tp::detail::is_default_pool(core(pool))) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    const Status status = core(pool)->shutdown();
    if (status != Status::ok) return to_c(status);  // from one of its own jobs: nothing freed
    delete core(pool);
    return TP_OK;
  });
}

size_t tp_pool_workers(const tp_pool *pool) noexcept {
  return pool == nullptr ? 0 : core(pool)->workers();
}

int tp_pool_current_worker(const tp_pool *pool) noexcept {
  return pool == nullptr ? -1 : core(pool)->current_worker();
}

tp_status tp_pool_get_stats(const tp_pool *pool, tp_pool_stats *stats) noexcept {
  if (pool == nullptr || !stats_struct_ok(stats)) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    write_stats(core(pool)->stats(), stats);
    return TP_OK;
  });
}

tp_status tp_pool_get_worker_stats(const tp_pool *pool, size_t worker,
                                   tp_pool_stats *stats) noexcept {
  if (pool == nullptr || !stats_struct_ok(stats) || worker >= core(pool)->workers()) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  return guard([&] {
    write_stats(core(pool)->worker_stats(worker), stats);
    return TP_OK;
  });
}

tp_status tp_pool_join(tp_pool *pool, tp_job_fn a, void *a_arg, tp_job_fn b, void *b_arg) noexcept {
  if (pool == nullptr || a == nullptr || b == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    return to_c(tp::detail::join_inline(*core(pool), Job{a, a_arg}, Job{b, b_arg}));
  });
}

tp_status tp_group_create(tp_pool *pool, tp_group **out) noexcept {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    // The constructor allocates too (its first records): both throw std::bad_alloc into guard().
    *out = reinterpret_cast<tp_group *>(new tp::detail::Group(*core(pool)));
    return TP_OK;
  });
}

tp_status tp_group_spawn(tp_group *group, tp_job_fn fn, void *arg) noexcept {
  if (group == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(group)->spawn(fn, nullptr, arg)); });
}

tp_status tp_group_spawn_cancellable(tp_group *group, tp_job_fn fn, tp_job_fn on_cancel,
                                     void *arg) noexcept {
  if (group == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(group)->spawn(fn, on_cancel, arg)); });
}

tp_status tp_group_wait(tp_group *group) noexcept {
  if (group == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(group)->wait()); });
}

tp_status tp_group_wait_for(tp_group *group, uint64_t timeout_ns) noexcept {
  if (group == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(group)->wait(Deadline::after(timeout_ns))); });
}

tp_status tp_group_notify(tp_group *group, tp_job_fn fn, void *arg) noexcept {
  if (group == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(group)->notify(fn, arg)); });
}

tp_status tp_group_cancel(tp_group *group) noexcept {
  if (group == nullptr) return TP_ERR_INVALID_ARGUMENT;
  core(group)->cancel();
  return TP_OK;
}

int tp_group_is_cancelled(const tp_group *group) noexcept {
  return group != nullptr && core(group)->cancelled() ? 1 : 0;
}

tp_status tp_group_destroy(tp_group *group) noexcept {
  if (group == nullptr) return TP_OK;
  return guard([&] {
    // A cancelled group is waited for like any other: its mark ends with it.
    const Status status = core(group)->wait();
    if (status != Status::ok && status != Status::cancelled) return to_c(status);
    delete core(group);
    return TP_OK;
  });
}

tp_status tp_pool_parallel_for(tp_pool *pool, size_t begin, size_t end, size_t grain,
                               void (*body)(size_t lo, size_t hi, void *arg), void *arg) noexcept {
  if (pool == nullptr || body == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard(
      [&] { return to_c(tp::detail::parallel_for(*core(pool), begin, end, grain, body, arg)); });
}

tp_status tp_queue_create(tp_pool *pool, tp_queue **out) noexcept {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] {
    // The constructor allocates too (its first nodes): both throw std::bad_alloc into guard().
    *out = reinterpret_cast<tp_queue *>(new tp::detail::SerialQueue(*core(pool)));
    return TP_OK;
  });
}

tp_status tp_queue_submit(tp_queue *queue, tp_job_fn fn, void *arg) noexcept {
  if (queue == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(queue)->submit(Job{fn, arg})); });
}

tp_status tp_queue_wait(tp_queue *queue) noexcept {
  if (queue == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return guard([&] { return to_c(core(queue)->wait()); });
}

tp_status tp_queue_destroy(tp_queue *queue) noexcept {
  if (queue == nullptr) return TP_OK;
  return guard([&] {
    if (const Status status = core(queue)->drain(); status != Status::ok) return to_c(status);
    delete core(queue);
    return TP_OK;
  });
}

}  // extern "C"
