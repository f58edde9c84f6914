"""Soak report: RSS and reply latency over time as SVG line charts, and whether RSS stayed flat.

    python3 bench/soak_report.py SOAK_CSV OUT_SVG READS_TXT WRITES_TXT SAGA_JSON
"""
import csv
import json
import re
import sys


def chart(title, unit, series, t_max, top, width=720, height=300, left=60, bottom=40):
    """One line chart (a list of SVG elements) whose top edge is at `top`."""
    v_max = max([v for _, _, pts in series for _, v in pts] + [1]) * 1.2
    x = lambda t: left + t / t_max * (width - left - 20)
    y = lambda v: top + height - bottom - v / v_max * (height - bottom - 30)
    base = top + height - bottom
    out = [f'<text x="10" y="{top + 18}" font-size="14" font-weight="bold">{title}</text>',
           f'<line x1="{left}" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#333"/>',
           f'<line x1="{left}" y1="{top + 30}" x2="{left}" y2="{base}" stroke="#333"/>',
           f'<text x="{width / 2:.0f}" y="{top + height - 8}">seconds</text>',
           f'<text x="{left + 6}" y="{top + 40}">{unit}</text>']
    step = max(1, int(v_max) // 5)
    for v in range(0, int(v_max) + 1, step):
        out.append(f'<text x="{left - 50}" y="{y(v) + 4:.0f}">{v}</text>')
    for t in range(0, t_max + 1, max(60, t_max // 10 // 60 * 60)):
        out.append(f'<text x="{x(t) - 8:.0f}" y="{base + 16}">{t}</text>')
    for i, (name, color, pts) in enumerate(series):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        out.append(f'<text x="{width - 150}" y="{top + 40 + i * 16}" fill="{color}">{name}</text>')
    return out


def main(csv_path, svg_path, reads, writes, saga):
    rows = [(int(r["seconds"]), float(r["api_rss_mib"]), float(r["worker_rss_mib"]))
            for r in csv.DictReader(open(csv_path))]
    s = json.loads(open(saga).read().strip().splitlines()[-1])
    t_max = max(t for t, _, _ in rows)
    windows = s.get("windows", [])
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="720" height="600" font-family="sans-serif" '
           'font-size="12"><rect width="100%" height="100%" fill="white"/>']
    out += chart("Soak: RSS every 10 s under mixed load", "MiB",
                 [("user-api", "#3b7dd8", [(t, a) for t, a, _ in rows]),
                  ("user-worker", "#d8843b", [(t, w) for t, _, w in rows])], t_max, 0)
    out += chart("Command → reply latency per 10 s of sending", "ms",
                 [("p50", "#3b7dd8", [(w["t"], w["p50_ms"]) for w in windows]),
                  ("p99", "#d83b3b", [(w["t"], w["p99_ms"]) for w in windows])], t_max, 300)
    out.append("</svg>")
    open(svg_path, "w").write("\n".join(out))

    def window(lo, hi, i):
        vals = [r[i] for r in rows if lo <= r[0] < hi]
        return sum(vals) / len(vals) if vals else float("nan")
    rps = lambda p: (re.search(r"Requests/sec:\s+([0-9.]+)", open(p).read()) or [None, "?"])[1]
    print(f"\n{t_max} s of mixed load: reads {rps(reads)} req/s, rating writes {rps(writes)} req/s, "
          f"commands {s['rate']}/s ({s['answered']} of {s['sent']} answered, p99 {s['p99_ms']:.1f} ms).\n")
    print("| process | RSS minute 2 | RSS last minute | growth | flat (≤ 10 %) |")
    print("|---|---|---|---|---|")
    for i, name in [(1, "user-api"), (2, "user-worker")]:
        early, late = window(60, 120, i), window(t_max - 60, t_max + 1, i)
        growth = (late - early) / early * 100
        print(f"| {name} | {early:.1f} MiB | {late:.1f} MiB | {growth:+.1f} % | {'yes' if growth <= 10 else 'NO'} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
