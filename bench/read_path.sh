#!/usr/bin/env bash
# Read-path benchmark: GET /user/{id} through user-api versus the physical
# ceiling, pgbench running the same primary-key SELECT on the same machine.
#
#   bash bench/read_path.sh            # 64 connections, 20 s per run
#   CONNS=128 DURATION=30 bash bench/read_path.sh
#
# Prints a markdown table (TPS / req/s, latency percentiles, ratio, peak RSS).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

CONNS="${CONNS:-64}"
DURATION="${DURATION:-20}"
USERS=10000
POOL="${POOL:-8}"
SHARED="${SHARED:-4}"
DB=userlib_bench
PORT="${PORT:-3901}"
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-contrib

cd "$ROOT"
cargo build --release --quiet --bin user-api
dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB"
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB"
DATABASE_URL="$URL" RUST_LOG=warn ./target/release/user-api migrate
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB" -c "
  INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number,
                     stripe_customer_id, card_payment_method_id, card_brand, card_last4,
                     card_exp_month, card_exp_year, card_updated_at)
  SELECT 'u' || i, 'u' || i || '@example.com', 'First' || i, 'Last' || i, '+6591234567',
         'cus_' || i, 'pm_' || i, 'visa', '4242', 12, 2030, now()
  FROM generate_series(1, $USERS) AS i;"
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB" -c "VACUUM ANALYZE users"

log "ceiling: pgbench, $CONNS clients, ${DURATION}s"
pg_out="$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DURATION" -f bench/get_user.sql \
  -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB" 2>&1)"
pg_tps="$(printf '%s\n' "$pg_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)"
pg_lat="$(printf '%s\n' "$pg_out" | sed -n 's/^latency average = \(.*\)$/\1/p')"

log "user-api: wrk, $CONNS connections, ${DURATION}s, pool $POOL"
DATABASE_URL="$URL" LISTEN_ADDR="127.0.0.1:$PORT" DATABASE_POOL_SIZE="$POOL" DATABASE_SHARED_READ_CLIENTS="$SHARED" AUTH_MODE=none \
  RUST_LOG="warn,warp::server=off" \
  MIGRATE_ON_START=false ./target/release/user-api &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done
# Warm-up: fill the pool and the statement caches.
BENCH_USERS=$USERS wrk -t2 -c"$CONNS" -d3s -s bench/get_user.lua "http://127.0.0.1:$PORT" >/dev/null
wrk_out="$(BENCH_USERS=$USERS wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/get_user.lua \
  "http://127.0.0.1:$PORT")"
rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$api_pid/status")"
kill -TERM "$api_pid"; wait "$api_pid" || true; trap - EXIT

rps="$(printf '%s\n' "$wrk_out" | awk '/Requests\/sec/ {print $2}')"
p50="$(printf '%s\n' "$wrk_out" | awk '$1=="50%" {print $2}')"
p99="$(printf '%s\n' "$wrk_out" | awk '$1=="99%" {print $2}')"
errors="$(printf '%s\n' "$wrk_out" | grep -E 'Non-2xx|Socket errors' || echo none)"
ratio="$(awk -v a="$rps" -v b="$pg_tps" 'BEGIN {printf "%.2f", a / b}')"

cat <<TABLE

| what | value |
|---|---|
| machine | $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB |
| connections | $CONNS (pool $POOL, shared read clients $SHARED) |
| pgbench ceiling (same SELECT, prepared) | ${pg_tps} TPS, avg ${pg_lat} |
| user-api GET /api/user/{id} | ${rps} req/s |
| ratio | ${ratio} |
| latency p50 / p99 | ${p50} / ${p99} |
| peak RSS (VmHWM) | $((rss_kb / 1024)) MiB |
| errors | ${errors} |
TABLE
