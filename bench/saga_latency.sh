#!/usr/bin/env bash
# Saga reply latency: command → reply as an orchestrator sees it, at a fixed
# offered rate, through user-worker and — the ceiling, in the same run —
# through a trivial echo consumer on the same broker (the broker's own two
# hops). Consumers ask the test broker not to hold fetches (fetch.wait.max.ms
# 5): nisshi does not wake a waiting fetch early, real Kafka does. Each run
# gets an empty broker (fresh_broker): nisshi slows as its in-memory log grows,
# so a run after another would be measured against a slower broker.
#
# The echo consumes and produces with the worker's own client configuration
# (userlib::worker::{consumer_config, producer_config}): the same settings on
# both sides of the ratio. Each rate runs twice: with every client's own
# producer linger (worker and echo 2 ms, the probe 5 ms) and with zero linger
# everywhere (LINGERS="default 0").
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

rows=""
for linger in $LINGERS; do
  if [ "$linger" = default ]; then unset LINGER_MS; else export LINGER_MS="$linger"; fi
  for rate in $RATES; do
    log "echo (broker two-hop ceiling) at $rate commands/s, linger $linger"
    fresh_broker
    echo_json="$(./target/release/examples/saga_latency echo "$rate" "$SECONDS_PER_RUN" "$USERS")"
    log "user-worker at $rate commands/s, linger $linger"
    fresh_broker
    worker_json="$(./target/release/examples/saga_latency worker ./target/release/user-worker "$URL" \
      "$rate" "$SECONDS_PER_RUN" "$USERS")"
    rows+="$(python3 - "$echo_json" "$worker_json" "$linger" <<'PY'
import json, sys
e, w, linger = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"| {w['rate']} | {linger} | {e['p50_ms']:.2f} / {e['p99_ms']:.2f} | {w['p50_ms']:.2f} / {w['p99_ms']:.2f} "
      f"| **{w['p50_ms']/e['p50_ms']:.2f}× / {w['p99_ms']/e['p99_ms']:.2f}×** | {w['answered']} of {w['sent']} "
      f"| {w['max_ms']:.1f} ms |")
PY
)"$'\n'
  done
done
unset LINGER_MS

cat <<TABLE

$(nproc) cores; broker nisshi (restarted empty for every run), consumers fetch.wait.max.ms 5; ${SECONDS_PER_RUN} s per run after 2 s warm-up.
Targets: p50 ≤ 1.5× and p99 ≤ 2× the echo's.

| offered commands/s | producer linger | echo p50 / p99 (ms) | user-worker p50 / p99 (ms) | ratio p50 / p99 | answered | worker max |
|---|---|---|---|---|---|---|
${rows}
TABLE
