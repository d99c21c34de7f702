// The C ABI: check arguments, call the core, translate the result. Every function is noexcept and
// catches everything, so that no C++ exception ever reaches a C caller.
#include "tp/tp.h"

#include <sched.h>

#include <cstring>
#include <memory>
#include <new>

#include "cpu_quota.hpp"
#include "group.hpp"
#include "pool.hpp"

namespace {

using tp::detail::Job;
using tp::detail::Pool;
using tp::detail::Status;

// The sizes of the first published versions of the growable structs: callers built against any
// later header pass a size at least this large.
constexpr std::size_t kOptionsFirstSize = sizeof(tp_pool_options);
constexpr std::size_t kStatsFirstSize = sizeof(tp_pool_stats);

// More spinning than this would keep an idle worker (and shutdown's join) busy for seconds.
constexpr unsigned kMaxSpinLimit = 1000000;

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
  }
  return TP_ERR_INVALID_ARGUMENT;
}

Pool *core(tp_pool *pool) noexcept { return reinterpret_cast<Pool *>(pool); }
tp::detail::Group *core(tp_group *group) noexcept {
  return reinterpret_cast<tp::detail::Group *>(group);
}
const Pool *core(const tp_pool *pool) noexcept { return reinterpret_cast<const Pool *>(pool); }

std::size_t affinity_cpus() noexcept {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<std::size_t>(count);
  }
  return 1;
}

std::size_t usable_cores() noexcept {
  try {
    const auto topology = tp::detail::Topology::machine();
    std::size_t cores = topology->objects(HWLOC_OBJ_CORE, topology->usable_by_new_threads()).size();
    if (cores == 0) cores = affinity_cpus();  // no core objects: count CPUs
    return cores;
  } catch (...) {
    return affinity_cpus();
  }
}

// A C caller may store any int in an enum field; read it as an int, never as an out-of-range enum.
template <class Enum>
int as_int(const Enum &value) noexcept {
  static_assert(sizeof(Enum) == sizeof(int));
  int raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

tp_status create(const tp_pool_options &options, tp_pool **out) noexcept {
  if (options.workers == 0) return TP_ERR_ZERO_WORKERS;
  if (options.workers > TP_MAX_WORKERS) return TP_ERR_INVALID_ARGUMENT;
  if (options.spin_limit > kMaxSpinLimit) return TP_ERR_INVALID_ARGUMENT;
  const int pin = as_int(options.pin);
  if (pin != TP_PIN_NONE && pin != TP_PIN_CORES && pin != TP_PIN_SPREAD) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  try {
    tp::detail::PoolConfig config;
    config.workers = options.workers;
    config.pin = pin == TP_PIN_NONE    ? tp::detail::Pin::none
                 : pin == TP_PIN_CORES ? tp::detail::Pin::cores
                                       : tp::detail::Pin::spread;
    config.spin_limit = options.spin_limit;
    if (options.thread_name != nullptr) config.thread_name = options.thread_name;
    config.on_worker_start = options.on_worker_start;
    config.on_worker_stop = options.on_worker_stop;
    config.user = options.user;
    std::unique_ptr<Pool> pool;
    const Status status = Pool::create(config, pool);
    if (status != Status::ok) return to_c(status);
    *out = reinterpret_cast<tp_pool *>(pool.release());
    return TP_OK;
  } catch (...) {
    return TP_ERR_OUT_OF_MEMORY;  // copying the thread name is all that can throw here
  }
}

// Every option at its default, with `workers` workers.
tp_pool_options default_options(std::size_t workers) noexcept {
  tp_pool_options options{};
  options.size = sizeof(tp_pool_options);
  options.workers = workers;
  options.pin = TP_PIN_CORES;
  options.spin_limit = 200;
  options.thread_name = "tp-worker";
  return options;
}

void fill_stats(const tp::detail::StatsSnapshot &snapshot, tp_pool_stats *stats) noexcept {
  tp_pool_stats full{};
  full.size = stats->size;
  full.executed = snapshot.executed;
  full.stolen = snapshot.stolen;
  full.from_injector = snapshot.from_injector;
  full.parks = snapshot.parks;
  full.exceptions = snapshot.exceptions;
  full.pinned = snapshot.pinned;
  // Write only what both the caller's and our version of the struct have.
  std::memcpy(stats, &full, stats->size < sizeof(full) ? stats->size : sizeof(full));
}

}  // namespace

extern "C" {

const char *tp_status_string(tp_status status) {
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
  }
  return "unknown tp_status";
}

unsigned tp_version(void) { return TP_VERSION_NUMBER; }

size_t tp_default_workers(void) {
  try {
    return tp::detail::default_workers(usable_cores(), tp::detail::cgroup_cpu_limit());
  } catch (...) {
    return affinity_cpus();  // reading the cgroup files failed to allocate: no quota known
  }
}

tp_status tp_pool_worker_cpus(const tp_pool *pool, size_t worker, char *buf, size_t len) {
  if (buf != nullptr && len > 0) buf[0] = '\0';
  if (pool == nullptr || buf == nullptr || worker >= core(pool)->workers()) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  const std::string &cpus = core(pool)->worker_cpus(worker);
  if (cpus.size() + 1 > len) return TP_ERR_INVALID_ARGUMENT;
  std::memcpy(buf, cpus.c_str(), cpus.size() + 1);
  return TP_OK;
}

void tp_pool_options_init(tp_pool_options *options) {
  if (options == nullptr) return;
  const std::size_t workers = tp_default_workers();
  *options = default_options(workers < TP_MAX_WORKERS ? workers : TP_MAX_WORKERS);
}

tp_status tp_pool_create(size_t workers, tp_pool **out) {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  // Not tp_pool_options_init(): the worker count is given, so the default one (which reads the
  // topology and the cgroup files) is not needed.
  const tp_pool_options options = default_options(workers);
  return create(options, out);
}

tp_status tp_pool_create_with(const tp_pool_options *options, tp_pool **out) {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (options == nullptr || options->size < kOptionsFirstSize ||
      options->size > sizeof(tp_pool_options)) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  return create(*options, out);
}

tp_status tp_pool_execute(tp_pool *pool, tp_job_fn fn, void *arg) {
  if (pool == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(pool)->execute(Job{fn, arg}));
}

tp_status tp_pool_execute_batch(tp_pool *pool, const tp_job *jobs, size_t count) {
  if (pool == nullptr || (jobs == nullptr && count > 0) || count > kMaxBatch) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < count; ++i) {
    if (jobs[i].fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  }
  return to_c(core(pool)->execute_batch(reinterpret_cast<const Job *>(jobs), count));
}

tp_status tp_pool_wait_idle(tp_pool *pool) {
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(pool)->wait_idle());
}

tp_status tp_pool_shutdown(tp_pool *pool) {
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(pool)->shutdown());
}

tp_status tp_pool_destroy(tp_pool *pool) {
  if (pool == nullptr) return TP_OK;
  const Status status = core(pool)->shutdown();
  if (status != Status::ok) return to_c(status);  // from one of its own jobs: nothing freed
  delete core(pool);
  return TP_OK;
}

size_t tp_pool_workers(const tp_pool *pool) { return pool == nullptr ? 0 : core(pool)->workers(); }

int tp_pool_current_worker(const tp_pool *pool) {
  return pool == nullptr ? -1 : core(pool)->current_worker();
}

tp_status tp_pool_get_stats(const tp_pool *pool, tp_pool_stats *stats) {
  if (pool == nullptr || stats == nullptr || stats->size < kStatsFirstSize) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  fill_stats(core(pool)->stats(), stats);
  return TP_OK;
}

tp_status tp_pool_get_worker_stats(const tp_pool *pool, size_t worker, tp_pool_stats *stats) {
  if (pool == nullptr || stats == nullptr || stats->size < kStatsFirstSize ||
      worker >= core(pool)->workers()) {
    return TP_ERR_INVALID_ARGUMENT;
  }
  fill_stats(core(pool)->worker_stats(worker), stats);
  return TP_OK;
}

tp_status tp_pool_join(tp_pool *pool, tp_job_fn a, void *a_arg, tp_job_fn b, void *b_arg) {
  if (pool == nullptr || a == nullptr || b == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(pool)->join(Job{a, a_arg}, Job{b, b_arg}));
}

tp_status tp_group_create(tp_pool *pool, tp_group **out) {
  if (out == nullptr) return TP_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (pool == nullptr) return TP_ERR_INVALID_ARGUMENT;
  auto *group = new (std::nothrow) tp::detail::Group(*core(pool));
  if (group == nullptr) return TP_ERR_OUT_OF_MEMORY;
  *out = reinterpret_cast<tp_group *>(group);
  return TP_OK;
}

tp_status tp_group_spawn(tp_group *group, tp_job_fn fn, void *arg) {
  if (group == nullptr || fn == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(group)->spawn(fn, arg));
}

tp_status tp_group_wait(tp_group *group) {
  if (group == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(group)->wait());
}

tp_status tp_group_destroy(tp_group *group) {
  if (group == nullptr) return TP_OK;
  const Status status = core(group)->wait();
  if (status != Status::ok) return to_c(status);
  delete core(group);
  return TP_OK;
}

tp_status tp_pool_parallel_for(tp_pool *pool, size_t begin, size_t end, size_t grain,
                               void (*body)(size_t lo, size_t hi, void *arg), void *arg) {
  if (pool == nullptr || body == nullptr) return TP_ERR_INVALID_ARGUMENT;
  return to_c(core(pool)->parallel_for(begin, end, grain, body, arg));
}

}  // extern "C"
