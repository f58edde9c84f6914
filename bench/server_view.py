"""What the service itself saw during a wrk run, from two /metrics snapshots:
how its own request latency (`http_request_duration_seconds`) and, for the
write path, its group-commit statements (`db_write_batch_*`) were distributed.
Set next to wrk's figures it tells whether a tail was spent inside the process
or outside it (the load generator, the scheduler of a shared machine).

    python3 bench/server_view.py BEFORE AFTER ROUTE_SUBSTRING [WRITE]

Prints one line; quantiles are bucket upper bounds (the buckets are coarse).
"""
import re
import sys

SERIES = re.compile(r'^([a-z_]+)\{(.*)\} ([0-9.e+-]+|\+Inf|NaN)$')


def samples(path):
    out = {}
    for line in open(path):
        m = SERIES.match(line.strip())
        if m:
            # Several replicas' expositions in one file add up.
            out[(m[1], m[2])] = out.get((m[1], m[2]), 0.0) + float(m[3])
    return out


def buckets(before, after, name, keep):
    """{le: count} summed over the series of `name` whose labels pass `keep`."""
    out = {}
    for (metric, labels), value in after.items():
        if metric != f"{name}_bucket" or not keep(labels):
            continue
        le = float(re.search(r'le="([^"]+)"', labels)[1])
        out[le] = out.get(le, 0) + value - before.get((metric, labels), 0)
    return dict(sorted(out.items()))


def quantile(counts, q):
    total = max(counts.values(), default=0)
    for le, n in counts.items():
        if total and n >= q * total:
            return le
    return float("nan")


def share_over(counts, le):
    total = max(counts.values(), default=0)
    return (total - counts.get(le, total)) / total * 100 if total else float("nan")


def total(before, after, name, keep):
    return sum(v - before.get(k, 0) for k, v in after.items() if k[0] == name and keep(k[1]))


def main(before_path, after_path, route, write=None):
    before, after = samples(before_path), samples(after_path)
    http = buckets(before, after, "http_request_duration_seconds", lambda l: route in l)
    parts = [f"in the service: p50 ≤ {quantile(http, 0.5) * 1000:g} ms, p99 ≤ {quantile(http, 0.99) * 1000:g} ms, "
             f"{share_over(http, 0.01):.2f} % over 10 ms"]
    if write:
        keep = lambda l: f'write="{write}"' in l
        count = total(before, after, "db_write_batch_size_count", keep)
        rows = total(before, after, "db_write_batch_size_sum", keep)
        secs = total(before, after, "db_write_batch_duration_seconds_sum", keep)
        stmt = buckets(before, after, "db_write_batch_duration_seconds", keep)
        if count:
            parts.append(f"{count:.0f} statements of {rows / count:.1f} writes, {secs / count * 1000:.2f} ms each "
                         f"on average, p99 ≤ {quantile(stmt, 0.99) * 1000:g} ms")
    print("; ".join(parts))


if __name__ == "__main__":
    main(*sys.argv[1:])
