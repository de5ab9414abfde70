#!/usr/bin/env python3
"""Draws a port trace (Chrome trace JSON, as evq::port::Trace writes it) as an SVG timeline.

    python3 chapters/ch05-event-queue/tools/trace_to_svg.py port-trace.json port-trace.svg

One row per thread: grey "waiting" bars (parked in get()), blue "key N" bars (running a packet),
orange "blocking scope" bars; ticks on the producer's row for each post; and at the bottom the
port's counters as step lines (running, waiting, queued). It is the picture Perfetto would show,
for readers without a browser at hand.
"""
import json
import sys
from html import escape

ROW_H, LABEL_W, WIDTH, PAD = 26, 90, 1000, 10
COLORS = {"waiting": "#c8c8c8", "blocking scope": "#f0a030"}
RUN_COLOR = "#3070d0"
COUNTER_COLORS = {"running": "#d03030", "waiting": "#909090", "queued": "#30a050"}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    try:
        with open(sys.argv[1]) as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError) as e:
        print(f"trace_to_svg: cannot read a Chrome trace from {sys.argv[1]}: {e}", file=sys.stderr)
        return 1

    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M"}
    timed = [e for e in events if "ts" in e]
    if not timed:
        print("trace_to_svg: the trace has no events", file=sys.stderr)
        return 1
    t0, t1 = min(e["ts"] for e in timed), max(e["ts"] for e in timed)
    span = max(t1 - t0, 1e-9)
    tids = sorted({e["tid"] for e in timed if "tid" in e})
    row_of = {tid: i for i, tid in enumerate(tids)}
    x = lambda ts: LABEL_W + (ts - t0) / span * (WIDTH - LABEL_W - PAD)

    bars, ticks, stacks = [], [], {tid: [] for tid in tids}
    for e in timed:
        ph, tid = e["ph"], e.get("tid")
        if ph == "B":
            stacks[tid].append(e)
        elif ph == "E" and stacks.get(tid):
            b = stacks[tid].pop()
            bars.append((tid, b["name"], b["ts"], e["ts"], len(stacks[tid])))
        elif ph == "i" and e["name"].startswith("post"):
            ticks.append((tid, e["ts"]))
    for tid, open_bars in stacks.items():  # bars still open at the end of the trace
        for depth, b in enumerate(open_bars):
            bars.append((tid, b["name"], b["ts"], t1, depth))

    counters = [e for e in timed if e["ph"] == "C"]
    panel_h = 50
    panels = [("running", "threads running (the cap holds outside blocking scopes)"),
              ("queued", "packets queued")]
    counter_top = PAD + len(tids) * ROW_H + 14
    height = counter_top + len(panels) * (panel_h + 16) + 30

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    for tid, i in row_of.items():
        y = PAD + i * ROW_H
        out.append(f'<text x="4" y="{y + 16}">{escape(names.get(tid, f"thread {tid}"))}</text>')
        out.append(f'<line x1="{LABEL_W}" y1="{y + ROW_H - 2}" x2="{WIDTH - PAD}" y2="{y + ROW_H - 2}" stroke="#eeeeee"/>')
    for tid, name, b, e, depth in sorted(bars, key=lambda r: r[4]):
        y = PAD + row_of[tid] * ROW_H + 3 + depth * 4
        color = COLORS.get(name, RUN_COLOR)
        w = max(x(e) - x(b), 0.8)
        out.append(f'<rect x="{x(b):.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 8 - depth * 4}" '
                   f'fill="{color}"><title>{escape(name)}</title></rect>')
    for tid, ts in ticks:
        y = PAD + row_of[tid] * ROW_H
        out.append(f'<line x1="{x(ts):.1f}" y1="{y + 2}" x2="{x(ts):.1f}" y2="{y + ROW_H - 4}" stroke="#30a050"/>')

    for p, (name, title) in enumerate(panels):
        top = counter_top + p * (panel_h + 16)
        peak = max([c["args"][name] for c in counters] + [1])
        base = top + panel_h
        out.append(f'<text x="{LABEL_W}" y="{top - 2}">{escape(title)}; max {peak}</text>')
        out.append(f'<line x1="{LABEL_W}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#999999"/>')
        for level in range(1, peak + 1):  # a faint line per unit, so "2" can be read off
            yl = base - level / peak * (panel_h - 6)
            out.append(f'<line x1="{LABEL_W}" y1="{yl:.1f}" x2="{WIDTH - PAD}" y2="{yl:.1f}" stroke="#f2f2f2"/>')
            if peak <= 8 or level == peak:
                out.append(f'<text x="{LABEL_W - 4}" y="{yl + 4:.1f}" text-anchor="end">{level}</text>')
        points, last = [], None
        for c in counters:
            yv = base - c["args"][name] / peak * (panel_h - 6)
            if last is not None:
                points.append(f"{x(c['ts']):.1f},{last:.1f}")
            points.append(f"{x(c['ts']):.1f},{yv:.1f}")
            last = yv
        if points:
            color = COUNTER_COLORS[name]
            out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    legend_y = height - 10
    legend = [("waiting in get()", COLORS["waiting"]), ("running a packet", RUN_COLOR),
              ("blocking scope", COLORS["blocking scope"]), ("post", "#30a050"),
              ("running count", COUNTER_COLORS["running"]), ("queued", COUNTER_COLORS["queued"])]
    lx = LABEL_W
    for label, color in legend:
        out.append(f'<rect x="{lx}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="{legend_y}">{escape(label)}</text>')
        lx += 30 + 7 * len(label)
    out.append(f'<text x="{WIDTH - PAD}" y="{legend_y}" text-anchor="end">{(t1 - t0) / 1000:.1f} ms</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"trace_to_svg: {len(bars)} bars, {len(ticks)} posts -> {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
