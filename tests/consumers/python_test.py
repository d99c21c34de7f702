"""The Python consumer: examples/python/tp.py over the installed libtp.so, through ctypes.

Usage: python_test.py PATH_TO_LIBTP_SO EXAMPLES_PYTHON_DIR
"""

import ctypes
import sys
import threading

library, module_dir = sys.argv[1], sys.argv[2]
sys.path.insert(0, module_dir)
import tp  # noqa: E402 -- the module under test, from the examples folder

failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED:", what)


# Zero workers.
try:
    tp.Pool(0, library)
    expect(False, "Pool(0) should raise")
except tp.TpError as error:
    expect(error.status == tp.ERR_ZERO_WORKERS and error.name == "TP_ERR_ZERO_WORKERS", "Pool(0)")

main_thread = threading.get_ident()
with tp.Pool(4, library) as pool:
    expect(pool.workers == 4, "workers")
    # The seed's 8 jobs, each reporting the thread it ran on.
    futures = [pool.submit(lambda i=i: (i * i, threading.get_ident())) for i in range(8)]
    results = [future.result(timeout=60) for future in futures]
    expect([square for square, _ in results] == [i * i for i in range(8)], "results")
    expect(all(thread != main_thread for _, thread in results), "jobs ran on worker threads")
    # An exception in a job reaches the caller through its future.
    failing = pool.submit(lambda: 1 / 0)
    try:
        failing.result(timeout=60)
        expect(False, "the job's ZeroDivisionError should reach the caller")
    except ZeroDivisionError:
        pass
    pool.wait_idle()

    # NULL pool and NULL function, straight through the C ABI.
    lib = tp.load(library)
    expect(lib.tp_pool_execute(None, pool._trampoline, None) == tp.ERR_INVALID_ARGUMENT, "NULL pool")
    expect(lib.tp_pool_execute(pool._handle, tp.JOB_FN(), None) == tp.ERR_INVALID_ARGUMENT,
           "NULL function")
    expect(lib.tp_pool_create(2, None) == tp.ERR_INVALID_ARGUMENT, "NULL out")
    expect(lib.tp_pool_destroy(None) == tp.OK, "destroy(NULL)")

    # After shutdown.
    pool.shutdown()
    try:
        pool.submit(print, "never")
        expect(False, "submit after shutdown should raise")
    except tp.TpError as error:
        expect(error.status == tp.ERR_SHUTDOWN, "after shutdown: TP_ERR_SHUTDOWN")

print("python consumer:", "ok" if not failures else "%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
