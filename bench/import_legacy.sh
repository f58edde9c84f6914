#!/usr/bin/env bash
# Cut-over import: a release `user-api import-legacy` bringing ROWS legacy users
# (the Flask schema of tests/fixtures/legacy_schema.sql, a card on every fourth,
# 1% poisoned ratings) into an empty database, then a second run with nothing
# changed. Reports rows/s and the importer's peak RSS (GNU time).
#
#   bash bench/import_legacy.sh               # 100 000 users
#   ROWS=1000000 bash bench/import_legacy.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ROWS="${ROWS:-100000}"
LEGACY=userlib_bench_legacy
TARGET=userlib_bench_import
url() { echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$1"; }

require_rust
ensure_postgres
command -v /usr/bin/time >/dev/null || apt_install time
cd "$ROOT"
cargo build --release --quiet --bin user-api
for db in "$LEGACY" "$TARGET"; do
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$db"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db"
done
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$LEGACY" -f tests/fixtures/legacy_schema.sql
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$LEGACY" -c "
  INSERT INTO users
  SELECT format('user_%s', i), format('runner%s', i), format('person%s@example.com', i),
         'First', 'Last', CASE WHEN i % 2 = 0 THEN '' ELSE '+65 91234567' END,
         CASE WHEN i % 4 = 0 THEN jsonb_build_object('payment_method_id', format('pm_%s', i),
           'brand', 'visa', 'last4', '4242', 'exp_month', 12, 'exp_year', 2030,
           'updated_at', '2025-04-02T08:00:00+00:00') END,
         CASE WHEN i % 100 = 0 THEN 'NaN'::numeric ELSE 4.5 END, 5.0,
         format('cus_%s', i), NULL, timestamp '2025-01-01', timestamp '2025-03-01'
  FROM generate_series(1, $ROWS) AS i"
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$LEGACY" -c "VACUUM ANALYZE users"

run() {
  local start end status
  start=$(date +%s.%N)
  set +e
  DATABASE_URL="$(url "$TARGET")" RUST_LOG=warn /usr/bin/time -f '%M' -o /tmp/userlib-import-rss \
    ./target/release/user-api import-legacy --from "$(url "$LEGACY")" --report /tmp/userlib-import-report.jsonl
  status=$?
  set -e
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v n="$ROWS" -v rss="$(tail -n 1 /tmp/userlib-import-rss)" -v st="$status" \
    'BEGIN { printf "==> %s: %d rows in %.2f s = %.0f rows/s, peak RSS %.1f MiB, exit %d\n", ARGV[1], n, e - s, n / (e - s), rss / 1024, st }' "$1"
}
run "first import (empty target)"
run "second import (nothing changed)"
# The databases are large; they are not kept on the shared server.
for db in "$LEGACY" "$TARGET"; do dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$db"; done
