#!/usr/bin/env bash
# Worker throughput: one release user-worker answering a backlog of commands
# through the real broker and PostgreSQL.
#
#   bash bench/worker_throughput.sh              # 50 000 commands
#   COMMANDS=200000 bash bench/worker_throughput.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

COMMANDS="${COMMANDS:-50000}"
USERS=10000
DB=userlib_worker_bench
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
ensure_broker
trap stop_broker EXIT

cd "$ROOT"
cargo build --release --quiet --bins --example worker_throughput
bench_database "$DB" "$USERS"
./target/release/examples/worker_throughput ./target/release/user-worker "$URL" "$COMMANDS" "$USERS"
