# PostgreSQL (sourced through scripts/lib.sh): installed, started and
# reachable on $PG_HOST:$PG_PORT as $PG_USER; databases created on demand.

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

# Set when this script installed PostgreSQL or created its cluster: only then
# may it change the server's authentication (never on a server it found).
PG_SET_UP_HERE=""

ensure_postgres() {
  if ! command -v pg_isready >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-contrib
    PG_SET_UP_HERE=1
  fi
  if ! pg_up; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$version" ]; then
      version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
      log "creating PostgreSQL $version cluster 'main'"
      as_root pg_createcluster "$version" main >/dev/null
      PG_SET_UP_HERE=1
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
    pg_up || die "PostgreSQL did not come up on $PG_HOST:$PG_PORT"
  fi
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    [ -n "$PG_SET_UP_HERE" ] || die "cannot connect to PostgreSQL as $PG_USER@$PG_HOST:$PG_PORT without a \
password; this server was not set up by this script, so its authentication is left alone: set \
PGPASSWORD (or PG_USER/PG_HOST/PG_PORT), or allow trust for loopback in its pg_hba.conf"
    # A fresh Debian install asks for a password over TCP. This is the
    # development and test server this script just installed: trust loopback
    # connections, as the README says.
    local hba
    hba="$(as_root su postgres -c "psql -Atqc 'SHOW hba_file'")"
    log "allowing passwordless loopback connections in $hba (development set-up)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root su postgres -c "psql -Atqc 'SELECT pg_reload_conf()'" >/dev/null
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'SELECT 1' >/dev/null ||
      die "cannot connect to PostgreSQL as $PG_USER@$PG_HOST:$PG_PORT"
  fi
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
