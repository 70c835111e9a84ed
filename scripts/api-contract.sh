#!/usr/bin/env bash
# API contract: schemathesis (property-based testing, from PyPI) against the OpenAPI document that
# keydesk serves, so that src/api/openapi.json and the server cannot drift apart.
#
#  1. a venv with the pinned schemathesis (scripts/api-contract-requirements.txt), made once under
#     ${XDG_CACHE_HOME:-~/.cache}/keydesk/ and reused while the pins are unchanged;
#  2. a throwaway database on TEST_DATABASE_URL's server, migrations, and an eligible account with
#     one key, made with the operator CLI;
#  3. keydesk serving on a free 127.0.0.1 port;
#  4. schemathesis with every check, once per operation since each wants its own bearer token:
#     `me` with the phy_ key, `introspect` with APP_INTROSPECTION_TOKEN; the exposed-key
#     endpoints (`github_secret_scanning`, `revoke_keys`) take none.
#
# Usage: scripts/api-contract.sh [path to the keydesk binary]   (default target/debug/keydesk)
# Needs TEST_DATABASE_URL, a maintenance-database URL (`./dev.sh test` sets it; in a shell:
# eval "$(./dev.sh env)"). API_CONTRACT_EXAMPLES (default 100) and API_CONTRACT_SEED (default 1)
# tune schemathesis. Run by `./dev.sh test`. Exits non-zero when schemathesis finds a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/debug/keydesk}"
[ -x "$BIN" ] || { echo "api-contract: no binary at $BIN (cargo build first)" >&2; exit 2; }
[ -n "${TEST_DATABASE_URL:-}" ] || {
  echo "api-contract: TEST_DATABASE_URL is not set (run ./dev.sh test, or eval \"\$(./dev.sh env)\" first)" >&2
  exit 2
}
ST_VERSION=4.32.5
LOCK="$ROOT/scripts/api-contract-requirements.txt"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/keydesk"
VENV="$CACHE/schemathesis-$ST_VERSION"
EXAMPLES="${API_CONTRACT_EXAMPLES:-100}"
SEED="${API_CONTRACT_SEED:-1}"
WORK="$(mktemp -d /tmp/keydesk-contract.XXXXXX)"
APPLOG="$WORK/app.log"
DB="keydesk_contract_$(date +%s)_$$"
DB_MADE=""
APP_PID=""
START=$SECONDS

say() { echo "api-contract: $*" >&2; }
fail() { echo "api-contract: FAILED: $*" >&2; [ -f "$APPLOG" ] && tail -20 "$APPLOG" >&2; exit 1; }
PSQL="$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)"
[ -n "$PSQL" ] || fail "psql not found"
admin_sql() { "$PSQL" "$TEST_DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; fi
  if [ -n "$DB_MADE" ]; then
    admin_sql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || say "could not drop database $DB"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. schemathesis, pinned, in a venv of its own (one installer at a time: flock)
venv_ok() {
  [ "$(cat "$VENV/.pins-sha256" 2>/dev/null)" = "$(sha256sum "$LOCK" | cut -d' ' -f1)" ] &&
    "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $ST_VERSION\$"
}
make_venv() {
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    # Debian's python3 has no ensurepip without python3-venv
    [ "$(id -u)" = 0 ] || fail "python3 -m venv failed: sudo apt-get install -y python3-venv"
    say "installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$VENV" || fail "python3 -m venv failed"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$LOCK" ||
    fail "pip could not install $LOCK"
  sha256sum "$LOCK" | cut -d' ' -f1 >"$VENV/.pins-sha256"
}
mkdir -p "$CACHE"
exec 9>"$CACHE/schemathesis.lock"
flock 9
if ! venv_ok; then
  say "installing schemathesis $ST_VERSION into $VENV"
  make_venv
  venv_ok || fail "the venv does not have schemathesis $ST_VERSION"
fi
exec 9>&-

# 2. a throwaway database and an eligible account with one key
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
url_base="${TEST_DATABASE_URL%%\?*}"           # the URL without ?query, which is kept as it is
export APP_DATABASE_URL="${url_base%/*}/$DB${TEST_DATABASE_URL#"$url_base"}"
APP_SESSION_KEY="$(hex 64)" APP_KEY_PEPPER="$(hex 32)" APP_INTROSPECTION_TOKEN="$(hex 32)"
export APP_SESSION_KEY APP_KEY_PEPPER APP_INTROSPECTION_TOKEN
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export APP_LISTEN="127.0.0.1:$PORT" APP_WORKERS=2 RUST_LOG=warn
# schemathesis calls revoke-by-secret hundreds of times from one address: lift its per-IP limit
export APP_REVOKE_MAX_PER_MINUTE=100000
unset APP_METRICS_LISTEN
BASE="http://127.0.0.1:$PORT"

admin_sql "CREATE DATABASE $DB" || fail "could not create database $DB"
DB_MADE=1
"$BIN" migrate >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; fail "migrate"; }
# a 32-byte Solana address (base58 of random bytes, the first one non-zero)
ADDRESS="$(python3 -c '
import os
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n, s = int.from_bytes(b"\x01" + os.urandom(31), "big"), ""
while n: n, r = divmod(n, 58); s = a[r] + s
print(s)')"
{
  "$BIN" user create api@example.com
  "$BIN" api-keys enable api@example.com
  "$BIN" wallet api@example.com "$ADDRESS" --kind external
  "$BIN" key api@example.com contract
} >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; fail "making the account and its key"; }
KEY="$(grep -oE 'phy_[0-9A-Za-z]{38}' "$WORK/setup.log" | tail -1)" || fail "no phy_ key in the output of keydesk key"

# 3. keydesk
"$BIN" serve >"$APPLOG" 2>&1 &
APP_PID=$!
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" || true; }
deadline=$((SECONDS + 30))
until [ "$(code "$BASE/readyz")" = 200 ]; do
  kill -0 "$APP_PID" 2>/dev/null || fail "keydesk exited"
  [ $SECONDS -lt $deadline ] || fail "/readyz not 200 within 30 s"
  sleep 0.2
done
[ "$(code -H "Authorization: Bearer $KEY" "$BASE/api/v1/me")" = 200 ] || fail "the new key is not accepted"
say "keydesk ready on $BASE (database $DB); schemathesis $ST_VERSION, $EXAMPLES examples, seed $SEED"

# 4. schemathesis, once per operation with that operation's token
contract() { # operationId token
  say "operation $1"
  (cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/api/openapi.json" \
    --include-operation-id "$1" -H "Authorization: Bearer $2" \
    --checks all --continue-on-failure --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --generation-database none --request-timeout 10 --no-color)
}
# 413 (more than 100 keys to revoke) is a rejection of bad input like 400
cat >"$WORK/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
TOML
failed=()
contract me "$KEY" || failed+=(me)
contract introspect "$APP_INTROSPECTION_TOKEN" || failed+=(introspect)
contract spend "$APP_INTROSPECTION_TOKEN" || failed+=(spend)
contract void_spend "$APP_INTROSPECTION_TOKEN" || failed+=(void_spend)
# no credentials: the secret-scanning alert answers 401 to every unsigned body, revoke-by-secret
# 202 to anything well-formed (413 for more than 100 keys is a rejection like 400)
contract github_secret_scanning none || failed+=(github_secret_scanning)
contract revoke_keys none || failed+=(revoke_keys)

took=$((SECONDS - START))
if [ ${#failed[@]} -gt 0 ]; then
  echo "api-contract: FAILED: schemathesis found failures in ${failed[*]} (${took} s)" >&2
  exit 1
fi
echo "api-contract: ok, me, introspect, spend, void_spend, github_secret_scanning and revoke_keys conform to src/api/openapi.json (${took} s)"
