"""Writes docs/benchmarks.md and docs/benchmarks.svg from bench/run-all's outputs.

    python3 bench/report.py RESULTS_DIR DOCS_DIR
"""
import datetime
import os
import platform
import re
import subprocess
import sys


def lines(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


def table(path):
    """The markdown table (and the lines just above it) a bench script printed."""
    keep = [l for l in lines(path) if l.startswith("|") or (l and not l.startswith("==>") and "WARN" not in l)]
    # Markdown needs a blank line between a paragraph and a table.
    out = []
    for prev, l in zip([""] + keep, keep):
        if l.startswith("|") != prev.startswith("|") and prev:
            out.append("")
        out.append(l)
    return "\n".join(out)


def ratios(path, column):
    """(label, value) from a markdown table: `column` holds '**0.91**'-style ratios."""
    out = []
    for l in lines(path):
        cells = [c.strip() for c in l.strip("|").split("|")]
        if len(cells) > column and re.fullmatch(r"\*\*[0-9.]+×?( / [0-9.]+×)?\*\*", cells[column]):
            out.append((cells, cells[column].strip("*")))
    return out


def svg(groups):
    """Bar charts, one per group: (title, [(label, value)], target, higher_is_better)."""
    width, bar, gap, scale = 760, 20, 6, 380
    height = sum(60 + len(rows) * (bar + gap) for _, rows, _, _ in groups) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>']
    y = 10
    for title, rows, target, higher in groups:
        y += 20
        out.append(f'<text x="10" y="{y}" font-size="14" font-weight="bold">{title}</text>')
        y += 12
        top = y
        most = max([target * 1.25] + [v for _, v in rows])
        for label, v in rows:
            ok = v >= target if higher else v <= target
            w = v / most * scale
            out.append(f'<text x="10" y="{y + 14}">{label}</text>')
            out.append(f'<rect x="250" y="{y}" width="{w:.0f}" height="{bar}" fill="{"#3b7dd8" if ok else "#d8543b"}"/>')
            out.append(f'<text x="{256 + w:.0f}" y="{y + 14}">{v:.2f}</text>')
            y += bar + gap
        x = 250 + target / most * scale
        out.append(f'<line x1="{x:.0f}" y1="{top - 4}" x2="{x:.0f}" y2="{y}" stroke="#333" stroke-dasharray="4"/>')
        out.append(f'<text x="{x + 4:.0f}" y="{top - 2}" fill="#333">target {target}</text>')
        y += 16
    out.append("</svg>")
    return "\n".join(out)


def saga_rows(path):
    rows = []
    for c, v in ratios(path, 3):
        p50, p99 = (float(x.rstrip("×")) for x in v.split(" / "))
        rows.append((f"{c[0]}/s", p50, p99))
    return rows


def main(results, docs):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in lines("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in lines("/proc/meminfo") if l.startswith("MemTotal")), "0")
    read_md, saga_md = f"{results}/read_path.md", f"{results}/saga_latency.md"
    write_md, startup_md = f"{results}/write_path.md", f"{results}/startup.md"
    saga = saga_rows(saga_md)
    open(f"{docs}/benchmarks.svg", "w").write(svg([
        ("Read path: share of the pgbench ceiling", [(f"{c[0]}, {c[1]}", float(v)) for c, v in ratios(read_md, 3)], 0.6, True),
        ("Write path: share of the pgbench ceiling", [(c[0], float(v)) for c, v in ratios(write_md, 3)], 0.75, True),
        ("Saga reply p50: multiple of the broker's two hops", [(l, p50) for l, p50, _ in saga], 1.5, False),
        ("Saga reply p99: multiple of the broker's two hops", [(l, p99) for l, _, p99 in saga], 2.0, False),
    ]))
    worker = [l for l in lines(f"{results}/worker_throughput.txt") if "commands" in l]
    imports = [l.replace("==> ", "") for l in lines(f"{results}/import_legacy.txt") if "rows in" in l]
    doc = f"""# Benchmarks

Written by `bash bench/run-all` on {datetime.date.today()} — commit `{commit}`,
{os.cpu_count()} × {cpu}, {int(mem) // 1024 // 1024} GiB, {platform.platform()}.
Load generators, PostgreSQL, the broker and the service share the machine, so
every figure is a ratio to a ceiling measured in the same run.

![ratios against their targets](benchmarks.svg)

## Read path — `bench/read_path.sh`

`GET /api/user/{{id}}` at 64 connections against pgbench running the same
primary-key SELECT. Target with a Clerk token on every request: ≥ 0.6 of the
ceiling, p99 ≤ 10 ms.

{table(read_md)}

## Saga reply latency — `bench/saga_latency.sh`

What an orchestrator waits for: a `get_payment_info` command to its reply, at a
fixed offered rate, next to the same probe through a trivial echo consumer
(the broker's own two hops). Targets: p50 ≤ 1.5×, p99 ≤ 2×.

{table(saga_md)}

## Write path — `bench/write_path.sh`

`POST …/update-customer-rating` and `POST …/sync-from-frontend` (an existing
user: the update path) at 64 connections, each next to pgbench running the
same UPDATE / upsert by key. Targets: ≥ 0.75, p99 ≤ 15 ms.

{table(write_md)}

## Start-up — `bench/startup.sh`

{table(startup_md)}

## Soak — `bench/soak.sh` (with `SOAK=1`)

{(table(f"{results}/soak.md") + chr(10) + chr(10) + "![RSS and reply latency over time](soak.svg)") if os.path.exists(f"{results}/soak.md") else "(not run this time; see below)"}

## Worker backlog drain — `bench/worker_throughput.sh`

{chr(10).join("* " + l for l in worker) or "(not run)"}

## Cut-over import — `bench/import_legacy.sh`

{chr(10).join("* " + l for l in imports) or "(not run)"}

## Chaos — `bench/chaos-suite.sh`, `bench/chaos-api-replica.sh`

Each scenario runs under load and asserts that nothing is lost (every command
answered by correlation id, every acknowledged write still in its row); the
short forms run in `scripts/test`.

{chr(10).join(lines(f"{results}/chaos_suite.md")) if os.path.exists(f"{results}/chaos_suite.md") else "(not run)"}

An API replica stopped behind HAProxy:
{chr(10).join(lines(f"{results}/chaos_api_replica.md")) if os.path.exists(f"{results}/chaos_api_replica.md") else "(not run)"}
"""
    open(f"{docs}/benchmarks.md", "w").write(doc)


if __name__ == "__main__":
    main(*sys.argv[1:])
