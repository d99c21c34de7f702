"""libtp from Python, through ctypes: a small module to copy into your project.

    import tp
    with tp.Pool(4) as pool:                      # tp.Pool(workers, library=None)
        future = pool.submit(sum, range(10))      # a concurrent.futures.Future
        pool.execute(print, "hello from a worker")
        print(future.result())                    # 45
    # leaving the block destroys the pool: every accepted job has run

The library is found from the `library` argument, the TP_LIBRARY environment variable, or the
system's search path (libtp.so.0). Errors raise tp.TpError, whose `.status` is the tp_status value
and `.name` its TP_ERR_* name. Jobs run on the pool's worker threads; ctypes takes the GIL for
each call into Python, so CPU-bound Python code does not run in parallel, but jobs that release
the GIL (I/O, numpy, C extensions) do.
"""

import concurrent.futures
import ctypes
import ctypes.util
import itertools
import os
import threading

OK = 0
ERR_ZERO_WORKERS = -1
ERR_SHUTDOWN = -2
ERR_INVALID_ARGUMENT = -3
ERR_OUT_OF_MEMORY = -4
ERR_THREAD_START = -5
ERR_TOPOLOGY = -6
ERR_WOULD_DEADLOCK = -7

JOB_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


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
    lib.tp_pool_wait_idle.argtypes = [pool_p]
    lib.tp_pool_wait_idle.restype = ctypes.c_int
    lib.tp_pool_shutdown.argtypes = [pool_p]
    lib.tp_pool_shutdown.restype = ctypes.c_int
    lib.tp_pool_destroy.argtypes = [pool_p]
    lib.tp_pool_destroy.restype = ctypes.c_int
    lib.tp_pool_workers.argtypes = [pool_p]
    lib.tp_pool_workers.restype = ctypes.c_size_t
    return lib


def check(lib, status):
    """Raises TpError for anything but TP_OK."""
    if status != OK:
        raise TpError(status, lib.tp_status_string(status).decode())


class Pool:
    """A libtp pool whose jobs are Python callables."""

    def __init__(self, workers, library=None):
        self._lib = load(library)
        self._jobs = {}  # id -> (callable, args, future); ids travel as the job's argument
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # One trampoline for all jobs, kept alive with the pool: libtp calls it on its workers.
        self._trampoline = JOB_FN(self._run)
        handle = ctypes.c_void_p()
        check(self._lib, self._lib.tp_pool_create(workers, ctypes.byref(handle)))
        self._handle = handle

    def _run(self, job_id):
        with self._lock:
            function, args, future = self._jobs.pop(job_id)
        try:
            result = function(*args)
        except BaseException as error:  # noqa: B902 -- delivered to the caller, never lost
            future.set_exception(error)
        else:
            future.set_result(result)

    def submit(self, function, *args):
        """Runs function(*args) on a worker; returns a concurrent.futures.Future of its result."""
        future = concurrent.futures.Future()
        with self._lock:
            job_id = next(self._ids)
            self._jobs[job_id] = (function, args, future)
        status = self._lib.tp_pool_execute(self._handle, self._trampoline, job_id)
        if status != OK:
            with self._lock:
                del self._jobs[job_id]
            check(self._lib, status)
        return future

    def execute(self, function, *args):
        """Runs function(*args) on a worker; an exception it raises is kept in the returned future."""
        return self.submit(function, *args)

    def wait_idle(self):
        check(self._lib, self._lib.tp_pool_wait_idle(self._handle))

    def shutdown(self):
        check(self._lib, self._lib.tp_pool_shutdown(self._handle))

    @property
    def workers(self):
        return self._lib.tp_pool_workers(self._handle)

    def close(self):
        """Runs every accepted job, stops the workers and frees the pool. Idempotent."""
        if self._handle is not None:
            check(self._lib, self._lib.tp_pool_destroy(self._handle))
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 -- nothing to report to from a finalizer
            pass
