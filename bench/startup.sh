#!/usr/bin/env bash
# Start-up: process start → /ready 200 for user-api and user-worker (what an
# autoscaler waits for), with PostgreSQL and the broker already answering.
#
#   bash bench/startup.sh          # 5 runs each
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
RUNS="${RUNS:-5}"
DB=userlib_startup_bench
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"
require_rust
ensure_postgres
ensure_broker
trap stop_broker EXIT
cd "$ROOT"
cargo build --release --quiet --bins
bench_database "$DB" 1
python3 bench/startup.py ./target/release/user-api ./target/release/user-worker "$URL" "$RUNS"
