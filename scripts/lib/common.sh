# Shared by every script (sourced through scripts/lib.sh): the repository root,
# PostgreSQL's address, logging, root and apt helpers, the Rust toolchain
# check, ports.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
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

