#!/usr/bin/env bash
# Saga reply latency: command → reply as an orchestrator sees it, at a fixed
# offered rate, through user-worker and — the ceiling, in the same run —
# through a trivial echo consumer on the same broker (the broker's own two
# hops). Consumers ask the test broker not to hold fetches (fetch.wait.max.ms
# 5): nisshi does not wake a waiting fetch early, real Kafka does. Each run
# gets an empty broker (fresh_broker): nisshi slows as its in-memory log grows,
# so a run after another would be measured against a slower broker. Within a
# run the probe deletes what every consumer has committed, twice a second
# (bench/programs/common/trim.rs), so the broker holds about a second of
# traffic, as a real broker's fetch cost does not grow with its log (TRIM=0
# turns it off).
#
# The echo consumes and produces with the worker's own client configuration
# (userlib::worker::{consumer_config, producer_config}): the same settings on
# both sides of the ratio. Each rate runs twice: with every client's own
# producer linger (worker and echo 2 ms, the probe 5 ms) and with zero linger
# everywhere (LINGERS="default 0"). A command unanswered when the probe stops
# waiting counts as never answered; a run whose echo fell behind the offered
# rate has no ceiling and says so instead of giving a ratio. The last column
# is the broker's own CPU (cores) during each run.
#
#   bash bench/saga_latency.sh                  # 1 000 and 10 000 commands/s, 10 s each
#   RATES="1000" LINGERS=0 SECONDS_PER_RUN=20 bash bench/saga_latency.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

RATES="${RATES:-1000 10000}"
LINGERS="${LINGERS:-default 0}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
USERS=10000
DB=userlib_saga_bench
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
ensure_broker
trap stop_broker EXIT

cd "$ROOT"
cargo build --release --quiet --bins --example saga_latency
bench_database "$DB" "$USERS"

# The broker's share of the machine during a run, in cores: with two cores, a
# broker using most of one leaves the rest of the path queueing for CPU, the
# ceiling included. `broker_cpu`: "<seconds of its CPU> <wall clock>".
broker_cpu() {
  python3 - "$BROKER_PID" <<'PY'
import os, sys, time
fields = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), time.time())  # utime + stime
PY
}
cpu_start() { CPU_FROM="$(broker_cpu)"; }
cpu_cores() {
  awk -v from="$CPU_FROM" -v to="$(broker_cpu)" \
    'BEGIN { split(from, a, " "); split(to, b, " "); printf "%.2f", (b[1] - a[1]) / (b[2] - a[2]) }'
}

rows=""
for linger in $LINGERS; do
  if [ "$linger" = default ]; then unset LINGER_MS; else export LINGER_MS="$linger"; fi
  for rate in $RATES; do
    log "echo (broker two-hop ceiling) at $rate commands/s, linger $linger"
    fresh_broker
    cpu_start
    echo_json="$(./target/release/examples/saga_latency echo "$rate" "$SECONDS_PER_RUN" "$USERS")"
    echo_cpu="$(cpu_cores)"
    log "user-worker at $rate commands/s, linger $linger"
    fresh_broker
    cpu_start
    worker_json="$(./target/release/examples/saga_latency worker ./target/release/user-worker "$URL" \
      "$rate" "$SECONDS_PER_RUN" "$USERS")"
    worker_cpu="$(cpu_cores)"
    rows+="$(python3 - "$echo_json" "$worker_json" "$linger" "$echo_cpu" "$worker_cpu" <<'PY'
import json, sys
e, w, linger = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
cpu = f"{sys.argv[4]} / {sys.argv[5]}"
# None: no such reply (a percentile among the unanswered, or none answered).
ms = lambda v: "never" if v is None else f"{v:.2f}"
# The ceiling is only a ceiling while the echo keeps up: when it left
# commands unanswered, or its median is a queue (over a second) rather than
# two hops, the run measured the broker's saturation, not the worker.
if e["unanswered"] or e["p50_ms"] > 1000:
    ratio = "ceiling saturated: the echo fell behind the offered rate"
else:
    x = lambda a, b: "∞" if a is None else f"{a / b:.2f}×"
    ratio = f"**{x(w['p50_ms'], e['p50_ms'])} / {x(w['p99_ms'], e['p99_ms'])}**"
print(f"| {w['rate']} | {linger} | {ms(e['p50_ms'])} / {ms(e['p99_ms'])} | {ms(w['p50_ms'])} / {ms(w['p99_ms'])} "
      f"| {ratio} | {e['answered']} of {e['sent']} / {w['answered']} of {w['sent']} "
      f"| {ms(w['max_ms'])} ms | {cpu} |")
PY
)"$'\n'
  done
done
unset LINGER_MS

cat <<TABLE

$(nproc) cores; broker nisshi (restarted empty for every run, consumed records deleted twice a second$([ "${TRIM:-1}" = 0 ] && echo ": off")), consumers fetch.wait.max.ms 5; ${SECONDS_PER_RUN} s per run after 2 s warm-up.
Targets: p50 ≤ 1.5× and p99 ≤ 2× the echo's.

| offered commands/s | producer linger | echo p50 / p99 (ms) | user-worker p50 / p99 (ms) | ratio p50 / p99 | answered (echo / worker) | worker max | broker CPU, cores (echo / worker) |
|---|---|---|---|---|---|---|---|
${rows}
TABLE
