#!/usr/bin/env bash
# Chaos: two user-api replicas behind a local HAProxy (Debian's) under wrk
# load; one is stopped mid-load. With SIGTERM (a rollout) no request may fail:
# the replica answers /ready 503 and keeps serving while HAProxy's health
# check takes it out, then drains. With kill -9, failures must stay within
# the requests in flight at that moment (HAProxy retries what is safe).
#
#   bash bench/chaos-api-replica.sh            # 12 s of load per scenario
#   DURATION=6 PROFILE=debug bash bench/chaos-api-replica.sh   # scripts/test's short form
#
# Exits 1 when SIGTERM failed any request or kill -9 failed more than the
# connections that can be in flight ($CONNS).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

DURATION="${DURATION:-12}"
PROFILE="${PROFILE:-release}"
CONNS="${CONNS:-32}"
USERS=1000
DB=userlib_chaos_api
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

require_rust
ensure_postgres
command -v wrk >/dev/null || apt_install wrk
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || apt_install haproxy
HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
cd "$ROOT"
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin user-api
else
  cargo build --quiet --bin user-api
fi
bench_database "$DB" "$USERS"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_api N: replica N on port PORT_N, pid in API_N.
start_api() {
  local n=$1 port
  port="$(free_port)"
  DATABASE_URL="$URL" LISTEN_ADDR="127.0.0.1:$port" AUTH_MODE=none MIGRATE_ON_START=false \
    RUST_LOG="warn,warp=off" "./target/$PROFILE/user-api" >>"$WORK/api-$n.log" 2>&1 &
  eval "API_$n=$! PORT_$n=$port"
  PIDS+=($!)
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && return; sleep 0.1; done
  die "replica $n did not start"
}

LB_PORT="$(free_port)"
start_haproxy() {
  cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend api
  bind 127.0.0.1:$LB_PORT
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /ready
  default-server inter 200 fall 1 rise 2
  server a 127.0.0.1:$PORT_1 check
  server b 127.0.0.1:$PORT_2 check
CFG
  "$HAPROXY" -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
  HAPROXY_PID=$!
  PIDS+=($HAPROXY_PID)
  wait_for_port 127.0.0.1 "$LB_PORT" || die "haproxy did not start"
  sleep 0.5
}

# scenario SIGNAL: load through HAProxy, SIGNAL to replica 1 a third of the way in.
scenario() {
  local signal=$1 out
  start_api 1; start_api 2; start_haproxy
  BENCH_USERS=$USERS wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/get_user.lua \
    "http://127.0.0.1:$LB_PORT" >"$WORK/wrk.out" 2>&1 &
  local wrk_pid=$!
  sleep "$((DURATION / 3))"
  kill "-$signal" "$API_1"
  wait "$wrk_pid" || true
  out="$(cat "$WORK/wrk.out")"
  local total errors
  total="$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')"
  errors="$(printf '%s\n' "$out" | grep -E 'Non-2xx|Socket errors' | tr -s ' ' | paste -sd ';' || true)"
  rows+="| $signal to one of two replicas | ${total} | ${errors:-none} |"$'\n'
  # wrk's "Socket errors: connect N, read N, write N, timeout N" and "Non-2xx or 3xx responses: N".
  failed="$(printf '%s\n' "$out" | awk '/Socket errors/ {for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i}
                                        /Non-2xx/ {s += $NF} END {print s + 0}')"
  failed="${failed:-0}"
  if [ -z "$total" ] || [ "$total" -eq 0 ]; then
    verdict+="$signal: wrk made no requests; "
  elif [ "$signal" = TERM ] && [ "$failed" -gt 0 ]; then
    verdict+="$signal: $failed failed requests (a drained replica fails none); "
  elif [ "$failed" -gt "$CONNS" ]; then
    verdict+="$signal: $failed failed requests, more than the $CONNS in flight; "
  fi
  kill "$HAPROXY_PID" "$API_2" 2>/dev/null || true
  kill -9 "$API_1" 2>/dev/null || true
  wait 2>/dev/null || true
  PIDS=()
}

rows=""
verdict=""
log "SIGTERM mid-load"
scenario TERM
log "kill -9 mid-load"
scenario KILL

cat <<TABLE

$(nproc) cores; $CONNS connections through HAProxy (health check /ready every 200 ms); ${DURATION} s of load; replica 1 stopped after $((DURATION / 3)) s.

| scenario | requests | failed |
|---|---|---|
${rows}
TABLE
if [ -n "$verdict" ]; then
  echo "FAILED: $verdict" >&2
  exit 1
fi
