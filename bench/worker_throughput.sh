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
dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB"
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB"
DATABASE_URL="$URL" RUST_LOG=warn ./target/release/user-api migrate
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB" -c "
  INSERT INTO users (clerk_user_id, email, stripe_customer_id, card_payment_method_id, card_brand,
                     card_last4, card_exp_month, card_exp_year, card_updated_at)
  SELECT 'u' || i, 'u' || i || '@example.com', 'cus_' || i, 'pm_' || i, 'visa', '4242', 12, 2030, now()
  FROM generate_series(1, $USERS) AS i"
./target/release/examples/worker_throughput ./target/release/user-worker "$URL" "$COMMANDS" "$USERS"
