/*
 * libtp: a work-stealing thread pool behind a small, stable C ABI.
 *
 * Conventions used throughout this header
 * ---------------------------------------
 * - Every function that can fail returns a tp_status; TP_OK (0) is success and every error is
 *   negative. No function prints, aborts on a caller's mistake, or lets a C++ exception escape.
 * - Thread safety: every tp_pool_* call may be made from any thread at any time, concurrently with
 *   any other, except tp_pool_destroy(), which must not race with other calls on the same pool
 *   (exactly as free() must not race with uses of the memory it frees).
 * - "From inside a job" means from a job function that is running on one of the pool's own
 *   worker threads. Jobs may call back into their pool; the calls that could only deadlock
 *   from there say so and return TP_ERR_WOULD_DEADLOCK instead.
 * - Ownership: the pool never owns a job's `arg`. The caller keeps it valid until the job has run
 *   (tp_pool_wait_idle(), tp_pool_shutdown() and tp_pool_destroy() are the ways to know that).
 * - Structs that cross the ABI start with `size_t size`; the library reads and writes only the
 *   fields that fit within `size`, so a program built against an older header keeps working with
 *   a newer library.
 */
#ifndef TP_TP_H
#define TP_TP_H

#include <stddef.h>
#include <stdint.h>

/* The one place the version lives; CMake reads it from here. */
#define TP_VERSION_MAJOR 0
#define TP_VERSION_MINOR 3
#define TP_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, the value tp_version() returns. */
#define TP_VERSION_NUMBER (TP_VERSION_MAJOR * 10000 + TP_VERSION_MINOR * 100 + TP_VERSION_PATCH)

/* The most workers one pool may have; larger requests get TP_ERR_INVALID_ARGUMENT. */
#define TP_MAX_WORKERS 4096
/* The spin rounds a worker (or a waiter) spends looking for work before it sleeps, by default. */
#define TP_DEFAULT_SPIN_LIMIT 200
/* The most spin rounds a pool may be given: more would keep an idle worker busy for seconds. */
#define TP_MAX_SPIN_LIMIT 1000000

#if defined(_WIN32)
#if defined(TP_BUILDING_LIBRARY) && !defined(TP_STATIC_DEFINE)
#define TP_API __declspec(dllexport)
#elif !defined(TP_STATIC_DEFINE)
#define TP_API __declspec(dllimport)
#else
#define TP_API
#endif
#else
#define TP_API __attribute__((visibility("default")))
#endif

/* C++ callers see every function as noexcept: no exception ever leaves the library. */
#ifdef __cplusplus
#define TP_NOEXCEPT noexcept
#else
#define TP_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque pool of worker threads. Created by tp_pool_create*(), freed by tp_pool_destroy(). */
typedef struct tp_pool tp_pool;

/* A job: a function and the argument it is called with, on one of the pool's workers. */
typedef void (*tp_job_fn)(void *arg);

/* Result of every fallible call. Values are fixed forever; new ones are only ever appended. */
typedef enum tp_status {
  TP_OK = 0,
  TP_ERR_ZERO_WORKERS = -1,     /* a pool was asked for with zero workers */
  TP_ERR_SHUTDOWN = -2,         /* the pool no longer accepts jobs from outside */
  TP_ERR_INVALID_ARGUMENT = -3, /* NULL handle or function, absurd sizes, bad options */
  TP_ERR_OUT_OF_MEMORY = -4,    /* an allocation failed; nothing was accepted */
  TP_ERR_THREAD_START = -5,     /* the OS refused to start a worker thread */
  TP_ERR_TOPOLOGY = -6,         /* hwloc could not describe this machine (pinning requested) */
  TP_ERR_WOULD_DEADLOCK = -7,   /* e.g. draining or destroying a pool from one of its own jobs */
  TP_ERR_TIMEOUT = -8,          /* a timed wait ran out before the work was done (since 0.2) */
  TP_ERR_CANCELLED = -9,        /* the group was cancelled since its last wait (since 0.2) */
  TP_ERR_ALREADY_CREATED = -10  /* the default pool exists already: too late to configure it
                                   (since 0.2) */
} tp_status;

/* Where workers are bound (README, "Where workers run", has a picture). Only the CPUs the creating
 * thread may use count: its cgroup cpuset and its affinity (taskset). */
typedef enum tp_pin {
  TP_PIN_NONE = 0,  /* no binding: the OS schedules workers anywhere the process may run */
  TP_PIN_CORES = 1, /* worker N on the N-th usable physical core in topology order (a package and a
                       NUMA node fill before the next); with more workers than cores, the next
                       workers take the second hardware thread of each core, then around again */
  TP_PIN_SPREAD = 2 /* round-robin over NUMA nodes (over packages, or L3 domains, when there is one
                       NUMA node), each filled as TP_PIN_CORES fills the machine: spreads memory
                       bandwidth */
} tp_pin;

/* Pool configuration. Always fill it with tp_pool_options_init() first, then change fields. */
typedef struct tp_pool_options {
  size_t size;             /* sizeof(tp_pool_options); set by tp_pool_options_init() */
  size_t workers;          /* number of worker threads, 1..TP_MAX_WORKERS */
  tp_pin pin;              /* default TP_PIN_CORES */
  unsigned spin_limit;     /* rounds a worker looks for work before it parks (the first half
                              with a CPU pause hint, the rest yielding the core); default
                              TP_DEFAULT_SPIN_LIMIT; 0 parks at once; at most
                              TP_MAX_SPIN_LIMIT */
  const char *thread_name; /* thread name prefix, default "tp-worker": threads are named
                              tp-worker-0, tp-worker-1, ... (a long prefix is cut, between
                              UTF-8 characters, to fit the OS's 15 bytes with the index);
                              copied during create; NULL means the default */
  void (*on_worker_start)(size_t worker, void *user); /* on the worker thread, before any job */
  void (*on_worker_stop)(size_t worker, void *user);  /* on the worker thread, after its last job */
  void *user;                                         /* passed to both hooks */
  /* Since 0.3 (a caller built against 0.1 passes a smaller size and gets the default): */
  const char *trace_path; /* when not NULL, the pool records a trace timeline and writes it to this
                             file when destroyed (Chrome trace-event JSON, which Perfetto and
                             chrome://tracing open; see the README); copied during create.
                             Default NULL: only when TP_TRACE=<prefix> is in the environment at
                             create, to <prefix>.<pid>.<n>.json (n counts the traced pools).
                             The default pool (tp_pool_default) is never traced: it is never
                             destroyed, so it would never write the file */
} tp_pool_options;

/* Counters of a pool or of one worker. executed, stolen, from_injector and exceptions are exact
 * once tp_pool_wait_idle() has returned (and no job was submitted since); parks and pinned may
 * still change while workers go to sleep or start. */
typedef struct tp_pool_stats {
  size_t size;            /* the caller sets sizeof(tp_pool_stats) before the call */
  uint64_t executed;      /* jobs run (including those that threw) */
  uint64_t stolen;        /* jobs taken from another worker's deque */
  uint64_t from_injector; /* jobs taken out of the external submission queue */
  uint64_t parks;         /* times a worker went to sleep in the kernel (idle, or waiting in a
                             join or group wait with nothing to help with) */
  uint64_t exceptions;    /* jobs that ended by throwing a C++ exception (caught and counted) */
  uint64_t pinned;        /* workers bound to the CPUs their placement asked for (0 or 1 for one
                             worker); with TP_PIN_CORES, a worker the OS refused to bind runs
                             unpinned and is missing from this count */
  /* Since 0.2 (a caller built against 0.1 passes a smaller size and never sees it): */
  uint64_t cancelled; /* jobs of a cancelled group that were skipped (their on_cancel ran
                         instead of their function); they count in `executed` too */
} tp_pool_stats;

/* A job as stored in a batch for tp_pool_execute_batch(). */
typedef struct tp_job {
  tp_job_fn fn;
  void *arg;
} tp_job;

/*
 * A static, human-readable name for a status, e.g. "TP_ERR_SHUTDOWN: pool is shut down".
 * Never NULL, also for values that are not part of tp_status. Thread-safe; callable anywhere.
 */
TP_API const char *tp_status_string(tp_status status) TP_NOEXCEPT;

/* The library's runtime version, TP_VERSION_NUMBER of the headers it was built with. */
TP_API unsigned tp_version(void) TP_NOEXCEPT;

/*
 * Fills *options with the defaults: options->size = sizeof(tp_pool_options), workers =
 * tp_default_workers() (capped at TP_MAX_WORKERS), pin = TP_PIN_CORES, spin_limit =
 * TP_DEFAULT_SPIN_LIMIT, thread_name = "tp-worker", no hooks, user = NULL, trace_path = NULL.
 * Does nothing when options is NULL.
 */
TP_API void tp_pool_options_init(tp_pool_options *options) TP_NOEXCEPT;

/*
 * Creates a pool of `workers` threads with default options and stores it in *out.
 * Returns TP_OK; TP_ERR_INVALID_ARGUMENT when out is NULL or workers > TP_MAX_WORKERS;
 * TP_ERR_ZERO_WORKERS when workers is 0; TP_ERR_OUT_OF_MEMORY; TP_ERR_THREAD_START when the OS
 * refused a thread; TP_ERR_TOPOLOGY when pinning is on and hwloc cannot read the machine.
 * On any error *out is set to NULL (when out is not NULL) and every thread already started has
 * been joined. The caller owns the pool and frees it with tp_pool_destroy().
 * Thread-safe; may be called from inside a job (of another pool or of this one).
 */
TP_API tp_status tp_pool_create(size_t workers, tp_pool **out) TP_NOEXCEPT;

/*
 * As tp_pool_create(), with options prepared by tp_pool_options_init(). Extra errors:
 * TP_ERR_INVALID_ARGUMENT when options is NULL, options->size is smaller than the first version
 * of the struct or larger than this library knows, options->pin is not a tp_pin value, or
 * options->spin_limit is above TP_MAX_SPIN_LIMIT. Hooks: on_worker_start runs on each worker before
 * create returns; a job submitted from on_worker_stop is refused with TP_ERR_SHUTDOWN.
 * The options struct is not kept: it may be freed as soon as the call returns.
 */
TP_API tp_status tp_pool_create_with(const tp_pool_options *options, tp_pool **out) TP_NOEXCEPT;

/*
 * Submits fn(arg) to run once on some worker. From outside the pool it goes to the shared
 * submission queue; from inside one of this pool's jobs it goes to that worker's own deque.
 * Returns TP_OK (the job will run exactly once, even if shutdown starts right after);
 * TP_ERR_INVALID_ARGUMENT when pool or fn is NULL; TP_ERR_SHUTDOWN when shutdown has begun and
 * the caller is not one of the pool's jobs; TP_ERR_OUT_OF_MEMORY. On any error the job never runs.
 * `arg` must stay valid until the job has run. Thread-safe; callable from inside a job.
 * Allocation-free in steady state; makes no system call while every worker is busy.
 */
TP_API tp_status tp_pool_execute(tp_pool *pool, tp_job_fn fn, void *arg) TP_NOEXCEPT;

/*
 * Submits `count` jobs, all or nothing: either every job is accepted (TP_OK) or none is and none
 * will run. Returns TP_ERR_INVALID_ARGUMENT when pool is NULL, jobs is NULL with count > 0, any
 * jobs[i].fn is NULL, or count is absurd; TP_ERR_SHUTDOWN and TP_ERR_OUT_OF_MEMORY as for
 * tp_pool_execute(). count == 0 returns TP_OK and does nothing. The array is copied: it may be
 * freed when the call returns (each arg must stay valid until its job has run).
 * From outside the pool the whole batch travels as one entry of the submission queue.
 * Thread-safe; callable from inside a job.
 */
TP_API tp_status tp_pool_execute_batch(tp_pool *pool, const tp_job *jobs, size_t count) TP_NOEXCEPT;

/*
 * Blocks until the pool has been idle at some moment after the call began: no accepted job, and no
 * job those jobs spawned, left unfinished. So when it returns, every job accepted before the call
 * (and everything it spawned) has run. It waits for that moment of quiescence, not for particular
 * jobs: while other threads (or the pool's own jobs) keep submitting so that some job is always
 * unfinished, it keeps waiting. To wait for your own jobs under such a stream, spawn them into a
 * group and use tp_group_wait(). The pool stays usable. Returns TP_OK; TP_ERR_INVALID_ARGUMENT when
 * pool is NULL; TP_ERR_WOULD_DEADLOCK when called from inside one of this pool's jobs (which would
 * wait for itself). Like a worker, the caller looks for the pool to drain for spin_limit rounds
 * before it sleeps. Thread-safe; any number of threads may wait at once.
 */
TP_API tp_status tp_pool_wait_idle(tp_pool *pool) TP_NOEXCEPT;

/*
 * Stops accepting jobs from outside, runs every accepted job (including the ones they spawn while
 * draining), then stops and joins the workers. Idempotent: later and concurrent calls return
 * TP_OK once the pool is stopped. Returns TP_ERR_INVALID_ARGUMENT when pool is NULL;
 * TP_ERR_WOULD_DEADLOCK when called from inside one of this pool's jobs (nothing changes then).
 * After it returns, tp_pool_execute*() from any thread gets TP_ERR_SHUTDOWN; tp_pool_wait_idle(),
 * tp_pool_workers(), tp_pool_get_stats() keep working. Thread-safe.
 */
TP_API tp_status tp_pool_shutdown(tp_pool *pool) TP_NOEXCEPT;

/*
 * Shuts the pool down as tp_pool_shutdown() does, joins the workers and frees the pool.
 * NULL is a no-op returning TP_OK. Returns TP_ERR_WOULD_DEADLOCK, freeing nothing, when called
 * from inside one of this pool's jobs. Must not race with any other call on the same pool:
 * every other call must have returned, not merely have had its job run (a submitter may still be
 * finishing its call after its job ran).
 */
TP_API tp_status tp_pool_destroy(tp_pool *pool) TP_NOEXCEPT;

/*
 * As tp_pool_wait_idle(), but gives up after timeout_ns nanoseconds with TP_ERR_TIMEOUT (nothing
 * changes then: wait again later). A timeout of 0 only looks. Returns within a few milliseconds of
 * the deadline. Since 0.2.
 */
TP_API tp_status tp_pool_wait_idle_for(tp_pool *pool, uint64_t timeout_ns) TP_NOEXCEPT;

/*
 * fork(): a child process gets the memory of the parent's pools but none of their worker threads.
 * In the child, do not use or destroy a pool created before the fork (leak it); create fresh pools
 * instead, which work normally, as long as no other thread of the parent was inside
 * tp_pool_create, tp_pool_create_with, tp_pool_options_init or tp_default_workers at the moment of
 * the fork (as with malloc's locks, the child may inherit a held lock). The child's exit does not
 * wait for anything of libtp's.
 */

/* ---- The default pool (since 0.2) ------------------------------------------------------------ */

/*
 * The process-wide pool, created on first use and shared by every caller in the process: every
 * library, extension and language binding that uses it shares one set of workers instead of each
 * starting one thread per core. Workers: TP_NUM_THREADS from the environment when it is a whole
 * number in 1..TP_MAX_WORKERS (anything else is ignored), else the options given to
 * tp_pool_default_configure(), else tp_default_workers(); the other options are the configured
 * ones or the defaults. Returns TP_OK and the same pointer to every caller on every thread (later
 * calls cost one atomic load); on a creation error returns it (TP_ERR_THREAD_START, ...) with
 * *out = NULL, and tries again on the next call; TP_ERR_INVALID_ARGUMENT when out is NULL.
 * tp_pool_shutdown() and tp_pool_destroy() refuse it with TP_ERR_INVALID_ARGUMENT and change
 * nothing: it lives as long as the process. At process exit it is not drained: its workers are
 * still running when exit() runs the atexit handlers and static destructors, and jobs still queued
 * then may or may not run (wait for what must finish, with a group or tp_pool_wait_idle(), before
 * returning from main). In a child after fork() it is a fresh pool, created on the child's first
 * call (the parent's, if the child still holds its handle, is refused by tp_pool_shutdown() and
 * tp_pool_destroy() there too). A second, separately loaded copy of the library (a static libtp
 * linked into a plugin, say) has a default pool of its own. The start and stop hooks of the
 * configured options must not call tp_pool_default() (creation waits for the start hooks).
 * Thread-safe; callable from inside a job.
 */
TP_API tp_status tp_pool_default(tp_pool **out) TP_NOEXCEPT;

/*
 * Options for the default pool, before it exists: TP_OK (a later call replaces them);
 * TP_ERR_ALREADY_CREATED once it exists (nothing changes); otherwise as tp_pool_create_with()
 * (TP_ERR_INVALID_ARGUMENT, TP_ERR_ZERO_WORKERS) for options it would refuse. TP_NUM_THREADS
 * still wins for the worker count. The struct is copied (thread_name too). Thread-safe.
 */
TP_API tp_status tp_pool_default_configure(const tp_pool_options *options) TP_NOEXCEPT;

/* Number of worker threads of the pool; 0 when pool is NULL. Thread-safe. */
TP_API size_t tp_pool_workers(const tp_pool *pool) TP_NOEXCEPT;

/*
 * The index (0..workers-1) of the calling thread among the pool's workers, or -1 when the caller
 * is not one of them (or pool is NULL). Thread-safe; meant to be called from inside jobs.
 */
TP_API int tp_pool_current_worker(const tp_pool *pool) TP_NOEXCEPT;

/*
 * Fills *stats with the totals over all workers (pinned counts the pinned workers). The caller
 * sets stats->size = sizeof(tp_pool_stats) first; only fields within that size are written.
 * Returns TP_OK; TP_ERR_INVALID_ARGUMENT when pool or stats is NULL or stats->size is smaller
 * than the first version of the struct. Relaxed snapshot while jobs run; exact when idle.
 * Thread-safe; callable from inside a job and after shutdown.
 */
TP_API tp_status tp_pool_get_stats(const tp_pool *pool, tp_pool_stats *stats) TP_NOEXCEPT;

/*
 * As tp_pool_get_stats() for one worker; TP_ERR_INVALID_ARGUMENT also when worker >= the number
 * of workers.
 */
TP_API tp_status tp_pool_get_worker_stats(const tp_pool *pool, size_t worker,
                                          tp_pool_stats *stats) TP_NOEXCEPT;

/*
 * The number of workers a pool should have on this machine: the physical cores the calling thread
 * may use (cgroup cpuset, affinity), limited by the cgroup v2 CPU quota (cpu.max, rounded up) when
 * one is set; at least 1. Without hwloc, the CPUs of the calling thread's affinity. Thread-safe.
 */
TP_API size_t tp_default_workers(void) TP_NOEXCEPT;

/*
 * Writes the CPUs worker `worker` runs on into buf as a NUL-terminated list in hwloc's format
 * ("3", "0-1", "0,4"): the CPUs it is bound to, or, for an unpinned worker (TP_PIN_NONE, or a
 * binding the OS refused), the CPUs its pool's creator could use. Returns TP_OK;
 * TP_ERR_INVALID_ARGUMENT when pool or buf is NULL, worker is out of range, or len is too small
 * (buf then holds "" when len > 0). Thread-safe; callable from inside a job and after shutdown.
 */
TP_API tp_status tp_pool_worker_cpus(const tp_pool *pool, size_t worker, char *buf,
                                     size_t len) TP_NOEXCEPT;

/* ---- Fork-join ------------------------------------------------------------------------------ */

/*
 * Runs a(a_arg) and b(b_arg), possibly in parallel, and returns when both have run.
 * From inside one of this pool's jobs: b is pushed onto the calling worker's deque (other workers
 * may steal it), a runs on the calling thread, and then the caller takes b back if nobody stole it
 * or runs other jobs until b is done; when it finds none it sleeps until new work arrives (which
 * it helps with) or b is done. Nothing is allocated. Joins nest to any depth (deeper than the
 * number of workers) without deadlock. From any other thread: both are handed to the pool and the
 * caller blocks until both have run. Returns TP_OK; TP_ERR_INVALID_ARGUMENT when pool, a or b is
 * NULL; TP_ERR_SHUTDOWN from outside the pool after shutdown began (neither runs);
 * TP_ERR_OUT_OF_MEMORY (neither runs). The args must stay valid until the call returns.
 * Thread-safe.
 */
TP_API tp_status tp_pool_join(tp_pool *pool, tp_job_fn a, void *a_arg, tp_job_fn b,
                              void *b_arg) TP_NOEXCEPT;

/* A set of jobs that can be waited for together. */
typedef struct tp_group tp_group;

/*
 * Creates a group whose jobs run on `pool` and stores it in *out (NULL on error).
 * Returns TP_OK; TP_ERR_INVALID_ARGUMENT when pool or out is NULL; TP_ERR_OUT_OF_MEMORY.
 * The caller owns the group and frees it with tp_group_destroy(). Thread-safe.
 */
TP_API tp_status tp_group_create(tp_pool *pool, tp_group **out) TP_NOEXCEPT;

/*
 * Submits fn(arg) to the group's pool as a job of the group. Any thread may spawn, including the
 * group's own jobs (what they spawn into the group is waited for too). Returns TP_OK;
 * TP_ERR_INVALID_ARGUMENT when group or fn is NULL; TP_ERR_SHUTDOWN when the pool is shut down
 * (from outside its jobs); TP_ERR_OUT_OF_MEMORY. On error the job never runs and is not waited
 * for. Allocation-free once the pool has warmed up. Thread-safe.
 */
TP_API tp_status tp_group_spawn(tp_group *group, tp_job_fn fn, void *arg) TP_NOEXCEPT;

/*
 * Returns when every job spawned into the group before the call, and every job they spawned into
 * it, has run. On one of the pool's workers the caller runs other jobs meanwhile. The group can be
 * used again afterwards. Returns TP_OK; TP_ERR_CANCELLED (since 0.2) instead when the group was
 * cancelled since the last wait that returned (the mark is cleared: the group is fresh again);
 * TP_ERR_INVALID_ARGUMENT when group is NULL; TP_ERR_WOULD_DEADLOCK when the calling thread is
 * running one of the group's jobs, directly or beneath the job that calls (a waiting worker runs
 * other jobs on top of the one that waits). Waiting for a group from work that one of its jobs
 * itself waits for (say, the second half of a join made by a job of the group, run by another
 * worker) is a cycle the pool cannot see: it deadlocks, as it would with any task-group library.
 * Thread-safe.
 */
TP_API tp_status tp_group_wait(tp_group *group) TP_NOEXCEPT;

/*
 * As tp_group_wait(), but gives up after timeout_ns nanoseconds with TP_ERR_TIMEOUT (nothing is
 * cancelled and nothing changes then: wait again later). A timeout of 0 only looks. From outside
 * the pool it returns within a few milliseconds of the deadline; on one of the pool's workers it
 * helps with other jobs meanwhile, and a job it is running when the deadline passes ends first.
 * Since 0.2.
 */
TP_API tp_status tp_group_wait_for(tp_group *group, uint64_t timeout_ns) TP_NOEXCEPT;

/*
 * fn(arg) is submitted to the group's pool, as an ordinary job that is not part of the group, the
 * next time the group has no unfinished job (at once when it has none now). Never blocks; any
 * number of notifications may be pending, and each runs exactly once. Returns TP_OK;
 * TP_ERR_INVALID_ARGUMENT when group or fn is NULL; TP_ERR_SHUTDOWN when it is due now and the
 * pool refuses it (shut down, from outside its jobs): fn will not run; TP_ERR_OUT_OF_MEMORY.
 * A notification that waits for the group is submitted by the worker that finished the group's
 * last job, once the group is empty, which the pool accepts even while it drains (if the pool
 * cannot take it then, it runs on that thread); it may wait for the group or destroy it.
 * Callable from the group's own jobs (it then waits for them too). Thread-safe.
 * The way to learn that a group is done without blocking a thread (an event loop's, say): the
 * notification wakes the loop, which then calls tp_group_wait() and gets its status at once.
 * Since 0.2.
 */
TP_API tp_status tp_group_notify(tp_group *group, tp_job_fn fn, void *arg) TP_NOEXCEPT;

/*
 * As tp_group_spawn(), but if the job is skipped because the group was cancelled, on_cancel(arg)
 * runs instead of fn(arg) (on a worker, where fn would have run): exactly one of the two runs,
 * once. on_cancel may be NULL (nothing runs then; use it to free what arg owns). Since 0.2.
 */
TP_API tp_status tp_group_spawn_cancellable(tp_group *group, tp_job_fn fn, tp_job_fn on_cancel,
                                            void *arg) TP_NOEXCEPT;

/*
 * Cancels the group: its jobs that have not started are skipped (their on_cancel runs instead),
 * and so are jobs spawned into it until the next wait returns; running jobs finish (they may poll
 * tp_group_is_cancelled() and return early), and a tp_pool_parallel_for() called from one of its
 * jobs starts no more pieces. The next tp_group_wait(), tp_group_wait_for() (one that does not
 * time out) or tp_group_destroy() returns TP_ERR_CANCELLED (tp_group_destroy: TP_OK) once the
 * group is empty, and clears the mark. Returns TP_OK; TP_ERR_INVALID_ARGUMENT when group is NULL.
 * Skipped jobs count in tp_pool_stats.cancelled. Never blocks; callable from anywhere, its own
 * jobs included. Since 0.2.
 */
TP_API tp_status tp_group_cancel(tp_group *group) TP_NOEXCEPT;

/* 1 when the group is cancelled (and no wait has cleared the mark yet), else 0; 0 for NULL.
 * Since 0.2. */
TP_API int tp_group_is_cancelled(const tp_group *group) TP_NOEXCEPT;

/*
 * Waits as tp_group_wait() does, then frees the group and returns TP_OK (also when it was
 * cancelled). NULL is a no-op returning TP_OK. A notification still pending is not lost: it is
 * submitted as the group empties, as tp_group_notify() says. Returns TP_ERR_WOULD_DEADLOCK, freeing
 * nothing, from inside one of the group's own jobs. A group may be destroyed after its pool (it
 * then has nothing left to wait for). Must not race with other calls on the same group.
 */
TP_API tp_status tp_group_destroy(tp_group *group) TP_NOEXCEPT;

/*
 * Calls body(lo, hi, arg) on disjoint pieces [lo, hi) that together cover [begin, end) exactly
 * once, in parallel, and returns when all have run. The range is split in halves with
 * tp_pool_join() down to `grain` indices per piece. Grain 0 splits adaptively, as rayon does: about
 * two pieces per worker, and a piece that another worker steals (an idle worker) is split again, so
 * a nested loop nobody steals from costs a few joins, not one per index. Before 0.3 grain 0 meant
 * about 8 pieces per worker.
 * begin >= end does nothing and returns TP_OK. Returns TP_ERR_INVALID_ARGUMENT when pool or body
 * is NULL; TP_ERR_SHUTDOWN and TP_ERR_OUT_OF_MEMORY as tp_pool_join() (then no piece ran);
 * TP_ERR_CANCELLED when called from a job of a group that got cancelled (tp_group_cancel())
 * before every piece started: the pieces not started then were skipped, the others ran.
 * Thread-safe; callable from inside a job (nested parallel loops are fine).
 */
TP_API tp_status tp_pool_parallel_for(tp_pool *pool, size_t begin, size_t end, size_t grain,
                                      void (*body)(size_t lo, size_t hi, void *arg),
                                      void *arg) TP_NOEXCEPT;

/* ---- Priorities (since 0.3) ------------------------------------------------------------------ */

/*
 * A job's priority level. It decides the order in which workers *take* jobs: a worker looking for
 * its next job takes a waiting high job first, else a normal one, else a low one. It is not an
 * order of finishing: jobs taken earlier, and jobs on other workers, still run (nothing is
 * preempted). Low jobs age: a worker that has looked for 64 jobs while a low job waited takes the
 * oldest low job next, whatever else waits; so under a never-ending stream of normal (or high)
 * work the low job at the head of the low queue starts within 64 jobs of one worker, in time at
 * most 64 times the longest job. Jobs that a job spawns (tp_pool_execute(), joins, groups, serial
 * queues) are normal unless submitted with tp_pool_execute_priority().
 */
typedef enum tp_priority {
  TP_PRIORITY_NORMAL = 0, /* what tp_pool_execute() uses */
  TP_PRIORITY_HIGH = 1,   /* taken before any waiting normal or low job */
  TP_PRIORITY_LOW = 2     /* taken when no normal or high job is waiting, with ageing */
} tp_priority;

/*
 * As tp_pool_execute(), at a priority level. Returns what tp_pool_execute() returns, and
 * TP_ERR_INVALID_ARGUMENT for a value that is not a tp_priority. High and low jobs go to queues
 * that every worker looks at, also when submitted from inside a job (a high job spawned by a job
 * does not wait on its worker's deque); TP_PRIORITY_NORMAL is exactly tp_pool_execute(). Thread-
 * safe; callable from inside a job. Allocation-free once the pool has held as many high (low) jobs
 * at once before. Since 0.3.
 */
TP_API tp_status tp_pool_execute_priority(tp_pool *pool, tp_job_fn fn, void *arg,
                                          tp_priority priority) TP_NOEXCEPT;

/* ---- Serial queues (since 0.3) --------------------------------------------------------------- */

/*
 * A serial queue: its jobs run one at a time, in the order their submissions were accepted, on
 * whichever worker is free; different queues (and ordinary jobs) run in parallel. For ordered,
 * lock-free access to one resource (libdispatch's serial queues, Boost.Asio's strands): what one
 * job of a queue wrote is visible to the queue's next job. A queue holds no worker while it has
 * nothing to run, holds at most one while it has, and after 64 jobs in a row gives that worker back
 * (it goes behind the work queued meanwhile) so that a queue that never empties cannot starve other
 * work. Its jobs are jobs of the pool: tp_pool_wait_idle() waits for them, a shutdown runs every
 * one accepted, and tp_pool_stats counts them.
 */
typedef struct tp_queue tp_queue;

/*
 * Creates a serial queue whose jobs run on `pool` and stores it in *out (NULL on error). Returns
 * TP_OK; TP_ERR_INVALID_ARGUMENT when pool or out is NULL; TP_ERR_OUT_OF_MEMORY. Since 0.3.
 */
TP_API tp_status tp_queue_create(tp_pool *pool, tp_queue **out) TP_NOEXCEPT;

/*
 * Submits fn(arg) to the queue: it runs after every job of the queue whose submission was accepted
 * before this one (submission order for one thread; the order in which the submissions were
 * accepted across threads). Returns TP_OK; TP_ERR_INVALID_ARGUMENT when queue or fn is NULL;
 * TP_ERR_SHUTDOWN when the pool shut down (fn will never run), TP_ERR_OUT_OF_MEMORY (also when
 * 2^28 jobs wait in the queue). Lock-free and allocation-free once the queue (and, for a submission
 * that finds the queue idle, the pool's submission queue or the worker's deque) has held as many
 * jobs at once before; only when memory runs out does a submission from outside the pool that
 * finds the queue idle wait (1 ms at a time) for the memory to start the queue's turn. Thread-safe;
 * callable from inside a job, the queue's own included (the job submitted runs after the one
 * submitting it). Since 0.3.
 */
TP_API tp_status tp_queue_submit(tp_queue *queue, tp_job_fn fn, void *arg) TP_NOEXCEPT;

/*
 * Returns when every job whose tp_queue_submit() returned before this call has run. On one of the
 * pool's workers it helps with other jobs meanwhile. Returns TP_OK; TP_ERR_INVALID_ARGUMENT when
 * queue is NULL; TP_ERR_WOULD_DEADLOCK from one of the queue's own jobs (and from a job that runs
 * on top of one while it waits): it would wait for itself. Thread-safe. The wait sends a marker
 * job through the queue (it counts in tp_pool_stats.executed). After the pool was destroyed it
 * returns TP_OK at once (every job it accepted has run). Since 0.3.
 */
TP_API tp_status tp_queue_wait(tp_queue *queue) TP_NOEXCEPT;

/*
 * Waits until the queue is empty (also for jobs its jobs submit meanwhile), then frees it and
 * returns TP_OK. NULL is a no-op returning TP_OK. Returns TP_ERR_WOULD_DEADLOCK, freeing nothing,
 * from inside one of the queue's own jobs. A queue may be destroyed after its pool (it then has
 * nothing left to wait for). Must not race with other calls on the same queue. Since 0.3.
 */
TP_API tp_status tp_queue_destroy(tp_queue *queue) TP_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* TP_TP_H */
