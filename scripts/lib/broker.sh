# The Kafka-protocol broker (sourced through scripts/lib.sh): nisshi, built
# once per machine, started on 127.0.0.1:9092 unless one is given or running.

# A real Kafka-protocol broker on loopback: nisshi (crates registry, Apache-2.0),
# built once per machine into a cache outside the repository, in-memory storage.
NISSHI_VERSION=0.8.1
NISSHI_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/userlib/nisshi-$NISSHI_VERSION"
BROKER_PID=""

# ensure_nisshi: builds nisshi once per machine; exports NISSHI_BIN, which the
# chaos tests use to start a broker of their own behind a cuttable proxy.
ensure_nisshi() {
  if [ ! -x "$NISSHI_ROOT/bin/nisshi" ]; then
    log "building the nisshi $NISSHI_VERSION broker into $NISSHI_ROOT (first time on this machine: 10-20 min on 2 cores)"
    # --ignore-rust-version: one dependency declares a newer rustc than it needs.
    cargo install nisshi --version "$NISSHI_VERSION" --locked --ignore-rust-version \
      --no-default-features --features dynostore --root "$NISSHI_ROOT" --quiet
  fi
  export NISSHI_BIN="$NISSHI_ROOT/bin/nisshi"
}

# ensure_broker: sets KAFKA_BOOTSTRAP_SERVERS; starts nisshi unless it is set or
# something already listens on 127.0.0.1:9092.
ensure_broker() {
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    log "using the Kafka broker at $KAFKA_BOOTSTRAP_SERVERS"
    return
  fi
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092
  if port_open 127.0.0.1 9092; then
    log "a Kafka broker already listens on 127.0.0.1:9092; using it"
    return
  fi
  ensure_nisshi
  local logfile="${TMPDIR:-/tmp}/userlib-nisshi.log"
  log "starting nisshi on 127.0.0.1:9092 (log: $logfile)"
  # In its own session: a Ctrl-C on scripts/dev must not reach the broker before
  # user-worker has committed and left the group; stop_broker ends it afterwards.
  setsid "$NISSHI_ROOT/bin/nisshi" broker --listener-url tcp://127.0.0.1:9092 \
    --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://nisshi/ >"$logfile" 2>&1 &
  BROKER_PID=$!
  wait_for_port 127.0.0.1 9092 || die "the broker did not start (see $logfile)"
}

# fresh_broker: restarts the nisshi this script started, empty. Its cost per
# message grows with what it holds in memory, so runs compared side by side
# must each start on an empty one. A broker we did not start is left alone.
fresh_broker() {
  if [ -z "$BROKER_PID" ]; then return; fi
  stop_broker
  BROKER_PID=""
  unset KAFKA_BOOTSTRAP_SERVERS
  ensure_broker >/dev/null
}

