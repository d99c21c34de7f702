#!/usr/bin/env python3
"""Paired comparison of two builds of libtp with a benchmark that uses only the C ABI (group_bench,
scheduler_bench): runs BINARY alternately with this build's library and with OLD_LIB_DIR's
(LD_LIBRARY_PATH), N pairs, and prints for each table row the median of old/new over the pairs
(above 1, the new build is faster) with each side's median. Rows are the markdown lines
"| label | number unit | ..." the binary prints; the first number is compared.

    pair_compare.py build/release/benchmarks/group_bench /tmp/old/build/release [--pairs 12] [args]
"""

import argparse
import os
import re
import statistics
import subprocess

ROW = re.compile(r"^\| ([^|]+) \| ([0-9.]+) ")


def run(binary, args, library_dir=None):
    env = dict(os.environ)
    if library_dir:
        env["LD_LIBRARY_PATH"] = library_dir
    output = subprocess.run([binary] + args, env=env, check=True, capture_output=True, text=True)
    return {m.group(1): float(m.group(2)) for m in map(ROW.match, output.stdout.splitlines()) if m}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("old_lib_dir")
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("args", nargs="*")
    options, extra = parser.parse_known_args()
    options.args = options.args + [a for a in extra if a != "--"]
    pairs = []
    for i in range(options.pairs):  # the order alternates, so that drift hits both sides alike
        if i % 2 == 0:
            new = run(options.binary, options.args)
            old = run(options.binary, options.args, options.old_lib_dir)
        else:
            old = run(options.binary, options.args, options.old_lib_dir)
            new = run(options.binary, options.args)
        pairs.append((new, old))
    print("| row | new (median) | old (median) | old/new, paired median |\n|---|---|---|---|")
    for label in pairs[0][0]:
        both = [(new[label], old[label]) for new, old in pairs if label in new and label in old]
        if not both:
            continue
        print("| %s | %.1f | %.1f | %.3f |" % (
            label, statistics.median(n for n, _ in both), statistics.median(o for _, o in both),
            statistics.median(o / n for n, o in both if n > 0)))


if __name__ == "__main__":
    main()
