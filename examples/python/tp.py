"""libtp from Python, through ctypes: a small module to copy into your project.

    import tp
    with tp.Pool(4) as pool:                      # tp.Pool(workers, library=None)
        future = pool.submit(sum, range(10))      # a concurrent.futures.Future
        pool.submit(redraw, priority=tp.PRIORITY_HIGH)  # taken before normal and low jobs
        pool.execute(print, "hello from a worker")
        print(future.result())                    # 45
    # leaving the block destroys the pool: every accepted job has run

    shared = tp.default_pool()                    # the process-wide pool, shared with C, C++, Rust
    kernel = ctypes.CDLL("./libkernel.so").kernel # void kernel(size_t lo, size_t hi, void *arg)
    shared.parallel_for_native(0, n, kernel, arg) # native code on every worker, the GIL released

    group = shared.group()                        # tp_group: jobs waited for together
    group.spawn(print, "a Python job")
    group.spawn_native(c_function, arg)           # void c_function(void *arg), no GIL needed
    await group.wait_async()                      # asyncio: never blocks the event loop
    group.cancel()                                # jobs not started are dropped

The library is found from the `library` argument, the TP_LIBRARY environment variable, or the
system's search path (libtp.so.0). Errors raise tp.TpError, whose `.status` is the tp_status value
and `.name` its TP_ERR_* name.

Python callables run on the pool's worker threads, but each holds the GIL while it runs, so
CPU-bound Python code does not run in parallel. Native functions do: pass a C function (a ctypes
function from a loaded library, a CFUNCTYPE pointer, or its address as an int) to execute_native,
Group.spawn_native or parallel_for_native, and the workers call it directly, without Python or the
GIL. Every call that waits (wait_idle, Group.wait, parallel_for_native) goes through ctypes.CDLL,
which releases the GIL for the length of the call.
"""

import asyncio
import atexit
import concurrent.futures
import ctypes
import ctypes.util
import itertools
import os
import threading
import weakref

OK = 0
ERR_ZERO_WORKERS = -1
ERR_SHUTDOWN = -2
ERR_INVALID_ARGUMENT = -3
ERR_OUT_OF_MEMORY = -4
ERR_THREAD_START = -5
ERR_TOPOLOGY = -6
ERR_WOULD_DEADLOCK = -7
ERR_TIMEOUT = -8
ERR_CANCELLED = -9
ERR_ALREADY_CREATED = -10

# tp_priority: the order in which workers take waiting jobs (high, then normal, then low, which
# ages so that it cannot starve).
PRIORITY_NORMAL = 0
PRIORITY_HIGH = 1
PRIORITY_LOW = 2

JOB_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
RANGE_FN = ctypes.CFUNCTYPE(None, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p)


class TpError(Exception):
    """A tp_status other than TP_OK."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.name = message.split(":", 1)[0]


def load(library=None):
    """Loads libtp and declares the argument and return types of the functions used here."""
    path = library or os.environ.get("TP_LIBRARY") or ctypes.util.find_library("tp") or "libtp.so.0"
    lib = ctypes.CDLL(path)
    pool_p = ctypes.c_void_p
    lib.tp_status_string.argtypes = [ctypes.c_int]
    lib.tp_status_string.restype = ctypes.c_char_p
    lib.tp_version.argtypes = []
    lib.tp_version.restype = ctypes.c_uint
    lib.tp_pool_create.argtypes = [ctypes.c_size_t, ctypes.POINTER(pool_p)]
    lib.tp_pool_create.restype = ctypes.c_int
    lib.tp_pool_execute.argtypes = [pool_p, JOB_FN, ctypes.c_void_p]
    lib.tp_pool_execute.restype = ctypes.c_int
    lib.tp_pool_execute_priority.argtypes = [pool_p, JOB_FN, ctypes.c_void_p, ctypes.c_int]
    lib.tp_pool_execute_priority.restype = ctypes.c_int
    lib.tp_pool_wait_idle.argtypes = [pool_p]
    lib.tp_pool_wait_idle.restype = ctypes.c_int
    lib.tp_pool_shutdown.argtypes = [pool_p]
    lib.tp_pool_shutdown.restype = ctypes.c_int
    lib.tp_pool_destroy.argtypes = [pool_p]
    lib.tp_pool_destroy.restype = ctypes.c_int
    lib.tp_pool_workers.argtypes = [pool_p]
    lib.tp_pool_workers.restype = ctypes.c_size_t
    lib.tp_pool_default.argtypes = [ctypes.POINTER(pool_p)]
    lib.tp_pool_default.restype = ctypes.c_int
    lib.tp_pool_parallel_for.argtypes = [pool_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
                                         RANGE_FN, ctypes.c_void_p]
    lib.tp_pool_parallel_for.restype = ctypes.c_int
    group_p = ctypes.c_void_p
    lib.tp_group_create.argtypes = [pool_p, ctypes.POINTER(group_p)]
    lib.tp_group_create.restype = ctypes.c_int
    lib.tp_group_spawn_cancellable.argtypes = [group_p, JOB_FN, JOB_FN, ctypes.c_void_p]
    lib.tp_group_spawn_cancellable.restype = ctypes.c_int
    lib.tp_group_wait.argtypes = [group_p]
    lib.tp_group_wait.restype = ctypes.c_int
    lib.tp_group_wait_for.argtypes = [group_p, ctypes.c_uint64]
    lib.tp_group_wait_for.restype = ctypes.c_int
    lib.tp_group_notify.argtypes = [group_p, JOB_FN, ctypes.c_void_p]
    lib.tp_group_notify.restype = ctypes.c_int
    lib.tp_group_cancel.argtypes = [group_p]
    lib.tp_group_cancel.restype = ctypes.c_int
    lib.tp_group_is_cancelled.argtypes = [group_p]
    lib.tp_group_is_cancelled.restype = ctypes.c_int
    lib.tp_group_destroy.argtypes = [group_p]
    lib.tp_group_destroy.restype = ctypes.c_int
    queue_p = ctypes.c_void_p
    lib.tp_queue_create.argtypes = [pool_p, ctypes.POINTER(queue_p)]
    lib.tp_queue_create.restype = ctypes.c_int
    lib.tp_queue_submit.argtypes = [queue_p, JOB_FN, ctypes.c_void_p]
    lib.tp_queue_submit.restype = ctypes.c_int
    lib.tp_queue_wait.argtypes = [queue_p]
    lib.tp_queue_wait.restype = ctypes.c_int
    lib.tp_queue_destroy.argtypes = [queue_p]
    lib.tp_queue_destroy.restype = ctypes.c_int
    return lib


def native_address(function):
    """The address of a C function: a ctypes foreign function, a CFUNCTYPE object, or an int."""
    if isinstance(function, int):
        return function
    address = ctypes.cast(function, ctypes.c_void_p).value
    if not address:
        raise TpError(ERR_INVALID_ARGUMENT, "TP_ERR_INVALID_ARGUMENT: not a C function")
    return address


def native_arg(arg):
    """A job's void * argument: None, an int address, or a ctypes object passed by reference."""
    if arg is None or isinstance(arg, int):
        return arg
    if isinstance(arg, ctypes.c_void_p):
        return arg.value
    return ctypes.cast(ctypes.pointer(arg), ctypes.c_void_p).value


def check(lib, status):
    """Raises TpError for anything but TP_OK."""
    if status != OK:
        raise TpError(status, lib.tp_status_string(status).decode())


_all_jobs = weakref.WeakSet()


class _Jobs:
    """Python jobs waiting to run: each travels through libtp as an id (the job's argument), and
    its callable, arguments and future stay here until a trampoline takes them out, to run them or,
    for a job of a cancelled group, to drop them (releasing every reference the job held)."""

    def __init__(self):
        self._jobs = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._unfinished = 0  # added and not yet run, dropped or taken back
        # Kept alive as long as this object: libtp calls them on its workers.
        self.run = JOB_FN(self._run)
        self.drop = JOB_FN(self._drop)
        _all_jobs.add(self)

    def add(self, function, args):
        future = concurrent.futures.Future()
        with self._lock:
            job_id = next(self._ids)
            self._jobs[job_id] = (function, args, future)
            self._unfinished += 1
        return job_id, future

    def take(self, job_id):
        with self._lock:
            return self._jobs.pop(job_id)

    def take_back(self, job_id):
        """A job libtp refused: it will never run."""
        self.take(job_id)
        self._done()

    def _done(self):
        with self._lock:
            self._unfinished -= 1
            if self._unfinished == 0:
                self._finished.notify_all()

    def wait_finished(self):
        with self._lock:
            while self._unfinished != 0:
                self._finished.wait()

    def _run(self, job_id):
        try:
            function, args, future = self.take(job_id)
            try:
                result = function(*args)
            except BaseException as error:  # noqa: B902 -- delivered to the caller, never lost
                future.set_exception(error)
            else:
                future.set_result(result)
        finally:
            self._done()

    def _drop(self, job_id):
        try:
            _, _, future = self.take(job_id)
            future.cancel()
        finally:
            self._done()


@atexit.register
def _wait_for_python_jobs():
    """At interpreter exit, before finalization: a worker that calls into Python after it began
    would be ended by the interpreter (pthread_exit) in the middle of libtp. So the exit waits for
    every Python job, notification and cancelled job still queued, as concurrent.futures' executors
    do; native jobs of the default pool are not waited for (tp.h: it is not drained at exit)."""
    for jobs in list(_all_jobs):
        jobs.wait_finished()


class _Closes:
    """A handle freed by its close(): usable as a context manager, and closed when collected."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 -- nothing to report to from a finalizer
            pass


class Pool(_Closes):
    """A libtp pool whose jobs are Python callables or C functions."""

    def __init__(self, workers, library=None, _handle=None):
        self._lib = load(library)
        self._library = library
        self._jobs = _Jobs()
        self._trampoline = self._jobs.run
        self._owned = _handle is None
        if _handle is None:
            _handle = ctypes.c_void_p()
            check(self._lib, self._lib.tp_pool_create(workers, ctypes.byref(_handle)))
        self._handle = _handle

    def submit(self, function, *args, priority=PRIORITY_NORMAL):
        """Runs function(*args) on a worker; returns a concurrent.futures.Future of its result.
        `priority`: PRIORITY_NORMAL, PRIORITY_HIGH or PRIORITY_LOW (tp_pool_execute_priority)."""
        job_id, future = self._jobs.add(function, args)
        status = self._lib.tp_pool_execute_priority(self._handle, self._trampoline, job_id,
                                                    priority)
        if status != OK:
            self._jobs.take_back(job_id)
            check(self._lib, status)
        return future

    def execute_native(self, function, arg=None, priority=PRIORITY_NORMAL):
        """Runs the C function `void function(void *arg)` on a worker, without the GIL. `arg`: an
        int address, None, or a ctypes object passed by reference (keep it alive until it ran)."""
        check(self._lib, self._lib.tp_pool_execute_priority(
            self._handle, JOB_FN(native_address(function)), native_arg(arg), priority))

    def parallel_for_native(self, begin, end, body, arg=None, grain=0):
        """Calls the C function `void body(size_t lo, size_t hi, void *arg)` on pieces covering
        [begin, end) in parallel, and returns when all ran. The GIL is released meanwhile."""
        check(self._lib, self._lib.tp_pool_parallel_for(self._handle, begin, end, grain,
                                                        RANGE_FN(native_address(body)),
                                                        native_arg(arg)))

    def group(self):
        """A new Group of jobs on this pool."""
        return Group(self)

    def serial_queue(self):
        """A new SerialQueue on this pool."""
        return SerialQueue(self)

    def execute(self, function, *args, priority=PRIORITY_NORMAL):
        """Runs function(*args) on a worker; an exception it raises is kept in the returned future."""
        return self.submit(function, *args, priority=priority)

    def wait_idle(self):
        check(self._lib, self._lib.tp_pool_wait_idle(self._handle))

    def shutdown(self):
        check(self._lib, self._lib.tp_pool_shutdown(self._handle))

    @property
    def workers(self):
        return self._lib.tp_pool_workers(self._handle)

    def close(self):
        """Runs every accepted job, stops the workers and frees the pool. Idempotent. Does nothing
        for the default pool, which lives as long as the process."""
        if self._handle is not None and self._owned:
            check(self._lib, self._lib.tp_pool_destroy(self._handle))
            self._handle = None


_default_pools = {}
_default_lock = threading.Lock()


def default_pool(library=None):
    """The process-wide pool (tp_pool_default), shared with every other user of libtp in the
    process (C and C++ libraries, Rust crates, other Python modules). The same Pool object for
    the process's life; close() does nothing on it. TP_NUM_THREADS sets its worker count."""
    with _default_lock:
        pool = _default_pools.get(library)
        if pool is None:
            lib = load(library)
            handle = ctypes.c_void_p()
            check(lib, lib.tp_pool_default(ctypes.byref(handle)))
            pool = Pool(0, library, _handle=handle)
            _default_pools[library] = pool
        return pool


class _OnPool(_Closes):
    """What a Group and a SerialQueue share: a handle on a pool that is freed by `_destroy`, which
    waits for the handle's jobs first."""

    _destroy = None  # the name of the library's destroy function

    def __init__(self, pool, create):
        self._pool = pool  # kept alive as long as the handle
        self._lib = pool._lib
        self._jobs = _Jobs()
        handle = ctypes.c_void_p()
        check(self._lib, getattr(self._lib, create)(pool._handle, ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        """Waits for the jobs and frees the handle. Idempotent."""
        if self._handle is not None:
            check(self._lib, getattr(self._lib, self._destroy)(self._handle))
            self._handle = None


class Group(_OnPool):
    """A tp_group: jobs (Python callables or C functions) spawned from any thread and waited for
    together, with notifications, cancellation and an asyncio wait."""

    _destroy = "tp_group_destroy"

    def __init__(self, pool):
        self._notifications = _Jobs()
        super().__init__(pool, "tp_group_create")

    def spawn(self, function, *args):
        """Runs function(*args) as a job of the group; returns a concurrent.futures.Future. If the
        group is cancelled before it starts, it never runs: its future is cancelled and the group
        lets go of function and args."""
        job_id, future = self._jobs.add(function, args)
        status = self._lib.tp_group_spawn_cancellable(self._handle, self._jobs.run,
                                                      self._jobs.drop, job_id)
        if status != OK:
            self._jobs.take_back(job_id)
            check(self._lib, status)
        return future

    def spawn_native(self, function, arg=None, on_cancel=None):
        """Runs the C function `void function(void *arg)` as a job of the group, without the GIL;
        if the group is cancelled first, the C function on_cancel(arg) runs instead (if given)."""
        cancel = JOB_FN(native_address(on_cancel)) if on_cancel is not None else JOB_FN()
        check(self._lib, self._lib.tp_group_spawn_cancellable(
            self._handle, JOB_FN(native_address(function)), cancel, native_arg(arg)))

    def wait(self):
        """Blocks (the GIL released) until every job spawned so far has run. Raises TpError with
        ERR_CANCELLED if the group was cancelled since the last wait (and clears the mark)."""
        check(self._lib, self._lib.tp_group_wait(self._handle))

    def wait_for(self, timeout):
        """As wait(), giving up after `timeout` seconds: True when done, False on timeout."""
        status = self._lib.tp_group_wait_for(self._handle, max(0, int(timeout * 1e9)))
        if status == ERR_TIMEOUT:
            return False
        check(self._lib, status)
        return True

    def notify(self, function, *args):
        """Runs function(*args) on a worker once the group has no unfinished job (at once if it
        has none). Never blocks. Returns a concurrent.futures.Future of its result."""
        job_id, future = self._notifications.add(function, args)
        status = self._lib.tp_group_notify(self._handle, self._notifications.run, job_id)
        if status != OK:
            self._notifications.take_back(job_id)
            check(self._lib, status)
        return future

    async def wait_async(self):
        """Awaits every job spawned so far without blocking the event loop: a notification from
        libtp wakes the loop (loop.call_soon_threadsafe), then a wait that returns at once gives
        the status. Raises TpError with ERR_CANCELLED as wait() does."""
        loop = asyncio.get_running_loop()
        while True:
            woken = loop.create_future()

            def wake(future=woken):
                loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

            self.notify(wake)
            await woken
            # Jobs spawned after the notification was due keep the group busy: wait for those too.
            status = self._lib.tp_group_wait_for(self._handle, 0)
            if status != ERR_TIMEOUT:
                check(self._lib, status)
                return

    def cancel(self):
        """Jobs not started yet are dropped (their futures cancelled), until the next wait."""
        check(self._lib, self._lib.tp_group_cancel(self._handle))

    @property
    def cancelled(self):
        return self._lib.tp_group_is_cancelled(self._handle) == 1


class SerialQueue(_OnPool):
    """A tp_queue: jobs (Python callables or C functions) that run one at a time, in the order
    they were submitted, on whichever worker is free. Different queues run in parallel."""

    _destroy = "tp_queue_destroy"

    def __init__(self, pool):
        super().__init__(pool, "tp_queue_create")

    def submit(self, function, *args):
        """Runs function(*args) after every job submitted to the queue before it; returns a
        concurrent.futures.Future of its result."""
        job_id, future = self._jobs.add(function, args)
        status = self._lib.tp_queue_submit(self._handle, self._jobs.run, job_id)
        if status != OK:
            self._jobs.take_back(job_id)
            check(self._lib, status)
        return future

    def submit_native(self, function, arg=None):
        """Queues the C function `void function(void *arg)`, run without the GIL."""
        check(self._lib, self._lib.tp_queue_submit(self._handle, JOB_FN(native_address(function)),
                                                   native_arg(arg)))

    def wait(self):
        """Blocks (the GIL released) until every job submitted so far has run."""
        check(self._lib, self._lib.tp_queue_wait(self._handle))
