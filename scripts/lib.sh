# Shared bootstrap for scripts/dev and scripts/test (sourced, not run).
# Makes sure PostgreSQL is installed, running on 127.0.0.1:5432 and reachable as
# the `postgres` user without a password, and that the Rust toolchain is there.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-postgres}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"
  fi
}

apt_install() {
  log "installing $* from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

require_rust() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs), then re-run"
  # rdkafka builds librdkafka from source: a C toolchain, OpenSSL and zlib headers.
  local missing=()
  for pkg in build-essential pkg-config libssl-dev zlib1g-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# warn_if_disk_low MIB: a clean build writes ~3 GB under target/ (more while the
# broker is built); say so up front instead of letting rustc die half-way with
# "No space left on device", which is how one CI run ended.
warn_if_disk_low() {
  local need_mib=$1 avail_mib dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  mkdir -p "$dir" # a CARGO_TARGET_DIR that does not exist yet is fine for cargo
  avail_mib=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
  if [ "${avail_mib:-0}" -lt "$need_mib" ]; then
    log "warning: only ${avail_mib} MiB free for the build; a clean one needs about ${need_mib} MiB"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for_port HOST PORT: true once something listens there (up to 10 s).
wait_for_port() {
  for _ in $(seq 1 100); do port_open "$1" "$2" && return 0; sleep 0.1; done
  return 1
}

# --- Kafka broker -------------------------------------------------------------
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

# --- localstripe ------------------------------------------------------------------
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

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

ensure_postgres() {
  if ! command -v pg_isready >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-contrib
  fi
  if ! pg_up; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$version" ]; then
      version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
      log "creating PostgreSQL $version cluster 'main'"
      as_root pg_createcluster "$version" main >/dev/null
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
    pg_up || die "PostgreSQL did not come up on $PG_HOST:$PG_PORT"
  fi
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    # A fresh Debian install asks for a password over TCP. This is a development
    # and test machine: trust loopback connections, as the README says.
    local hba
    hba="$(as_root su postgres -c "psql -Atqc 'SHOW hba_file'")"
    log "allowing passwordless loopback connections in $hba (development set-up)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root su postgres -c "psql -Atqc 'SELECT pg_reload_conf()'" >/dev/null
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null ||
      die "cannot connect to PostgreSQL as $PG_USER@$PG_HOST:$PG_PORT"
  fi
}

# bench_database NAME USERS: a fresh database NAME with the schema (user-api of
# $PROFILE, default release, must be built) and users u1..uUSERS, each with a profile, a phone
# number, a Stripe customer and a stored card — the benchmarks' common seed.
bench_database() {
  local db=$1 users=$2
  local psql=(psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db")
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$db"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db"
  DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db" RUST_LOG=warn "$ROOT/target/${PROFILE:-release}/user-api" migrate
  "${psql[@]}" -c "
    INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number,
                       stripe_customer_id, card_payment_method_id, card_brand, card_last4,
                       card_exp_month, card_exp_year, card_updated_at)
    SELECT 'u' || i, 'u' || i || '@example.com', 'First' || i, 'Last' || i, '+6591234567',
           'cus_' || i, 'pm_' || i, 'visa', '4242', 12, 2030, now()
    FROM generate_series(1, $users) AS i"
  "${psql[@]}" -c "VACUUM ANALYZE users"
}

# wrk_stats WRK_OUTPUT CEILING: sets rps, p50, p99, errors (or "none") and
# ratio (rps / CEILING) from wrk --latency output — the benchmarks' one parser.
wrk_stats() {
  local out=$1 ceiling=$2
  rps="$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(printf '%s\n' "$out" | awk '$1=="50%" {print $2}')"
  p99="$(printf '%s\n' "$out" | awk '$1=="99%" {print $2}')"
  errors="$(printf '%s\n' "$out" | grep -E 'Non-2xx|Socket errors' | tr -s ' ' | paste -sd ';' || true)"
  errors="${errors:-none}"
  ratio="$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.2f", a / b}')"
}

# ensure_database NAME: creates the database if it does not exist.
ensure_database() {
  local name="$1"
  if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$name'")" != "1" ]; then
    log "creating database $name"
    createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$name"
  fi
}
