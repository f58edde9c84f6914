# What the tests drive besides the database and the broker (sourced through
# scripts/lib.sh): localstripe, the existing clients (Chromium, kafka-python,
# the pinned Swagger UI), PgBouncer; and stopping what was started.

# A stateful Stripe API emulator (PyPI, pinned), in a venv outside the repository,
# served on loopback only by scripts/run_localstripe.py. Sets LOCALSTRIPE_URL.
LOCALSTRIPE_VERSION=1.15.10
LOCALSTRIPE_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/userlib/localstripe-$LOCALSTRIPE_VERSION"
LOCALSTRIPE_PID=""

ensure_localstripe() {
  if [ -n "${LOCALSTRIPE_URL:-}" ]; then return; fi
  if [ ! -x "$LOCALSTRIPE_VENV/bin/python" ] || ! "$LOCALSTRIPE_VENV/bin/python" -c 'import localstripe' 2>/dev/null; then
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv "$LOCALSTRIPE_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$LOCALSTRIPE_VENV"; }
    log "installing localstripe $LOCALSTRIPE_VERSION into $LOCALSTRIPE_VENV"
    "$LOCALSTRIPE_VENV/bin/pip" install --quiet "localstripe==$LOCALSTRIPE_VERSION"
  fi
  local port=8420
  while port_open 127.0.0.1 "$port"; do port=$((port + 1)); done
  "$LOCALSTRIPE_VENV/bin/python" "$ROOT/scripts/run_localstripe.py" "$port" >"${TMPDIR:-/tmp}/userlib-localstripe.log" 2>&1 &
  LOCALSTRIPE_PID=$!
  wait_for_port 127.0.0.1 "$port" || die "localstripe did not start"
  export LOCALSTRIPE_URL="http://127.0.0.1:$port"
}

# --- the existing clients, as they run --------------------------------------------
# Debian's Chromium for the browser suite, and the orchestrators' own Kafka client
# (kafka-python, pinned as their requirements.txt pins it) in a venv outside the
# repository. Sets CHROMIUM and KAFKA_PYTHON.
KAFKA_PYTHON_VERSION=2.0.2
KAFKA_PYTHON_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/userlib/kafka-python-$KAFKA_PYTHON_VERSION"

ensure_clients() {
  if [ -z "${CHROMIUM:-}" ]; then
    command -v chromium >/dev/null || apt_install chromium
    export CHROMIUM="$(command -v chromium)"
  fi
  if [ -z "${KAFKA_PYTHON:-}" ]; then
    if ! "$KAFKA_PYTHON_VENV/bin/python" -c 'import kafka' 2>/dev/null; then
      command -v python3 >/dev/null || apt_install python3
      python3 -m venv "$KAFKA_PYTHON_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$KAFKA_PYTHON_VENV"; }
      log "installing kafka-python $KAFKA_PYTHON_VERSION into $KAFKA_PYTHON_VENV"
      "$KAFKA_PYTHON_VENV/bin/pip" install --quiet "kafka-python==$KAFKA_PYTHON_VERSION"
    fi
    export KAFKA_PYTHON="$KAFKA_PYTHON_VENV/bin/python"
  fi
  ensure_swagger_ui
}

# The Swagger UI release /docs pins (src/http/docs.html), from the npm registry
# into a cache outside the repository: the browser test serves it as a local
# stand-in for the CDN, so the page's integrity hashes are checked for real.
SWAGGER_UI_VERSION=5.35.0
ensure_swagger_ui() {
  [ -n "${SWAGGER_UI_DIST:-}" ] && return 0
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/userlib/swagger-ui-dist-$SWAGGER_UI_VERSION"
  if [ ! -f "$dir/package/swagger-ui-bundle.js" ]; then
    command -v npm >/dev/null || apt_install npm
    log "fetching swagger-ui-dist $SWAGGER_UI_VERSION (npm) into $dir"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null &&
      tar xzf "swagger-ui-dist-$SWAGGER_UI_VERSION.tgz")
  fi
  export SWAGGER_UI_DIST="$dir/package"
}

# PgBouncer (Debian's): the tests start their own, on free ports, in transaction
# mode; installing the package does not start one here (no init system runs it).
ensure_pgbouncer() {
  if [ -z "${PGBOUNCER:-}" ]; then
    [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || apt_install pgbouncer
    export PGBOUNCER="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
  fi
}

stop_services() {
  if [ -n "$LOCALSTRIPE_PID" ]; then
    kill "$LOCALSTRIPE_PID" 2>/dev/null || true
    wait "$LOCALSTRIPE_PID" 2>/dev/null || true
  fi
  stop_broker
}

stop_broker() {
  if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
}

