#!/usr/bin/env python3
"""Draws a libtp trace (the Chrome trace-event JSON a pool writes with TP_TRACE=<prefix> or
tp_pool_options.trace_path) as an SVG timeline: one row per worker, a bar per job coloured by its
function (a job that ran inside another, such as a join's half, is drawn over it, a little
shorter), a gap where the worker was parked or looking for work, a tick above the row per steal
and below it per take from the injector.

Usage: trace_svg.py TRACE.json OUT.svg [--width PIXELS] [--title TEXT]
Only the standard library; prints one line saying what it drew.
"""
import argparse
import colorsys
import hashlib
import html
import json
import sys

ROW = 28          # height of a worker's row
GAP = 10          # between rows
LEFT = 110        # room for the worker names
TOP = 40          # room for the title and the time axis
LEGEND_ROW = 18


def colour(name):
    """A stable colour per function name, spread over the hue circle."""
    hue = int(hashlib.md5(name.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hls_to_rgb(hue, 0.55, 0.65)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def nice_step(span):
    """A round tick interval giving about 8 ticks over `span` microseconds."""
    raw = span / 8 if span > 0 else 1
    step = 1.0
    while step * 10 <= raw:
        step *= 10
    while step > raw:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= raw:
            return step * factor
    return step * 10


def label(us):
    if us >= 1000:
        return "%g ms" % round(us / 1000, 3)
    return "%g µs" % round(us, 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--title", default=None)
    args = parser.parse_args()

    with open(args.trace) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    options = trace.get("otherData", {}) if isinstance(trace, dict) else {}

    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
    jobs = [e for e in events if e.get("ph") == "X" and e.get("cat") == "job"]
    instants = [e for e in events if e.get("ph") == "i"]
    tids = sorted(set(names) | {e["tid"] for e in jobs + instants})
    if not tids:
        sys.exit("no worker tracks in " + args.trace)
    row_of = {tid: i for i, tid in enumerate(tids)}

    timed = jobs + instants
    begin = min((e["ts"] for e in timed), default=0.0)
    end = max((e["ts"] + e.get("dur", 0) for e in timed), default=begin + 1)
    span = max(end - begin, 1e-3)
    plot = args.width - LEFT - 20
    x = lambda ts: LEFT + (ts - begin) / span * plot

    functions = sorted({e["name"] for e in jobs})
    height = TOP + len(tids) * (ROW + GAP) + 30 + LEGEND_ROW * ((len(functions) + 2) // 3)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (args.width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    title = args.title or "libtp trace: %d workers, %d jobs, %d events dropped" % (
        len(tids), len(jobs), options.get("events_dropped", 0))
    out.append('<text x="%d" y="16" font-size="14">%s</text>' % (LEFT, html.escape(title)))

    # Time axis.
    step = nice_step(span)
    tick = 0.0
    axis_y = TOP - 6
    while tick <= span + 1e-9:
        px = x(begin + tick)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (px, axis_y, px, TOP + len(tids) * (ROW + GAP)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>'
                   % (px, axis_y - 4, label(tick)))
        tick += step

    for tid in tids:
        y = TOP + row_of[tid] * (ROW + GAP)
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (LEFT - 8, y + ROW / 2 + 4, html.escape(str(names.get(tid, tid)))))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>'
                   % (LEFT, y + ROW / 2, LEFT + plot, y + ROW / 2))

    # Jobs: outer first, so that a job run inside another is drawn over it; each level of nesting
    # a little shorter, so that the outer one stays visible around it.
    for tid in tids:
        row = sorted((e for e in jobs if e["tid"] == tid), key=lambda e: (e["ts"], -e["dur"]))
        open_ends = []
        y = TOP + row_of[tid] * (ROW + GAP)
        for e in row:
            while open_ends and open_ends[-1] <= e["ts"]:
                open_ends.pop()
            depth = min(len(open_ends), 5)
            open_ends.append(e["ts"] + e["dur"])
            inset = depth * 2
            out.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s %s</title></rect>'
                       % (x(e["ts"]), y + inset, max(e["dur"] / span * plot, 0.5), ROW - 2 * inset,
                          colour(e["name"]), html.escape(e["name"]), label(e["dur"])))

    for e in instants:
        y = TOP + row_of[e["tid"]] * (ROW + GAP)
        px = x(e["ts"])
        if e["name"] == "steal":
            out.append('<path d="M%.1f %d l-3 -5 h6 z" fill="#c00"><title>steal from %s</title></path>'
                       % (px, y, html.escape(str(e.get("args", {}).get("from", "?")))))
        elif e["name"] == "injector":
            out.append('<path d="M%.1f %d l-3 5 h6 z" fill="#06c"><title>%s jobs from the injector</title></path>'
                       % (px, y + ROW, e.get("args", {}).get("jobs", "?")))

    legend_y = TOP + len(tids) * (ROW + GAP) + 14
    entries = [(colour(f), f) for f in functions] + [("#c00", "steal (tick above)"),
                                                       ("#06c", "injector take (tick below)"),
                                                       ("#fff", "gap: parked or looking for work")]
    for i, (fill, text) in enumerate(entries):
        lx = LEFT + (i % 3) * (plot // 3)
        ly = legend_y + (i // 3) * LEGEND_ROW
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s" stroke="#999"/>'
                   % (lx, ly, fill))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 16, ly + 10, html.escape(text)))
    out.append("</svg>")

    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("%s: %d workers, %d jobs, %d steals, %d injector takes over %s" % (
        args.out, len(tids), len(jobs), sum(e["name"] == "steal" for e in instants),
        sum(e["name"] == "injector" for e in instants), label(span)))


if __name__ == "__main__":
    main()
