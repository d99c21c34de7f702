#!/usr/bin/env python3
"""What tracing costs when it is on: runs tp's rows of peers_bench with TP_TRACE set and without,
alternately (the order swaps every pair, so that drift hits both sides alike), and prints per row
the median time off, the median time on and the median of on/off over the pairs. The traces the
pools write go to a scratch folder and are deleted after each run.

    trace_cost.py build/release/benchmarks/peers_bench [--pairs 7]

The cost with tracing off is measured the other way, against the library before tracing:
report.py --compare (see report.py).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile

GROUPS = "^(A_trivial|C_burst|D_throughput_1p|E_fib|H_parallel_for|I_skynet)/tp/"


def run(binary, trace_prefix):
    env = dict(os.environ)
    env.pop("TP_TRACE", None)
    if trace_prefix:
        env["TP_TRACE"] = trace_prefix
    output = subprocess.run([binary, "--benchmark_format=json", "--benchmark_filter=" + GROUPS],
                            env=env, check=True, capture_output=True, text=True).stdout
    return {b["name"]: b["real_time"] for b in json.loads(output)["benchmarks"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="tp_trace_cost.")
    off, on, ratios = {}, {}, {}
    try:
        for i in range(args.pairs):
            sides = [False, True] if i % 2 == 0 else [True, False]
            results = {}
            for traced in sides:
                results[traced] = run(args.binary, os.path.join(scratch, "t") if traced else None)
                for name in os.listdir(scratch):
                    os.remove(os.path.join(scratch, name))
            for name, time_off in results[False].items():
                off.setdefault(name, []).append(time_off)
                on.setdefault(name, []).append(results[True][name])
                ratios.setdefault(name, []).append(results[True][name] / time_off)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| benchmark | off (median) | on (median) | on/off (median of pairs) |")
    print("|---|---|---|---|")
    for name in off:
        print("| %s | %.4g | %.4g | %.3f |" % (name, statistics.median(off[name]),
                                               statistics.median(on[name]),
                                               statistics.median(ratios[name])))


if __name__ == "__main__":
    main()
