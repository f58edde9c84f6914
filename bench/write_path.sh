#!/usr/bin/env bash
# Write-path benchmark: the rating update and the profile sync of an existing
# user through user-api, each next to pgbench running the same UPDATE / upsert
# by key in the same run (64 connections, AUTH_MODE=none).
#
#   bash bench/write_path.sh                   # 15 s per run
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

CONNS="${CONNS:-64}"
DURATION="${DURATION:-15}"
USERS=10000
DB=userlib_write_bench
PORT="${PORT:-3902}"
POOL="${POOL:-8}"
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-contrib
cd "$ROOT"
cargo build --release --quiet --bin user-api
bench_database "$DB" "$USERS"

DATABASE_URL="$URL" DATABASE_POOL_SIZE="$POOL" LISTEN_ADDR="127.0.0.1:$PORT" AUTH_MODE=none RUST_LOG="warn,warp=off" \
  MIGRATE_ON_START=false ./target/release/user-api &
api_pid=$!
work="$(mktemp -d)"
trap 'kill "$api_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done

rows="" views=""
for kind in rating sync; do
  log "$kind: pgbench ceiling, $CONNS clients, ${DURATION}s"
  pg_out="$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DURATION" -f "bench/write_$kind.sql" \
    -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB" 2>&1)"
  pg_tps="$(printf '%s\n' "$pg_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)"
  log "$kind: user-api, wrk, $CONNS connections, ${DURATION}s"
  BENCH_WRITE=$kind wrk -t2 -c"$CONNS" -d3s -s bench/write.lua "http://127.0.0.1:$PORT" >/dev/null
  curl -fs "http://127.0.0.1:$PORT/metrics" >"$work/before"
  out="$(BENCH_WRITE=$kind wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/write.lua "http://127.0.0.1:$PORT")"
  curl -fs "http://127.0.0.1:$PORT/metrics" >"$work/after"
  wrk_stats "$out" "$pg_tps"
  rows+="| $kind | ${pg_tps} | ${rps} | **${ratio}** | ${p50} / ${p99} | ${errors} |"$'\n'
  case "$kind" in rating) route=customer-rating write=rating ;; sync) route=sync-from-frontend write=profile ;; esac
  views+="* $kind: $(python3 bench/server_view.py "$work/before" "$work/after" "$route" "$write")"$'\n'
done
rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$api_pid/status")"

cat <<TABLE

$(nproc) cores; $CONNS connections (pool $POOL); ${DURATION} s per run; targets ≥ 0.75 of the ceiling, p99 ≤ 15 ms.

| write | pgbench ceiling (TPS) | user-api (req/s) | ratio | p50 / p99 | errors |
|---|---|---|---|---|---|
${rows}
user-api peak RSS: $((rss_kb / 1024)) MiB. Seen from inside user-api (its /metrics over the same runs):

${views}
TABLE
