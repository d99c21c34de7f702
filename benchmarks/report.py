#!/usr/bin/env python3
"""Runs peers_bench several times, interleaved, and writes the comparison a person wants to read.

Each run goes through every group and every peer once, so machine drift during the report hits all
peers alike; the statistics are over runs. Prints a markdown table (median, min-max, each peer's
ratio to tp, and the paired ratio: tp's row is 1.00, above 1 the peer is slower or burns more) and
writes it with the machine's description to OUT/results.md, and a chart of the paired ratios to
OUT/results.svg (gnuplot). The paired ratio is the median over runs of peer/tp within one run: a
machine whose speed drifts between runs (shared VMs do) moves both numbers of a pair together.

    report.py --binary build/release/benchmarks/peers_bench --out benchmarks [--runs 5] [--quick]

With --scaling 1,2,4,8,16, the groups that scale (C, D_1p, E, H, I) run for tp, oneTBB and rayon
at each worker count (TP_BENCH_WORKERS), and OUT/scaling.md and scaling.svg give each peer's
speedup over one worker; --pin-none leaves tp's workers unpinned (oversubscribed runs).

With --compare OLD_LIB_DIR (the build folder of an earlier commit, holding its libtp.so.0), only
tp's rows run, group by group: with this build's library, and right after (or before: the order
alternates between runs) with the earlier one, as the peer `tp@base` (same benchmark binary,
LD_LIBRARY_PATH). Its paired ratio is the before/after comparison of a change to the library, each
pair measured within seconds (above 1, the change made tp faster). The same binary, so that the
comparison is not blurred by where the compiler happened to place the benchmark's own loops.

A program run that takes longer than --run-timeout seconds (300) is killed and run again, and
results.md lists it (a scaling run says so on stderr only); a second hang in a row skips a peer's
program, or ends the report with an error if it is peers_bench.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

# For each group: which number is compared, its unit, and what it means.
METRIC_NOTES = {
    "A_trivial": "round trip of one no-op job",
    "B_cpu_bound": "round trip of one job computing sum(i*i, i < 10000)",
    "C_burst": "1,000 no-op jobs, then wait for all (tp_batch: one tp_pool_execute_batch call)",
    "D_throughput_1p": "2,000,000 no-op jobs from 1 outside thread, time for all (tp_batch: batches of 1,000)",
    "D_throughput_4p": "2,000,000 no-op jobs from 4 outside threads (time for all)",
    "E_fib": "fib(30), a fork at every level",
    "F_wake": "submit-to-start latency after 20 ms idle",
    "G_idle_cpu": "CPU burnt during 1 s idle after a burst (% of one core)",
    "H_parallel_for": "dot product of two 10,000,000-element vectors",
    "I_skynet": "tree of 10^6 leaves, 10 children per node",
    "J_serial": "100,000 jobs through one serial queue from one outside thread, then wait (asio: "
                "a strand on Boost.Asio's thread_pool; mutex_queue: a mutex-protected queue drained "
                "by a job of the tp pool)",
    "K_serial_handoff": "round trip of one job through an idle serial queue",
    "L_priority": "submit-to-start latency of one job behind a flood of 4,000 normal jobs of about "
                  "1 us (tp: the job at TP_PRIORITY_HIGH; tp_no_priority: the same flood, the job "
                  "at normal priority)",
    "Z_alloc": "allocations per job on tp's hot paths (must be 0)",
}
PEERS = ["tp", "tp_batch", "tp_no_priority", "tbb", "tbb_default", "rayon", "omp", "asio", "mutex_queue", "naive",
         "spawn", "serial"]


def parse(results, samples, suffix=""):
    for bench in results["benchmarks"]:
        if bench.get("error_occurred"):
            print("error in %s: %s" % (bench["name"], bench.get("error_message")), file=sys.stderr)
            continue
        parts = bench["name"].split("/")
        group, peer = parts[0], parts[1]
        if group == "G_idle_cpu":
            value, unit = bench["cpu_pct"], "% core"
        elif group == "Z_alloc":
            value, unit = bench["allocs_per_job"], "allocs/job"
            peer = "tp " + peer
        else:
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[bench["time_unit"]]
            value, unit = bench["real_time"] * scale, "us"
        peer += suffix
        samples.setdefault((group, peer), {"unit": unit, "values": []})["values"].append(value)


# Each program run is killed if it takes longer than this (--run-timeout), then run once more; a
# second hang ends the report with an error. One run of every group takes about a minute on 2 cores.
# Why: a round trip's waiter (std::atomic::wait in peers_bench's Flag) was seen asleep in the kernel
# on a flag that read set, 3 times in about 750 runs of A_trivial/B_cpu_bound on this project's
# VM (libstdc++ 12; tp's workers parked, the job run); attaching a debugger let it finish. Without a
# limit such a run stalls a report, or CI's bench-quick, for good.
run_timeout_s = 300
hung_runs = []  # "program (filter)" for each run that was killed, for results.md


class Hung(Exception):
    """A program hung twice in a row: a peer's program is then skipped, peers_bench ends the
    report."""


def run_binary(binary, quick, benchmark_filter=None, library=None):
    what = "%s%s" % (os.path.basename(binary), " (%s)" % benchmark_filter if benchmark_filter else "")
    for attempt in (1, 2):
        try:
            return run_binary_once(binary, quick, benchmark_filter, library)
        except subprocess.TimeoutExpired:
            hung_runs.append(what)
            print("%s did not finish in %d s: killed%s" % (
                what, run_timeout_s, ", running it again" if attempt == 1 else ""),
                file=sys.stderr, flush=True)
    raise Hung("%s hung twice in a row" % what)


def run_binary_once(binary, quick, benchmark_filter, library):
    command = [binary, "--benchmark_format=json"]
    env = dict(os.environ)
    if benchmark_filter:
        command.append("--benchmark_filter=" + benchmark_filter)
    if library:
        env["LD_LIBRARY_PATH"] = os.path.abspath(library)
    if quick:
        command += ["--quick", "--benchmark_min_time=0.05"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env,
                            timeout=run_timeout_s).stdout
    return json.loads(output)


def run(binary, runs, quick, peers=()):
    """Each run goes through peers_bench, then through every other peer's program (rayon's), which
    prints the same JSON. A peer whose program is missing or fails is skipped with a line."""
    samples = {}
    context = None
    usable = []
    for peer in peers:
        if os.access(peer, os.X_OK):
            usable.append(peer)
        else:
            print("peer %s: not built (no cargo or crate?): skipped" % peer, file=sys.stderr)
    for index in range(runs):
        print("run %d of %d ..." % (index + 1, runs), file=sys.stderr, flush=True)
        results = run_binary(binary, quick)
        context = context or results["context"]
        parse(results, samples)
        for peer in list(usable):
            try:
                parse(run_binary(peer, quick), samples)
            except (subprocess.CalledProcessError, ValueError, KeyError, Hung) as error:
                print("peer %s failed (%s): skipped" % (peer, error), file=sys.stderr)
                usable.remove(peer)
    return samples, context


def run_compare(binary, runs, quick, library):
    """tp's rows only, with this build's library and with the one in `library`, one group at a
    time and back to back, so that both sides of each pair see the same minute of the machine."""
    names = subprocess.run([binary, "--benchmark_list_tests"], check=True, capture_output=True,
                           text=True).stdout.split()
    groups = []
    for name in names:
        group, peer = name.split("/")[:2]
        if (peer in ("tp", "tp_batch") or group == "Z_alloc") and group not in groups:
            groups.append(group)
    samples = {}
    context = None
    for index in range(runs):
        print("run %d of %d ..." % (index + 1, runs), file=sys.stderr, flush=True)
        for group in groups:
            only = "^%s/%s" % (group, "" if group == "Z_alloc" else "tp(_batch)?/")
            sides = [(None, ""), (library, "@base")]
            if index % 2 == 1:
                sides.reverse()  # neither side always goes first
            for side_library, suffix in sides:
                results = run_binary(binary, quick, only, side_library)
                context = context or results["context"]
                parse(results, samples, suffix)
    return samples, context


def human(value, unit):
    if unit == "us":
        if value >= 1000:
            return "%.2f ms" % (value / 1000)
        return "%.2f us" % value
    if unit == "% core":
        return "%.3f%%" % value
    return "%g %s" % (value, unit)


def table(samples):
    groups = sorted({group for group, _ in samples})
    lines = ["| group | peer | median | min - max | ratio to tp | paired ratio |",
             "|---|---|---|---|---|---|"]
    ratios = {}
    for group in groups:
        def order(peer):
            base = peer.split("@")[0]
            return (PEERS.index(base) if base in PEERS else len(PEERS), peer)
        peers = sorted((peer for g, peer in samples if g == group), key=order)
        tp = samples.get((group, "tp"))
        tp_median = statistics.median(tp["values"]) if tp else None
        for peer in peers:
            entry = samples[(group, peer)]
            values, unit = entry["values"], entry["unit"]
            median = statistics.median(values)
            ratio_text = paired_text = "-"
            if tp_median:
                ratio_text = "%.2f" % (median / tp_median)
            if tp and len(tp["values"]) == len(values) and all(tp["values"]):
                paired = statistics.median(v / t for v, t in zip(values, tp["values"]))
                ratios[(group, peer)] = paired
                paired_text = "%.2f" % paired
            lines.append("| %s | %s | %s | %s - %s | %s | %s |" % (
                group, peer, human(median, unit), human(min(values), unit),
                human(max(values), unit), ratio_text, paired_text))
    return "\n".join(lines), ratios


def chart(ratios, path):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("gnuplot not found (Debian: gnuplot-nox): no chart", file=sys.stderr)
        return False
    groups = sorted({group for group, _ in ratios})
    peers = [p for p in PEERS if p != "tp" and any((g, p) in ratios for g in groups)]
    data_path = path + ".dat"
    with open(data_path, "w") as data:
        data.write("group " + " ".join(peers) + "\n")
        for group in groups:
            row = ["%.4f" % ratios[(group, p)] if (group, p) in ratios else "NaN" for p in peers]
            data.write(group + " " + " ".join(row) + "\n")
    script = """
set terminal svg size 1100,520 dynamic background rgb 'white' font 'sans,11' noenhanced
set bmargin 7
set output '%s'
set title "Each peer's time (or CPU) relative to tp, median of per-run ratios: above 1, tp is ahead"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.01:1000]
set ylabel 'peer / tp (log scale)'
set grid ytics
set xtics rotate by -30 offset -1,-1
set key outside right
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb 'black'
plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)
""" % (path, len(peers) + 1, data_path)
    subprocess.run([gnuplot], input=script, text=True, check=True)
    os.remove(data_path)
    return True


def describe(context, runs, quick):
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout
    compiler = compiler.splitlines()[0] if compiler else "unknown compiler"
    return "\n".join([
        "- Machine: %s, %d CPUs, %s" % (model, context.get("num_cpus", 0), platform.platform()),
        "- Workers: %s for every pool (TP_BENCH_WORKERS)" % context.get("workers", "?"),
        "- Compiler: %s, CMake Release (-O3 -DNDEBUG)" % compiler,
        "- Runs: %d, each going once through every group and peer (interleaved); the table shows "
        "the median over runs, and the min and max%s" % (runs, "; --quick sizes" if quick else ""),
        "- Ratio to tp: the peer's median over tp's median. Paired ratio: the median over runs of the "
        "peer's result over tp's in the same run (robust to the machine's speed drifting between "
        "runs). Above 1, tp is ahead.",
    ] + (["- Runs killed after %d s and run again: %s" % (run_timeout_s, ", ".join(hung_runs))]
         if hung_runs else []))


SCALING_GROUPS = ["C_burst", "D_throughput_1p", "E_fib", "H_parallel_for", "I_skynet"]
SCALING_PEERS = ["tp", "tbb", "rayon"]


def run_scaling(binary, peers, counts, runs, quick, pin_none):
    """The groups that scale, at each worker count (TP_BENCH_WORKERS for every peer): the median
    time over `runs`, and the speedup over the same peer with one worker."""
    only = "^(%s)/(%s)/" % ("|".join(SCALING_GROUPS), "|".join(p for p in SCALING_PEERS
                                                                  if p != "rayon"))
    times = {}  # (group, peer) -> {workers: [values]}
    context = None
    for workers in counts:
        os.environ["TP_BENCH_WORKERS"] = str(workers)
        if pin_none:
            os.environ["TP_BENCH_PIN"] = "none"
        for index in range(runs):
            print("%d workers, run %d of %d ..." % (workers, index + 1, runs), file=sys.stderr,
                  flush=True)
            samples = {}
            results = run_binary(binary, quick, only)
            context = context or results["context"]
            parse(results, samples)
            for peer in peers:
                if os.access(peer, os.X_OK):
                    try:
                        parse(run_binary(peer, quick), samples)
                    except (subprocess.CalledProcessError, ValueError, KeyError, Hung) as error:
                        print("peer %s failed (%s)" % (peer, error), file=sys.stderr)
            for (group, peer), entry in samples.items():
                if group in SCALING_GROUPS and peer in SCALING_PEERS:
                    times.setdefault((group, peer), {}).setdefault(workers, []).extend(
                        entry["values"])
    return times, context


def scaling_report(times, counts, out, command, pin_none):
    lines = ["| group | peer | " + " | ".join("%d w" % c for c in counts) + " |",
             "|---|---|" + "---|" * len(counts)]
    data_rows = []
    for group in SCALING_GROUPS:
        for peer in SCALING_PEERS:
            series = times.get((group, peer))
            if not series or counts[0] not in series:
                continue
            base = statistics.median(series[counts[0]])
            cells = []
            for c in counts:
                if c in series:
                    median = statistics.median(series[c])
                    cells.append("%s (%.2fx)" % (human(median, "us"), base / median))
                    data_rows.append((group, peer, c, base / median))
                else:
                    cells.append("-")
            lines.append("| %s | %s | %s |" % (group, peer, " | ".join(cells)))
    text = "\n".join(lines)
    report = "\n\n".join([
        "# libtp against its peers, by worker count", "Command: `%s`" % command,
        "Each cell: the median time, and in brackets the speedup over the same peer with %d "
        "worker(s) (above 1, faster). %s" % (
            counts[0], "tp's workers unpinned (TP_PIN_NONE)." if pin_none else ""),
        text, "![speedup](scaling.svg)"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "scaling.md"), "w") as handle:
        handle.write(report + "\n")
    with open(os.path.join(out, "scaling.json"), "w") as handle:
        json.dump({"counts": counts, "times": {"|".join(k): v for k, v in times.items()}}, handle,
                  indent=1)
    gnuplot = shutil.which("gnuplot")
    if gnuplot and data_rows:
        script = ["set terminal svg size 1200,700 dynamic background rgb 'white' font 'sans,10'",
                  "set output '%s'" % os.path.join(out, "scaling.svg"),
                  "set multiplot layout 2,3 title 'speedup over 1 worker (higher is better)'",
                  "set logscale x 2", "set xlabel 'workers'", "set key left top"]
        for group in SCALING_GROUPS:
            plots = []
            for peer in SCALING_PEERS:
                points = [(c, s) for g, p, c, s in data_rows if g == group and p == peer]
                if points:
                    plots.append((peer, points))
            if not plots:
                continue
            script.append("set title '%s'" % group)
            script.append("plot " + ", ".join(
                "'-' using 1:2 with linespoints title '%s'" % peer for peer, _ in plots))
            for _, points in plots:
                script.extend("%d %.4f" % point for point in points)
                script.append("e")
        script.append("unset multiplot")
        subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True, check=True)
    print(report)


def main():
    global run_timeout_s
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: under a minute")
    parser.add_argument("--from-samples", help="rebuild the table and chart from a results.json")
    parser.add_argument("--peer", action="append", default=[],
                        help="another peer's program printing Google Benchmark JSON (rayon's)")
    parser.add_argument("--compare", help="an earlier build folder: tp rows with its libtp.so.0 "
                        "run as tp@base")
    parser.add_argument("--scaling", help="worker counts, e.g. 1,2,4,8,16: the groups that scale "
                        "at each, speedup curves in OUT/scaling.{md,svg}")
    parser.add_argument("--pin-none", action="store_true",
                        help="with --scaling: tp's workers unpinned (oversubscribed runs)")
    parser.add_argument("--run-timeout", type=int, default=run_timeout_s,
                        help="seconds one program run may take before it is killed and run again")
    args = parser.parse_args()
    run_timeout_s = args.run_timeout
    if args.scaling:
        counts = [int(c) for c in args.scaling.split(",")]
        runs = args.runs or 3
        times, _ = run_scaling(args.binary, args.peer, counts, runs, args.quick, args.pin_none)
        command = "python3 benchmarks/report.py --binary %s%s --out %s --runs %d --scaling %s%s%s" % (
            args.binary, "".join(" --peer %s" % p for p in args.peer), args.out, runs,
            args.scaling, " --pin-none" if args.pin_none else "", " --quick" if args.quick else "")
        scaling_report(times, counts, args.out, command, args.pin_none)
        return
    runs = args.runs or (1 if args.quick else 5)
    if args.from_samples:
        with open(args.from_samples) as saved:
            data = json.load(saved)
        samples = {tuple(key.split("|")): value for key, value in data["samples"].items()}
        context, runs = data["context"], data["runs"]
    elif args.compare:
        samples, context = run_compare(args.binary, runs, args.quick, args.compare)
    else:
        samples, context = run(args.binary, runs, args.quick, args.peer)
    text, ratios = table(samples)
    notes = "\n".join("- `%s`: %s" % (g, n) for g, n in METRIC_NOTES.items())
    command = "python3 benchmarks/report.py --binary %s%s --out %s --runs %d%s%s" % (
        args.binary, "".join(" --peer %s" % p for p in args.peer), args.out, runs,
        " --quick" if args.quick else "", " --compare %s" % args.compare if args.compare else "")
    report = "\n\n".join([
        "# libtp against its peers", "Command: `%s`" % command, describe(context, runs, args.quick),
        text, "What each group measures:\n" + notes,
        "![ratios to tp](results.svg)"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as out:
        json.dump({"context": context, "runs": runs,
                   "samples": {"|".join(key): value for key, value in samples.items()}},
                  out, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as out:
        out.write(report + "\n")
    chart(ratios, os.path.join(args.out, "results.svg"))
    print(report)


if __name__ == "__main__":
    try:
        main()
    except Hung as error:
        sys.exit("report.py: %s; no report written" % error)
