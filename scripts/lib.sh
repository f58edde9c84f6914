# Sourced (not run) by scripts/dev, scripts/test and the bench/ scripts: the
# helpers, one file per purpose under scripts/lib/ —
#   common.sh     ROOT, logging, root/apt helpers, the Rust toolchain, ports
#   postgres.sh   PostgreSQL installed, running and reachable (ensure_postgres)
#   broker.sh     the Kafka-protocol broker (ensure_broker, fresh_broker)
#   test-deps.sh  localstripe, Chromium, kafka-python, Swagger UI, PgBouncer
#   bench.sh      the benchmarks' seed database and wrk parser
# Each is small and self-contained; sourcing them all costs nothing.

set -euo pipefail

for part in common postgres broker test-deps bench; do
  # shellcheck source=/dev/null
  source "$(dirname "${BASH_SOURCE[0]}")/lib/$part.sh"
done
