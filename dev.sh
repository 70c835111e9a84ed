#!/usr/bin/env bash
# keydesk developer entry point. Two commands matter (see README.md):
#
#   ./dev.sh run    private Postgres under .data/, migrations, demo accounts, a local mail sink
#                   (mail lands in .data/mail/new/), serve on 127.0.0.1:8080
#   ./dev.sh test   everything CI runs: fmt check, clippy, all tests (browser tests included),
#                   the outage, scale-out and API-contract checks
#
# Helpers: ./dev.sh pg-start | pg-stop | env (prints the exports for your shell) | psql
#
# Everything generated lives in .data/ (gitignored): the Postgres cluster, its socket and log,
# and .data/secrets.env with development secrets made once and reused on every run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="$ROOT/.data"
PGDATA_DIR="$DATA/pg"
PGSOCK="$DATA/pgsock"
PGLOG="$DATA/postgres.log"
PGPORT="${KEYDESK_PGPORT:-55433}"
SECRETS="$DATA/secrets.env"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

# --- packages --------------------------------------------------------------------------------

apt_install() {
  # Installs the named Debian packages when any is missing (root only; otherwise names them).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    die "missing packages: ${missing[*]} — install them with: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/17/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_postgres_installed() {
  if ! pg_bindir >/dev/null; then apt_install postgresql-15 postgresql-client-15; fi
  pg_bindir >/dev/null || die "PostgreSQL server binaries not found after install"
}

# --- the private cluster ---------------------------------------------------------------------

# Root cannot run Postgres: as root the cluster belongs to the `postgres` OS user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

gen_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

ensure_secrets() {
  # 711: other users (the postgres server) may pass through to .data/pg, but not list it
  [ -d "$DATA" ] || { mkdir -p "$DATA"; chmod 711 "$DATA"; }
  if [ ! -f "$SECRETS" ]; then
    say "generating development secrets in .data/secrets.env"
    umask 077
    cat >"$SECRETS" <<EOF
# Development secrets, generated once by dev.sh. Never use these in production.
PG_PASSWORD=$(gen_hex 24)
APP_SESSION_KEY=$(gen_hex 64)
APP_KEY_PEPPER=$(gen_hex 32)
APP_INTROSPECTION_TOKEN=$(gen_hex 32)
EOF
  fi
  # shellcheck disable=SC1090
  set -a; . "$SECRETS"; set +a
}

pg_start() {
  ensure_postgres_installed
  ensure_secrets
  local bin; bin="$(pg_bindir)"
  if [ "$(id -u)" = 0 ]; then
    # root cannot run Postgres; the server runs as the postgres OS user (made if missing)
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    # the postgres user must be able to reach the data folder
    chmod o+x "$ROOT" 2>/dev/null || true
    chmod 711 "$DATA"
  fi
  if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
    say "creating private Postgres cluster in .data/pg (port $PGPORT, loopback only)"
    mkdir -p "$PGDATA_DIR" "$PGSOCK"
    local pwfile="$DATA/.pwfile"
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PGDATA_DIR" "$PGSOCK" "$pwfile"; fi
    as_pg "$bin/initdb" -D "$PGDATA_DIR" -U keydesk --pwfile="$pwfile" --auth=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$DATA/initdb.log" 2>&1 || { cat "$DATA/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    cat >>"$PGDATA_DIR/postgresql.conf" <<EOF
# keydesk private cluster
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGSOCK'
max_connections = 200
shared_buffers = 256MB
EOF
  fi
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PGSOCK"; touch "$PGLOG"; chown postgres: "$PGLOG"; fi
  if ! as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    say "starting Postgres on 127.0.0.1:$PGPORT"
    # setsid: the server must outlive the shell (and process group) that started it
    as_pg setsid -w "$bin/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -w -t 60 start >/dev/null \
      || { tail -20 "$PGLOG" >&2; die "Postgres did not start"; }
  fi
  export PGPASSWORD="$PG_PASSWORD"
  "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U keydesk -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'keydesk'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U keydesk keydesk
}

# --- the local mail sink (a real SMTP server: Debian's python3-aiosmtpd, writing a Maildir) ---

MAILDIR="$DATA/mail"
MAIL_PORT="${KEYDESK_MAIL_PORT:-2525}"
MAIL_PID=""

mail_start() {
  apt_install python3-aiosmtpd
  mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"
  # Debian's interpreter has the package (a python3 from pyenv or a venv may not)
  /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
    >"$DATA/mail.log" 2>&1 &
  MAIL_PID=$!
  export APP_SMTP_URL="${APP_SMTP_URL:-smtp://127.0.0.1:$MAIL_PORT}"
  export APP_MAIL_FROM="${APP_MAIL_FROM:-keydesk <no-reply@localhost>}"
  export APP_WEBHOOK_ALLOW_PRIVATE="${APP_WEBHOOK_ALLOW_PRIVATE:-true}"
  say "mail sink on smtp://127.0.0.1:$MAIL_PORT — demo mail lands in $MAILDIR/new/ (one file per message)"
}

mail_stop() { [ -n "$MAIL_PID" ] && kill "$MAIL_PID" 2>/dev/null || true; }

pg_stop() {
  local bin; bin="$(pg_bindir)" || return 0
  [ -s "$PGDATA_DIR/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
}

app_env() {
  ensure_secrets
  export APP_DATABASE_URL="postgres://keydesk:${PG_PASSWORD}@127.0.0.1:${PGPORT}/keydesk"
  export TEST_DATABASE_URL="postgres://keydesk:${PG_PASSWORD}@127.0.0.1:${PGPORT}/postgres"
  export APP_LISTEN="${APP_LISTEN:-127.0.0.1:8080}"
}

# --- commands --------------------------------------------------------------------------------

cmd_run() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
  pg_start
  app_env
  # The development build (the test suite's profile, so after `./dev.sh test` nothing is built)
  # serves within minutes on a fresh machine; KEYDESK_RELEASE=1 builds the fat-LTO release
  # profile that the benchmark and deployment use (about 10 minutes cold on 2 cores).
  local profile=debug
  if [ -n "${KEYDESK_RELEASE:-}" ]; then
    say "building keydesk (release profile: fat LTO)"
    cargo build --release --quiet
    profile=release
  else
    say "building keydesk (development profile; KEYDESK_RELEASE=1 for the release build)"
    cargo build --quiet
  fi
  local bin="${CARGO_TARGET_DIR:-$ROOT/target}/$profile/keydesk"
  "$bin" migrate
  say "demo accounts (passwords are new on every run)"
  "$bin" demo seed
  mail_start
  say "serving on http://$APP_LISTEN — Ctrl-C stops keydesk, the mail sink and the private Postgres"
  say "mail: ls $MAILDIR/new/   webhooks may reach local receivers (APP_WEBHOOK_ALLOW_PRIVATE=true)"
  trap 'mail_stop; pg_stop' EXIT
  trap 'exit 0' INT TERM
  "$bin" serve
}

cmd_test() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
  pg_start
  app_env
  if [ -n "${CI:-}" ] || [ -n "${E2E_REQUIRED:-}" ]; then
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || apt_install chromium chromium-driver
  fi
  # the notification tests send mail to a real SMTP server (aiosmtpd)
  apt_install python3-aiosmtpd
  if [ -d "$ROOT/../shared/advisory-db/crates" ]; then
    say "RustSec advisories (offline, ../shared/advisory-db)"
    python3 "$ROOT/scripts/advisories.py" "$ROOT/../shared/advisory-db"
  fi
  say "cargo fmt --check"
  cargo fmt --all -- --check
  say "cargo clippy"
  cargo clippy --all-targets --quiet -- -D warnings
  say "cargo test"
  cargo test --quiet -- --test-threads="${TEST_THREADS:-4}"
  say "database outage and crash safety (scripts/outage-check.sh)"
  "$ROOT/scripts/outage-check.sh" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/keydesk"
  say "scale-out: 3 instances behind HAProxy on PgBouncer, kill -9, rolling restart (scripts/scale-check.sh)"
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || apt_install haproxy
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
  "$ROOT/scripts/scale-check.sh" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/keydesk"
  say "API contract: schemathesis against /api/openapi.json (scripts/api-contract.sh)"
  "$ROOT/scripts/api-contract.sh" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/keydesk"
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  pg-start) pg_start ;;
  pg-stop) pg_stop ;;
  env) pg_start >&2; app_env; printf 'export APP_DATABASE_URL=%q TEST_DATABASE_URL=%q APP_SESSION_KEY=%q APP_KEY_PEPPER=%q APP_INTROSPECTION_TOKEN=%q\n' \
         "$APP_DATABASE_URL" "$TEST_DATABASE_URL" "$APP_SESSION_KEY" "$APP_KEY_PEPPER" "$APP_INTROSPECTION_TOKEN" ;;
  psql) pg_start; app_env; shift; exec "$(pg_bindir)/psql" "$APP_DATABASE_URL" "$@" ;;
  *) echo "usage: ./dev.sh run | test | pg-start | pg-stop | env | psql" >&2; exit 2 ;;
esac
