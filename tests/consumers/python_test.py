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

# ---- 0.2: the default pool, native code, groups, cancellation, asyncio ----
import asyncio  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import weakref  # noqa: E402

shared = tp.default_pool(library)
expect(shared is tp.default_pool(library), "default_pool() is one object")
lib = tp.load(library)
expect(shared.workers == lib.tp_default_workers() or "TP_NUM_THREADS" in os.environ,
       "default pool: tp_default_workers() workers")
shared.close()  # does nothing: the default pool lives as long as the process
expect(shared.submit(lambda: 6 * 7).result(timeout=60) == 42, "default pool runs jobs after close()")

# Native code: a C kernel compiled here, run serially and through the pool.
KERNEL = r"""
#include <stddef.h>
void kernel(size_t lo, size_t hi, void *arg) {
  double *out = arg;
  for (size_t i = lo; i < hi; ++i) {
    double x = (double)i;
    for (int k = 1; k <= 4000; ++k) x = x * 0.9999 + 1.0 / k;
    out[i] = x;
  }
}
void count(void *arg) { __atomic_fetch_add((long *)arg, 1, __ATOMIC_SEQ_CST); }
void count_cancelled(void *arg) { __atomic_fetch_add((long *)arg + 1, 1, __ATOMIC_SEQ_CST); }
"""
with tempfile.TemporaryDirectory() as build:
    source, shared_object = os.path.join(build, "kernel.c"), os.path.join(build, "libkernel.so")
    with open(source, "w") as f:
        f.write(KERNEL)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", shared_object, source], check=True)
    kernel = ctypes.CDLL(shared_object)
    kernel.kernel.argtypes = [ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    n = 20000
    serial, parallel = (ctypes.c_double * n)(), (ctypes.c_double * n)()
    start = time.perf_counter()
    kernel.kernel(0, n, ctypes.cast(serial, ctypes.c_void_p))
    serial_time = time.perf_counter() - start
    start = time.perf_counter()
    shared.parallel_for_native(0, n, kernel.kernel, parallel)
    parallel_time = time.perf_counter() - start
    expect(list(serial) == list(parallel), "parallel_for_native computes what the serial loop does")
    print("native kernel, %d indices: serial %.1f ms, %d workers %.1f ms, speedup %.2fx"
          % (n, serial_time * 1e3, shared.workers, parallel_time * 1e3, serial_time / parallel_time))

    counters = (ctypes.c_long * 2)()
    with shared.group() as group:
        for _ in range(1000):
            group.spawn_native(kernel.count, counters)
        shared.execute_native(kernel.count, counters)
        group.wait()
        expect(counters[0] >= 1000, "spawn_native: every C job ran")
    shared.wait_idle()
    expect(counters[0] == 1001, "spawn_native and execute_native: each C job ran once")

    # Native jobs of a cancelled group run their on_cancel instead.
    with tp.Pool(1, library) as one:
        gate = threading.Event()
        held = one.submit(gate.wait)
        counters[0] = counters[1] = 0
        group = one.group()
        for _ in range(10):
            group.spawn_native(kernel.count, counters, on_cancel=kernel.count_cancelled)
        group.cancel()
        gate.set()
        try:
            group.wait()
            expect(False, "a wait after cancel should raise TP_ERR_CANCELLED")
        except tp.TpError as error:
            expect(error.status == tp.ERR_CANCELLED, "wait after cancel: TP_ERR_CANCELLED")
        expect(counters[0] == 0 and counters[1] == 10, "native on_cancel ran for every job")
        group.close()

# Cancellation lets go of the Python objects of skipped jobs.
class Payload:
    def work(self):
        return "ran"


with tp.Pool(1, library) as one:
    gate, started = threading.Event(), threading.Event()
    with one.group() as group:
        blocker = group.spawn(lambda: started.set() or gate.wait())
        started.wait()  # the only worker is held by a job that has started: it is not skipped
        payloads = [Payload() for _ in range(10)]
        refs = [weakref.ref(p) for p in payloads]
        futures = [group.spawn(p.work) for p in payloads]
        del payloads
        group.cancel()
        expect(group.cancelled, "cancelled")
        gate.set()
        try:
            group.wait()
            expect(False, "wait after cancel should raise")
        except tp.TpError as error:
            expect(error.status == tp.ERR_CANCELLED, "TP_ERR_CANCELLED")
        expect(not group.cancelled, "the wait cleared the mark")
        gc.collect()
        expect(all(ref() is None for ref in refs), "skipped jobs released their Python objects")
        expect(all(f.cancelled() for f in futures), "skipped jobs' futures are cancelled")
        expect(blocker.result(timeout=60) is True, "the running job finished")
        expect(group.notify(lambda: 7).result(timeout=60) == 7, "notify on an empty group")
        expect(group.wait_for(0.0), "wait_for on an empty group")

# asyncio: the event loop keeps running while the group's jobs run.
async def asyncio_check():
    group = shared.group()
    for _ in range(4):
        group.spawn(time.sleep, 0.05)
    ticks = 0
    done = False

    async def ticker():
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.ensure_future(ticker())
    await group.wait_async()
    done = True
    await ticking
    expect(ticks >= 2, "the event loop ran while wait_async() waited (ticks: %d)" % ticks)
    group.cancel()
    group.spawn(print, "never")
    try:
        await group.wait_async()
        expect(False, "wait_async after cancel should raise")
    except tp.TpError as error:
        expect(error.status == tp.ERR_CANCELLED, "wait_async: TP_ERR_CANCELLED")
    group.close()


asyncio.run(asyncio_check())

# ---- 0.3: serial queues ----
with tp.Pool(2, library) as pool:
    with pool.serial_queue() as queue:
        seen = []  # no lock: the queue runs one job at a time
        inside = [0]
        overlaps = [0]

        def record(value):
            inside[0] += 1
            if inside[0] != 1:
                overlaps[0] += 1
            seen.append(value)
            inside[0] -= 1
            return value

        futures = [queue.submit(record, i) for i in range(500)]
        queue.wait()
        expect(seen == list(range(500)), "a serial queue runs its jobs in submission order")
        expect(overlaps[0] == 0, "never two jobs of a queue at once")
        expect(futures[-1].result(timeout=60) == 499, "a queue job's result")
        failing = queue.submit(lambda: 1 / 0)
        after = queue.submit(record, -1)
        expect(after.result(timeout=60) == -1, "the queue goes on after an exception")
        expect(isinstance(failing.exception(timeout=60), ZeroDivisionError),
               "a queue job's exception arrives through its future")

# ---- 0.3: priorities ----
with tp.Pool(1, library) as pool:
    held, release = threading.Event(), threading.Event()
    order = []  # one worker: one job at a time

    def hold():
        held.set()
        release.wait(60)

    pool.submit(hold)
    held.wait(60)
    pool.submit(order.append, "L", priority=tp.PRIORITY_LOW)
    pool.submit(order.append, "N")
    pool.submit(order.append, "H", priority=tp.PRIORITY_HIGH)
    release.set()
    pool.wait_idle()
    expect(order == ["H", "N", "L"], "a held worker takes high, then normal, then low jobs")
    try:
        pool.submit(print, priority=7)
        expect(False, "submit(priority=7) should raise")
    except tp.TpError as error:
        expect(error.status == tp.ERR_INVALID_ARGUMENT, "a priority that is not one: invalid")

print("python consumer:", "ok" if not failures else "%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
