#!/usr/bin/env bash
# User directory benchmark (#24's targets): commit-to-topic latency of profile
# renames at RATE/s through user-api, relayed by user-worker; and the batch
# look-up of 50 ids against one GET /user/{id}, one request at a time. The
# write path with the outbox in the same transaction is bench/write_path.sh
# (its sync run renames every time, so every write there carries an event).
#
#   bash bench/directory.sh                    # RATE=1000 SECONDS=15
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

RATE="${RATE:-1000}"
SECONDS_="${SECONDS_:-15}"
USERS=10000
DB=userlib_directory_bench
PORT="${PORT:-3903}"
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
ensure_broker
trap stop_services EXIT
cd "$ROOT"
cargo build --release --quiet --bin user-api --bin user-worker --example directory_latency
bench_database "$DB" "$USERS"
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB" -c "DELETE FROM user_directory_outbox"

id="$(date +%s%N)"
export KAFKA_USER_DIRECTORY_TOPIC="dirbench_$id" KAFKA_USER_COMMANDS_TOPIC="dirbench_cmd_$id" \
  KAFKA_USER_EVENTS_TOPIC="dirbench_evt_$id" KAFKA_DLQ_TOPIC="dirbench_dlq_$id" \
  KAFKA_USER_SERVICE_GROUP_ID="dirbench_$id"
RUST_LOG=warn ./target/release/user-worker create-topics 6 1 >/dev/null

DATABASE_URL="$URL" LISTEN_ADDR="127.0.0.1:$PORT" AUTH_MODE=none RUST_LOG="warn,warp=off" \
  MIGRATE_ON_START=false ./target/release/user-api &
api_pid=$!
DATABASE_URL="$URL" WORKER_HTTP_ADDR="127.0.0.1:0" RUST_LOG=warn ./target/release/user-worker &
worker_pid=$!
trap 'kill "$api_pid" "$worker_pid" 2>/dev/null || true; stop_services' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done

log "directory: $RATE renames/s for ${SECONDS_}s, then 1000 single and 1000 fifty-id look-ups"
out="$(./target/release/examples/directory_latency "http://127.0.0.1:$PORT" "$KAFKA_USER_DIRECTORY_TOPIC" \
  "$RATE" "$SECONDS_" "$USERS")"
printf '%s\n' "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
c, one, fifty = r["commit_to_topic_ms"], r["get_one_ms"], r["get_fifty_ms"]
print()
print("| measure | value | target |")
print("|---|---|---|")
print("| commit to topic at %d renames/s, p50 / p99 / max | %.1f / %.1f / %.1f ms | p99 <= 50 ms |" % (r["rate"], c["p50"], c["p99"], c["max"]))
print("| renames published / sent (failed) | %d / %d (%d) | all |" % (r["published"], r["renames"], r["failed"]))
print("| GET /user/{id}, p50 / p99 | %.2f / %.2f ms | |" % (one["p50"], one["p99"]))
print("| GET /users/public, 50 ids, p50 / p99 | %.2f / %.2f ms | |" % (fifty["p50"], fifty["p99"]))
print("| 50 ids over one, p50 | **%.2fx** | <= 2x |" % r["fifty_over_one_p50"])
'
