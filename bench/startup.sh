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
dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB"
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB"
DATABASE_URL="$URL" RUST_LOG=warn ./target/release/user-api migrate
python3 bench/startup.py ./target/release/user-api ./target/release/user-worker "$URL" "$RUNS"
