#!/usr/bin/env bash
# Database outage and crash safety, against a throwaway Postgres cluster of its own:
#
#  1. keydesk starts while the database is down: it serves, /readyz is 503, pages are 503.
#  2. the database appears: keydesk becomes ready by itself (migrations applied) within 10 s.
#  3. the database stops (pg_ctl -m fast): pages and the API answer 503 within 5 s, never 401.
#  4. it comes back: 200 again within 10 s, the same session cookie still logged in.
#  5. crash safety: a stream of creates and revokes, `pg_ctl -m immediate` in the middle, a
#     restart; every create acknowledged with its secret works, every acknowledged revoke holds.
#
# Usage: scripts/outage-check.sh [path to the keydesk binary]   (default target/debug/keydesk)
# Run by `./dev.sh test` after the test suite. Exits non-zero with a message on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/debug/keydesk}"
[ -x "$BIN" ] || { echo "outage-check: no binary at $BIN (cargo build first)" >&2; exit 2; }
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PORT_PG="${OUTAGE_PGPORT:-18098}"   # below the ephemeral range (32768–60999): never taken by a client socket
PORT_APP="${OUTAGE_APPPORT:-18099}"
WORK="$(mktemp -d /tmp/keydesk-outage.XXXXXX)"
chmod 755 "$WORK"
PGDATA="$WORK/pg"
APPLOG="$WORK/app.log"
BASE="http://127.0.0.1:$PORT_APP"
APP_PID=""

say() { echo "outage-check: $*" >&2; }
fail() { echo "outage-check: FAILED: $*" >&2; [ -f "$APPLOG" ] && tail -20 "$APPLOG" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$PGDATA"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres: "$PGDATA"
fi
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U keydesk --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" "$PORT_PG" "$PGDATA" >>"$PGDATA/postgresql.conf"
pg_up() { as_pg setsid -w "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w -t 30 start >/dev/null; }
pg_down() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m "$1" -w stop >/dev/null; }

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
export APP_DATABASE_URL="postgres://keydesk@127.0.0.1:$PORT_PG/keydesk"
export APP_SESSION_KEY="$(hex 64)" APP_KEY_PEPPER="$(hex 32)" APP_INTROSPECTION_TOKEN="$(hex 32)"
export APP_LISTEN="127.0.0.1:$PORT_APP" APP_WORKERS=2 APP_DB_TIMEOUT_MS=2000 RUST_LOG=warn

code() { curl -s -o /dev/null -m 8 -w '%{http_code}' "$@" || true; }
wait_for() { # seconds url expected [curl args...]
  local secs=$1 url=$2 want=$3; shift 3
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(code "$@" "$url")" = "$want" ] && return 0
    sleep 0.2
  done
  return 1
}

# 1. start keydesk with no database
"$BIN" serve >"$APPLOG" 2>&1 &
APP_PID=$!
wait_for 15 "$BASE/healthz" 200 || fail "keydesk did not start without its database"
[ "$(code "$BASE/readyz")" = 503 ] || fail "/readyz should be 503 while the database is down"
# the login form needs no database (an anonymous view writes nothing); signing in does
curl -s -m 8 -D "$WORK/h0" -o "$WORK/login0.html" "$BASE/login" || true
C0=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk-login=[^;]*\).*/\1/p' "$WORK/h0")
T0=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$WORK/login0.html" | head -1)
[ -n "$C0" ] && [ -n "$T0" ] || fail "the login form should be served while the database is down"
[ "$(code -H "Cookie: $C0" --data-urlencode "csrf_token=$T0" --data-urlencode "email=a@b.c" \
  --data-urlencode "password=x" "$BASE/login")" = 503 ] || fail "signing in should be 503 while the database is down"
say "1/5 starts without its database and answers 503"

# 2. the database appears
pg_up
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT_PG" -U keydesk keydesk
wait_for 10 "$BASE/readyz" 200 || fail "not ready within 10 s of the database appearing"
wait_for 10 "$BASE/login" 200 || fail "login page not back within 10 s"
say "2/5 becomes ready by itself"

# an account with a key and a logged-in session
"$BIN" user create outage@example.com >"$WORK/user.txt"
PW=$(sed -n 's/.*password=//p' "$WORK/user.txt")
"$BIN" api-keys enable outage@example.com >/dev/null
"$BIN" wallet outage@example.com 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin --kind external >/dev/null
KEY=$("$BIN" key outage@example.com outage-key)
curl -s -D "$WORK/h1" -o "$WORK/login.html" "$BASE/login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk-login=[^;]*\).*/\1/p' "$WORK/h1")
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -1)
curl -s -D "$WORK/h2" -o /dev/null -H "Cookie: $COOKIE" --data-urlencode "csrf_token=$CSRF" \
  --data-urlencode "email=outage@example.com" --data-urlencode "password=$PW" "$BASE/login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk=[^;]*\).*/\1/p' "$WORK/h2")
[ "$(code -H "Cookie: $COOKIE" "$BASE/settings/api-keys")" = 200 ] || fail "login did not work"

# 3. the database goes away
pg_down fast
start=$SECONDS
wait_for 5 "$BASE/settings/api-keys" 503 -H "Cookie: $COOKIE" || fail "page not 503 within 5 s of the outage"
api=$(code -H "Authorization: Bearer $KEY" "$BASE/api/v1/me")
[ "$api" = 503 ] || fail "API answered $api during the outage (must be 503, never 401 or 200)"
[ $((SECONDS - start)) -le 5 ] || fail "503s took longer than 5 s"
say "3/5 outage answered with 503 (page and API)"

# 4. recovery, session intact
pg_up
wait_for 10 "$BASE/settings/api-keys" 200 -H "Cookie: $COOKIE" || fail "not recovered within 10 s, or the session was lost"
[ "$(code -H "Authorization: Bearer $KEY" "$BASE/api/v1/me")" = 200 ] || fail "API not recovered"
say "4/5 recovered within 10 s with the session intact"

# 5. crash safety: creates and revokes, then an immediate (crash) stop in the middle
PAGE=$(curl -s -H "Cookie: $COOKIE" "$BASE/settings/api-keys")
CSRF=$(echo "$PAGE" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
: >"$WORK/acked-keys"
: >"$WORK/acked-revokes"
for i in $(seq 1 8); do
  RID=$(cat /proc/sys/kernel/random/uuid)
  OUT=$(curl -s -m 8 -w '\n%{http_code}' -H "Cookie: $COOKIE" --data-urlencode "csrf_token=$CSRF" \
    --data-urlencode "request_id=$RID" --data-urlencode "name=crash-$i" --data-urlencode "expiration=never" \
    --data-urlencode "scopes=vm.buy.crypto" "$BASE/settings/api-keys" || true)
  if [ "$(echo "$OUT" | tail -1)" = 200 ]; then
    echo "$OUT" | sed -n 's/.*id="secret-value" class="secret" type="text" readonly value="\([^"]*\)".*/\1/p' >>"$WORK/acked-keys"
  fi
  if [ "$i" = 4 ]; then
    # revoke the first acknowledged key, and crash right after the acknowledgement
    FIRST=$(head -1 "$WORK/acked-keys")
    ID=$(curl -s -H "Authorization: Bearer $FIRST" "$BASE/api/v1/me" | sed -n 's/.*"key":{"id":"\([^"]*\)".*/\1/p')
    R=$(code -H "Cookie: $COOKIE" --data-urlencode "csrf_token=$CSRF" "$BASE/settings/api-keys/$ID/revoke")
    [ "$R" = 303 ] && echo "$FIRST" >>"$WORK/acked-revokes"
    pg_down immediate
    pg_up
  fi
done
[ -s "$WORK/acked-keys" ] || fail "no create was acknowledged"
wait_for 10 "$BASE/readyz" 200 || fail "not ready after the crash"
while read -r k; do
  want=200
  grep -qx "$k" "$WORK/acked-revokes" && want=401
  got=$(code -H "Authorization: Bearer $k" "$BASE/api/v1/me")
  if [ "$got" != "$want" ]; then
    if [ "$want" = 401 ]; then fail "an acknowledged revoke was lost across the crash (got $got)"; fi
    fail "an acknowledged create was lost across the crash (got $got)"
  fi
done <"$WORK/acked-keys"
say "5/5 $(wc -l <"$WORK/acked-keys") acknowledged creates and $(wc -l <"$WORK/acked-revokes") revoke survived pg_ctl -m immediate"
echo "outage-check: ok"
