"""Soak report: RSS over time as an SVG line chart, and whether it stayed flat.

    python3 bench/soak_report.py SOAK_CSV OUT_SVG READS_TXT WRITES_TXT SAGA_JSON
"""
import csv
import json
import re
import sys


def main(csv_path, svg_path, reads, writes, saga):
    rows = [(int(r["seconds"]), float(r["api_rss_mib"]), float(r["worker_rss_mib"]))
            for r in csv.DictReader(open(csv_path))]
    width, height, left, bottom = 720, 320, 60, 40
    t_max = max(t for t, _, _ in rows)
    m_max = max(max(a, w) for _, a, w in rows) * 1.2
    x = lambda t: left + t / t_max * (width - left - 20)
    y = lambda m: height - bottom - m / m_max * (height - bottom - 30)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">Soak: RSS every 10 s under mixed load</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" stroke="#333"/>',
           f'<line x1="{left}" y1="30" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
           f'<text x="{width / 2:.0f}" y="{height - 8}">seconds</text>',
           f'<text x="8" y="{height / 2:.0f}">MiB</text>']
    for m in range(0, int(m_max) + 1, max(1, int(m_max) // 5)):
        out.append(f'<text x="{left - 30}" y="{y(m) + 4:.0f}">{m}</text>')
    for t in range(0, t_max + 1, max(60, t_max // 10 // 60 * 60)):
        out.append(f'<text x="{x(t) - 8:.0f}" y="{height - bottom + 16}">{t}</text>')
    for i, (name, color) in enumerate([("user-api", "#3b7dd8"), ("user-worker", "#d8843b")]):
        points = " ".join(f"{x(t):.1f},{y(r[i + 1]):.1f}" for r in rows for t in [r[0]])
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        out.append(f'<text x="{width - 150}" y="{40 + i * 16}" fill="{color}">{name}</text>')
    out.append("</svg>")
    open(svg_path, "w").write("\n".join(out))

    def window(lo, hi, i):
        vals = [r[i] for r in rows if lo <= r[0] < hi]
        return sum(vals) / len(vals) if vals else float("nan")
    rps = lambda p: (re.search(r"Requests/sec:\s+([0-9.]+)", open(p).read()) or [None, "?"])[1]
    s = json.loads(open(saga).read().strip().splitlines()[-1])
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
