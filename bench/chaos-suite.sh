#!/usr/bin/env bash
# The chaos scenarios in their long forms (tests/chaos with CHAOS_SCALE=long,
# release build): PostgreSQL stopped fast and immediate for 15 s each under
# HTTP and command load; the broker cut for 10 s and 60 s; 20 000 commands with
# one of two workers killed -9 three times; 1 000 bad commands in 10 000 good;
# three workers scaled to four and back to three. Each asserts nothing was
# lost and prints one "CHAOS" line of what it measured; this prints them as a
# Markdown list (bench/run-all puts it in docs/benchmarks.md). About 6 minutes.
#
#   bash bench/chaos-suite.sh
#   bash bench/chaos-suite.sh broker      # one scenario (a test name filter)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

require_rust
ensure_postgres
ensure_broker
ensure_nisshi
trap stop_services EXIT
export USERLIB_REQUIRE_EXTERNAL=1
# The broker-outage scenario's own broker runs at the initial rebalance delay
# docs/worker.md recommends where recovery time matters (Kafka's default, 3 s,
# adds 3 s to every outage longer than the session): exported after the shared
# broker started, so only that scenario's broker sees it.
export GROUP_INITIAL_REBALANCE_DELAY="${GROUP_INITIAL_REBALANCE_DELAY:-300ms}"
export TEST_PG_URL="${TEST_PG_URL:-postgres://$PG_USER@$PG_HOST:$PG_PORT}"
cd "$ROOT"
out="$(mktemp)"
CHAOS_SCALE=long cargo test --release --quiet --test chaos -- --nocapture "$@" >"$out" 2>&1 ||
  { cat "$out" >&2; rm -f "$out"; die "a chaos scenario failed"; }
echo
echo "$(nproc) cores, $(date -u +%F), CHAOS_SCALE=long:"
echo
grep -o 'CHAOS .*' "$out" | sed 's/^CHAOS /* **/; s/: /**: /'
rm -f "$out"
