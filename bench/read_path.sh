#!/usr/bin/env bash
# Read-path benchmark: GET /api/user/{id} through user-api versus the physical
# ceiling, pgbench running the same primary-key SELECT on the same machine, in
# the same run. Each credential kind, directly and through PgBouncer:
#   none     AUTH_MODE=none
#   service  a service token (SERVICE_TOKENS) on every request
#   clerk    a real RS256 Clerk session token per user (minted from a local
#            JWKS by bench/programs/mint_tokens.rs), each user reading their own
#            profile; clerk-nocache is the same with AUTH_TOKEN_CACHE_SIZE=0
#
#   bash bench/read_path.sh                     # 64 connections, 15 s per run
#   AUTHS="clerk" PATHS="direct" DURATION=30 bash bench/read_path.sh
#   TOKEN_MEMORY=1 bash bench/read_path.sh      # also: RSS with 100k live tokens
#   REPLICAS=2 bash bench/read_path.sh          # two user-api replicas behind HAProxy
#   HEALTH=1 bash bench/read_path.sh            # also: /health, the HTTP stack's ceiling
#
# Production shape (#22): several replicas behind a load balancer, PgBouncer in
# transaction mode, and a Clerk token the replica has not seen (tokens live
# 60 s): `clerk-nocache` through `pgbouncer`, compared with pgbench through the
# same PgBouncer (the pooled ceiling); with REPLICAS=2 every request also
# crosses HAProxy (Debian's), so its share shows against REPLICAS=1.
#
# Prints a markdown table (req/s, ratio to the direct ceiling and, through
# PgBouncer, to the pooled one, p50/p99, peak RSS).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

CONNS="${CONNS:-64}"
DURATION="${DURATION:-15}"
USERS=10000
POOL="${POOL:-8}"
SHARED="${SHARED:-2}"
AUTHS="${AUTHS:-none service clerk clerk-nocache}"
PATHS="${PATHS:-direct pgbouncer}"
REPLICAS="${REPLICAS:-1}"
HEALTH="${HEALTH:-}"
DB=userlib_bench
PORT="${PORT:-3901}"
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"
ISSUER="https://clerk.bench.local"
SERVICE_TOKEN="svc_bench_token_0123456789abcdef"

require_rust
ensure_postgres
ensure_pgbouncer
command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-contrib
if [ "$REPLICAS" != 1 ]; then
  [ "$REPLICAS" = 2 ] || die "REPLICAS is 1 or 2"
  [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || apt_install haproxy
  HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
fi

cd "$ROOT"
cargo build --release --quiet --bin user-api --example mint_tokens
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_database "$DB" "$USERS"

# Clerk's stand-in: a key, its JWKS served over HTTP, a token per user.
./target/release/examples/mint_tokens "$WORK/clerk" "$USERS" "$ISSUER"
JWKS_PORT="$(free_port)"
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/clerk" "$JWKS_PORT" >/dev/null 2>&1 &
PIDS+=($!)

# PgBouncer in transaction mode with as many server connections as the app
# would open directly (pool + shared read clients).
if [[ " $PATHS " == *" pgbouncer "* ]]; then
  BOUNCER_PORT="$(free_port)"
  mkdir -p "$WORK/pgbouncer"
  printf '"%s" ""\n' "$PG_USER" >"$WORK/pgbouncer/users.txt"
  cat >"$WORK/pgbouncer/pgbouncer.ini" <<INI
[databases]
* = host=$PG_HOST port=$PG_PORT user=$PG_USER
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/pgbouncer/users.txt
pool_mode = transaction
default_pool_size = $((POOL + SHARED))
max_client_conn = 1000
logfile = $WORK/pgbouncer/log
pidfile = $WORK/pgbouncer/pid
INI
  as_user=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$WORK/pgbouncer"; chmod 755 "$WORK"; as_user=(-u postgres); fi
  "$PGBOUNCER" "${as_user[@]}" "$WORK/pgbouncer/pgbouncer.ini" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for_port 127.0.0.1 "$BOUNCER_PORT" || die "pgbouncer did not start"
fi

log "ceiling: pgbench, $CONNS clients, ${DURATION}s"
pg_out="$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$DURATION" -f bench/get_user.sql \
  -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB" 2>&1)"
pg_tps="$(printf '%s\n' "$pg_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)"
bouncer_row=""
if [ -n "${BOUNCER_PORT:-}" ]; then
  # For reference: what PgBouncer itself costs (unnamed statements, as the app sends them).
  log "reference: pgbench through PgBouncer, $CONNS clients, ${DURATION}s"
  pb_out="$(pgbench -n -M extended -c "$CONNS" -j 2 -T "$DURATION" -f bench/get_user.sql \
    -h 127.0.0.1 -p "$BOUNCER_PORT" -U "$PG_USER" "$DB" 2>&1)"
  pb_tps="$(printf '%s\n' "$pb_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)"
  bouncer_row="| pgbench (pooled ceiling) | pgbouncer | ${pb_tps} | $(awk -v a="$pb_tps" -v b="$pg_tps" 'BEGIN {printf "%.2f", a / b}') | 1.00 | | | |"$'\n'
fi

# start_api AUTH PATH: starts user-api (REPLICAS of them, behind HAProxy on
# PORT when 2), sets API_PIDS (the replicas) and STOP_PIDS (all it started).
start_api() {
  local auth=$1 path=$2 env=() ports=() port
  case "$path" in
    direct) env+=(DATABASE_URL="$URL") ;;
    pgbouncer) env+=(DATABASE_URL="postgres://$PG_USER@127.0.0.1:$BOUNCER_PORT/$DB"
                     DATABASE_POOLER=transaction MIGRATION_DATABASE_URL="$URL") ;;
  esac
  case "$auth" in
    none) env+=(AUTH_MODE=none) ;;
    *) env+=(AUTH_MODE=clerk CLERK_ISSUER="$ISSUER" SERVICE_TOKENS="$SERVICE_TOKEN"
             CLERK_AUTHORIZED_PARTIES=http://bench.userlib.test
             CLERK_JWKS_URL="http://127.0.0.1:$JWKS_PORT/.well-known/jwks.json") ;;
  esac
  [ "$auth" = clerk-nocache ] && env+=(AUTH_TOKEN_CACHE_SIZE=0)
  API_PIDS=() API_PORTS=() STOP_PIDS=()
  for n in $(seq 1 "$REPLICAS"); do
    if [ "$REPLICAS" = 1 ]; then port=$PORT; else port="$(free_port)"; fi
    env "${env[@]}" LISTEN_ADDR="127.0.0.1:$port" DATABASE_POOL_SIZE="$POOL" \
      DATABASE_SHARED_READ_CLIENTS="$SHARED" RUST_LOG="warn,warp=off" \
      MIGRATE_ON_START=false ./target/release/user-api &
    API_PIDS+=($!) STOP_PIDS+=($!) PIDS+=($!)
    ports+=("$port") API_PORTS+=("$port")
    for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  done
  if [ "$REPLICAS" = 2 ]; then
    cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend api
  bind 127.0.0.1:$PORT
  default_backend replicas
backend replicas
  balance roundrobin
  http-reuse always
  server a 127.0.0.1:${ports[0]}
  server b 127.0.0.1:${ports[1]}
CFG
    "$HAPROXY" -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
    STOP_PIDS+=($!) PIDS+=($!)
    wait_for_port 127.0.0.1 "$PORT" || die "haproxy did not start"
  fi
}

stop_api() {
  kill -TERM "${STOP_PIDS[@]}" 2>/dev/null || true
  for p in "${STOP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# The replicas' metrics in one file: what user-api itself saw.
scrape() {
  : >"$1"
  for port in "${API_PORTS[@]}"; do curl -fs "http://127.0.0.1:$port/metrics" >>"$1"; done
}

wrk_env() {
  case "$1" in
    none) echo "BENCH_USERS=$USERS" ;;
    service) echo "BENCH_BEARER=$SERVICE_TOKEN" ;;
    clerk*) echo "BENCH_TOKENS=$WORK/clerk/tokens.txt" ;;
  esac
}

rows="" views=""
if [ -n "$HEALTH" ]; then
  # The HTTP stack's own ceiling: /health touches neither auth nor the database.
  log "user-api: /health (the HTTP ceiling), wrk, $CONNS connections, ${DURATION}s"
  start_api none direct
  wrk -t2 -c"$CONNS" -d3s "http://127.0.0.1:$PORT/api/health" >/dev/null
  out="$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/api/health")"
  stop_api
  wrk_stats "$out" "$pg_tps"
  rows+="| /health (HTTP ceiling) | - | ${rps} | ${ratio} | | ${p50} / ${p99} | | ${errors} |"$'\n'
fi
for path in $PATHS; do
  for auth in $AUTHS; do
    log "user-api ×$REPLICAS: $auth, $path: wrk, $CONNS connections, ${DURATION}s"
    start_api "$auth" "$path"
    # Warm-up: fill the pool, the statement caches and (clerk) the token cache:
    # the steady state of a browser, which sends one token for its minute.
    env $(wrk_env "$auth") wrk -t2 -c"$CONNS" -d3s -s bench/get_user.lua "http://127.0.0.1:$PORT" >/dev/null
    if [ "$auth" = clerk ]; then
      for _ in $(seq 1 20); do
        scrape "$WORK/cached"
        cached="$(awk '/^auth_token_cache_entries/ {n += int($2)} END {print n + 0}' "$WORK/cached")"
        [ "${cached:-0}" -ge "$USERS" ] && break
        env $(wrk_env "$auth") wrk -t2 -c"$CONNS" -d1s -s bench/get_user.lua "http://127.0.0.1:$PORT" >/dev/null
      done
    fi
    scrape "$WORK/before"
    out="$(env $(wrk_env "$auth") wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/get_user.lua \
      "http://127.0.0.1:$PORT")"
    scrape "$WORK/after"
    views+="* $auth, $path: $(python3 bench/server_view.py "$WORK/before" "$WORK/after" 'route="/user/{id}"')"$'\n'
    rss_kb=0
    for pid in "${API_PIDS[@]}"; do
      rss_kb=$(( rss_kb + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") ))
    done
    stop_api
    pooled=""
    if [ "$path" = pgbouncer ] && [ -n "${pb_tps:-}" ]; then
      wrk_stats "$out" "$pb_tps"
      pooled="**${ratio}**"
    fi
    wrk_stats "$out" "$pg_tps"
    rows+="| $auth | $path | ${rps} | **${ratio}** | ${pooled} | ${p50} / ${p99} | $((rss_kb / 1024)) MiB | ${errors} |"$'\n'
  done
done

memory=""
if [ -n "${TOKEN_MEMORY:-}" ]; then
  # 100k distinct live tokens (ids beyond the seeded users answer 404; the
  # token is verified and remembered all the same).
  log "token memory: 100k distinct Clerk tokens"
  ./target/release/examples/mint_tokens "$WORK/clerk100k" 100000 "$ISSUER"
  cp "$WORK/clerk/.well-known/jwks.json" "$WORK/clerk-orig-jwks.json"
  cp "$WORK/clerk100k/.well-known/jwks.json" "$WORK/clerk/.well-known/jwks.json"
  REPLICAS=1 start_api clerk direct
  API_PID=${API_PIDS[0]}
  curl -fs -H "Authorization: Bearer $SERVICE_TOKEN" "http://127.0.0.1:$PORT/api/user/u1" >/dev/null
  before_kb="$(awk '/VmRSS/ {print $2}' "/proc/$API_PID/status")"
  BENCH_TOKENS="$WORK/clerk100k/tokens.txt" wrk -t2 -c"$CONNS" -d120s -s bench/get_user.lua \
    "http://127.0.0.1:$PORT" >/dev/null &
  wrk_pid=$!
  entries=0
  for _ in $(seq 1 120); do
    sleep 1
    entries="$(curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^auth_token_cache_entries/ {print int($2)}')"
    [ "${entries:-0}" -ge 99000 ] && break
  done
  kill "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true
  after_kb="$(awk '/VmRSS/ {print $2}' "/proc/$API_PID/status")"
  stop_api
  cp "$WORK/clerk-orig-jwks.json" "$WORK/clerk/.well-known/jwks.json"
  memory="| verified-token cache | ${entries} entries: RSS $((before_kb / 1024)) → $((after_kb / 1024)) MiB, $(( (after_kb - before_kb) * 1024 / (entries > 0 ? entries : 1) )) bytes per token |"
fi

cat <<TABLE

$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $CONNS connections; $REPLICAS replica(s)$([ "$REPLICAS" = 2 ] && echo " behind HAProxy"), each pool $POOL + $SHARED shared read clients; ${DURATION} s per run.
pgbench ceiling (same SELECT, prepared, direct): **${pg_tps} TPS**.

| credentials | path | req/s | ratio to ceiling | ratio to pooled ceiling | p50 / p99 | peak RSS | errors |
|---|---|---|---|---|---|---|---|
${rows}${bouncer_row}${memory}

Seen from inside user-api (its /metrics over the same runs):

${views}
TABLE
