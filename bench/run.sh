#!/usr/bin/env bash
# keydesk load benchmark: release build, a private Postgres, seeded keys, wrk.
#
#   bench/run.sh            prints ONE summary line on stdout (details on stderr)
#
# Scenarios (wrk -t2 -c32, BENCH_DURATION s each after a BENCH_WARMUP s warm-up, median of
# BENCH_RUNS runs): valid key, unknown well-formed key, malformed key, GET /healthz, valid key
# with usage and last-used recording both off (APP_USAGE=off APP_LAST_USED=off; a second server,
# its runs alternating with the valid-key runs so both see the same machine), the logged-in
# GET /settings/api-keys page (10 active + 50 revoked keys, with the usage column) and one key's
# detail page GET /settings/api-keys/{id} (with a day of usage behind it).
#
# Bound key (#27): a second valid key of the same account with network_mode 'enforce' and 20
# ranges in its allow list, 127.0.0.1/32 the last of them, so every request scans all 20 and is
# accepted (wrk connects from 127.0.0.1; the bench trusts no proxy). Its runs alternate with the
# valid-key runs on the same server (valid, bound, then bound, valid in the next round, so a
# drift favours neither), and the line adds bound_rps, bound_p99_ms, bound_non2xx and
# bound_vs_valid (median of the per-round ratios bound / valid). bound_statements_per_request
# and valid_statements_per_request count the database's committed transactions in the bench
# database over BENCH_STMT_REQUESTS sequential curl requests to the recording-off server
# (usage and last-used writes are batched and off there, so what is left is the verification),
# less the transactions of an idle window as long (the background jobs).
#
# With the peers' actix hello binary (BENCH_HELLO_BIN, default $PEERS_CARGO_TARGET/release/hello)
# the malformed-key and /healthz runs alternate with runs of hello on PORT+2, and the line adds
# hello_rps and the median per-round ratios malformed_vs_hello and healthz_vs_hello.
#
# Knobs: BENCH_RUNS=3 BENCH_DURATION=15 BENCH_WARMUP=3 BENCH_CONNS=32 BENCH_THREADS=2
#        BENCH_WORKERS=2 (keydesk HTTP workers) BENCH_POOL=16 BENCH_PORT=18080
#        BENCH_DATABASE_URL (default: database keydesk_bench in ./dev.sh's private cluster)
#        BENCH_ONLY=bound (only the valid/bound pair and the statement count: a short sitting;
#        the fields of the scenarios left out read not_run) BENCH_STMT_REQUESTS=2000
#        CARGO_TARGET_DIR (the build and the binary run; default ./target)
# Compare the line with ../shared/peers/ in the same sitting (see the notes in README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${BENCH_RUNS:-3}"
DUR="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-3}"
CONNS="${BENCH_CONNS:-32}"
THREADS="${BENCH_THREADS:-2}"
WORKERS="${BENCH_WORKERS:-2}"
POOL="${BENCH_POOL:-16}"
PORT="${BENCH_PORT:-18080}"
ONLY="${BENCH_ONLY:-}"
STMT_REQUESTS="${BENCH_STMT_REQUESTS:-2000}"
case "$ONLY" in ""|bound) ;; *) echo "bench: BENCH_ONLY must be empty or bound" >&2; exit 2 ;; esac
STATE="$ROOT/bench/.state"
mkdir -p "$STATE"
log() { echo "bench: $*" >&2; }

if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "bench: wrk is missing: apt-get install -y wrk" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >&2 || { apt-get update -q >&2; apt-get install -y -q wrk >&2; }
fi

log "building release"
cargo build --release --quiet
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/release/keydesk"

./dev.sh pg-start >&2
# shellcheck disable=SC1091
set -a; . "$ROOT/.data/secrets.env"; set +a
PSQL=(psql "postgres://keydesk:${PG_PASSWORD}@127.0.0.1:${KEYDESK_PGPORT:-55433}/postgres" -qtA)
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS keydesk_bench WITH (FORCE)" >/dev/null
  "${PSQL[@]}" -c "CREATE DATABASE keydesk_bench" >/dev/null
  BENCH_DATABASE_URL="postgres://keydesk:${PG_PASSWORD}@127.0.0.1:${KEYDESK_PGPORT:-55433}/keydesk_bench"
fi
export APP_KEY_RATE_MAX=1000000
export APP_DATABASE_URL="$BENCH_DATABASE_URL" APP_WORKERS="$WORKERS" \
  APP_DB_POOL_SIZE="$POOL" RUST_LOG="${RUST_LOG:-info}"
DB=(psql "$BENCH_DATABASE_URL" -qtA)
# the same server's maintenance database: reading the counters there adds none to the bench's
ADMIN=(psql "${BENCH_DATABASE_URL%/*}/postgres" -qtA)
BENCH_DB_NAME=$("${DB[@]}" -c "SELECT current_database()")

log "seeding"
"$BIN" migrate >/dev/null
"$BIN" demo seed >/dev/null
"$BIN" user create bench@example.com >/dev/null
# the page account's generated password, printed once by the CLI
BENCH_PW=$("$BIN" user create page@example.com | sed -n 's/.*password=//p')
for who in bench@example.com page@example.com; do
  "$BIN" api-keys enable "$who" >/dev/null
done
"$BIN" wallet bench@example.com 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin --kind external >/dev/null
"$BIN" wallet page@example.com 8HoQnePLqPj4M7PUDzfw8e3Ymdwgc7NLGnaTUapubyvu --kind external >/dev/null
VALID=$("$BIN" key bench@example.com bench-valid)
GONE=$("$BIN" key bench@example.com bench-deleted)
"${DB[@]}" -c "DELETE FROM api_keys WHERE prefix = '${GONE:0:12}'" >/dev/null
UNKNOWN="$GONE"
# the bound key: enforce, 20 ranges (IPv4 and IPv6), the one wrk connects from the last
BOUND=$("$BIN" key bench@example.com bench-bound)
BOUND_NETS="203.0.113.0/24,198.51.100.0/24,192.0.2.0/24,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
BOUND_NETS+=",100.64.0.0/10,198.18.0.0/15,169.254.0.0/16,224.0.0.0/4,240.0.0.0/4,8.8.8.0/24"
BOUND_NETS+=",1.1.1.0/24,2001:db8::/32,2001:db8:1::/48,fd00::/8,fe80::/10,2606:4700::/32"
BOUND_NETS+=",2a00:1450::/32,127.0.0.1/32"
[ "$(echo "$BOUND_NETS" | tr ',' '\n' | wc -l)" = 20 ] || { echo "bench: the bound key needs 20 ranges" >&2; exit 1; }
BOUND_ID=$("${DB[@]}" -c "SELECT id FROM api_keys WHERE prefix = '${BOUND:0:12}'")
# ... and, with BENCH_BOUND_RATE (default 1000000 a minute, far above the load), every bound of
# round 3 a verification checks: the binding, the pause flag and a rate limit (leased in slices
# of 1,000: one lease statement per thousand verifications)
BOUND_RATE="${BENCH_BOUND_RATE:-1000000}"
"${DB[@]}" -c "UPDATE api_keys SET network_mode = 'enforce', networks = '{$BOUND_NETS}'::cidr[],
  rate_limit = NULLIF('$BOUND_RATE', '0')::int WHERE id = '$BOUND_ID'" >/dev/null
[ "$("${DB[@]}" -c "SELECT network_mode || ' ' || cardinality(networks) || ' ' || networks[20]
  FROM api_keys WHERE id = '$BOUND_ID'")" = "enforce 20 127.0.0.1/32" ] || { echo "bench: bound key not bound" >&2; exit 1; }
MALFORMED="phy_malformed"
# the page account: 50 keys revoked, then 10 active
revoke_page_keys() {
  "${DB[@]}" -c "UPDATE api_keys SET revoked_at = now() FROM users u
    WHERE u.id = api_keys.account_id AND u.email = 'page@example.com' AND revoked_at IS NULL" >/dev/null
}
for i in $(seq 1 50); do
  "$BIN" key page@example.com "old-$i" >/dev/null
  [ $((i % 10)) = 0 ] && revoke_page_keys   # the 10-key limit applies to the seed too
done
for i in $(seq 1 10); do "$BIN" key page@example.com "live-$i" >/dev/null; done
# about 1,000 other keys, like the peers' table
"${DB[@]}" -c "INSERT INTO api_keys (account_id, name, prefix, hash, scopes)
  SELECT u.id, 'filler-' || g, 'phy_' || substr(md5(g::text), 1, 8), decode(md5(random()::text) || md5(random()::text), 'hex'), ARRAY['vm.buy.crypto']
    FROM users u, generate_series(1, 1000) g WHERE u.email = 'ana@example.com'" >/dev/null

SERVER_PID=""
OFF_PID=""
# start_server [PORT]: keydesk on PORT (default $PORT) with the environment as it is
start_server() {
  local port="${1:-$PORT}"
  APP_LISTEN="127.0.0.1:$port" "$BIN" serve >"$STATE/server-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      if [ "$port" = "$PORT" ]; then SERVER_PID=$pid; else OFF_PID=$pid; fi
      return 0
    fi
    sleep 0.1
  done
  echo "bench: keydesk did not become ready" >&2; tail -5 "$STATE/server-$port.log" >&2; exit 1
}
stop_servers() {
  [ -n "${HELLO_STOPPED:-}" ] && HELLO_PID=""
  for pid in $SERVER_PID $OFF_PID ${HELLO_PID:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  SERVER_PID=""; OFF_PID=""
}
trap stop_servers EXIT

# ms from wrk's "99%  3.21ms" style
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# one_run NAME URL [HEADER...]: one measured wrk run, appended to NAME's results
declare -A RPS P99 BAD
one_run() {
  local name=$1 url=$2; shift 2
  local hdr=() out
  for h in "$@"; do hdr+=(-H "$h"); done
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency --timeout 5s "${hdr[@]}" "$url")
  local n=$(( $(echo "${RPS[$name]:-}" | wc -w) + 1 ))
  echo "$out" >"$STATE/wrk-$name-$n.txt"
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}' | to_ms)
  RPS[$name]="${RPS[$name]:-} $rps"; P99[$name]="${P99[$name]:-} $p99"
  BAD[$name]=$(( ${BAD[$name]:-0} + $(echo "$out" | awk '/Non-2xx or 3xx responses/ {n = $5} END {print n + 0}') ))
  log "$name run $n: rps=$rps p99_ms=$p99"
}
warm() { local url=$1; shift; local hdr=(); for h in "$@"; do hdr+=(-H "$h"); done
  wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" "$url" >/dev/null 2>&1 || true; }
# NAME_rps NAME_p99 NAME_non2xx from NAME's runs (medians)
summarise() {
  local name=$1
  printf -v "${name}_rps" '%s' "$(printf '%s\n' ${RPS[$name]} | median)"
  printf -v "${name}_p99" '%s' "$(printf '%s\n' ${P99[$name]} | median)"
  printf -v "${name}_non2xx" '%s' "${BAD[$name]:-0}"
}
# scenario NAME URL [HEADER...]: warm-up, then BENCH_RUNS runs
scenario() {
  local name=$1 url=$2; shift 2
  warm "$url" "$@"
  for _ in $(seq 1 "$RUNS"); do one_run "$name" "$url" "$@"; done
  summarise "$name"
}

API="http://127.0.0.1:$PORT/api/v1/me"
start_server
# the same build with usage and last-used recording off, beside it (idle until its turn)
OFF_PORT=$((PORT + 1))
APP_LAST_USED=off APP_USAGE=off start_server "$OFF_PORT"
OFF_API="http://127.0.0.1:$OFF_PORT/api/v1/me"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VALID" "$API")" = 200 ] || { echo "bench: valid key not accepted" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $UNKNOWN" "$API")" = 401 ] || { echo "bench: unknown key not refused" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BOUND" "$API")" = 200 ] || { echo "bench: bound key not accepted from 127.0.0.1" >&2; exit 1; }
# the binding is enforced: the same key from another loopback address is refused
[ "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Authorization: Bearer $BOUND" "$API")" = 403 ] || { echo "bench: bound key not refused from 127.0.0.2" >&2; exit 1; }

if [ -z "$ONLY" ]; then
# a logged-in session for the page
JAR="$STATE/login.txt"
curl -s -D "$JAR.h" -o "$JAR.html" "http://127.0.0.1:$PORT/login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk-login=[^;]*\).*/\1/p' "$JAR.h")
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$JAR.html" | head -1)
curl -s -D "$JAR.h2" -o /dev/null -H "Cookie: $COOKIE" --data-urlencode "csrf_token=$CSRF" \
  --data-urlencode "email=page@example.com" --data-urlencode "password=$BENCH_PW" "http://127.0.0.1:$PORT/login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk=[^;]*\).*/\1/p' "$JAR.h2")
PAGE="http://127.0.0.1:$PORT/settings/api-keys"
[ "$(curl -s -o "$STATE/page.html" -w '%{http_code}' -H "Cookie: $COOKIE" "$PAGE")" = 200 ] || { echo "bench: login for the page failed" >&2; exit 1; }
grep -q "10 of 10" "$STATE/page.html" || { echo "bench: page does not show 10 active keys" >&2; exit 1; }
# a live key of the page account, with usage in every hour of the last day
DETAIL_ID=$("${DB[@]}" -c "SELECT k.id FROM api_keys k JOIN users u ON u.id = k.account_id
  WHERE u.email = 'page@example.com' AND k.revoked_at IS NULL ORDER BY k.created_at LIMIT 1")
"${DB[@]}" -c "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests)
  SELECT '$DETAIL_ID', date_trunc('hour', now()) - g * interval '1 hour', o, 1 + g
    FROM generate_series(0, 24 * 30 - 1) g, unnest(ARRAY['ok', 'revoked']) o
  ON CONFLICT DO NOTHING" >/dev/null
"${DB[@]}" -c "INSERT INTO key_client_ips (key_id, client_ip, first_seen, last_seen, requests)
  SELECT '$DETAIL_ID', '10.0.0.' || g, now() - interval '1 day', now() - g * interval '1 minute', g
    FROM generate_series(1, 50) g ON CONFLICT DO NOTHING" >/dev/null
DETAIL="http://127.0.0.1:$PORT/settings/api-keys/$DETAIL_ID"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$DETAIL")" = 200 ] || { echo "bench: detail page failed" >&2; exit 1; }
fi

# ratio A B: the median of the per-round ratios A / B (runs paired in order)
ratio() { paste -d' ' <(printf '%s\n' ${RPS[$1]}) <(printf '%s\n' ${RPS[$2]}) | awk '{printf "%.3f\n", $1 / $2}' | median; }

# The valid key unbound and bound, and recording on and off, runs alternating (valid, bound,
# off; then bound, valid, off; ...): the machine's drift falls on all alike, so the ratios are
# the binding's and the recording's costs rather than the minute each ran in.
warm "$API" "Authorization: Bearer $VALID"
warm "$API" "Authorization: Bearer $BOUND"
if [ -z "$ONLY" ]; then warm "$OFF_API" "Authorization: Bearer $VALID"; fi
for r in $(seq 1 "$RUNS"); do
  if [ $((r % 2)) = 1 ]; then
    one_run valid "$API" "Authorization: Bearer $VALID"
    one_run bound "$API" "Authorization: Bearer $BOUND"
  else
    one_run bound "$API" "Authorization: Bearer $BOUND"
    one_run valid "$API" "Authorization: Bearer $VALID"
  fi
  if [ -z "$ONLY" ]; then one_run recordingoff "$OFF_API" "Authorization: Bearer $VALID"; fi
done
summarise valid
summarise bound
bound_vs_valid=$(ratio bound valid)
if [ -z "$ONLY" ]; then summarise recordingoff; fi

# Statements per verification: the bench database's committed (and rolled-back) transactions
# over STMT_REQUESTS sequential requests to the recording-off server, less those of an idle
# window as long. Each statement outside a transaction is one transaction. A backend that
# flushed its counters less than a second ago holds the next ones until it has been idle 10 s
# (PostgreSQL 15's PGSTAT_IDLE_INTERVAL), so every reading follows 12 s without requests.
xacts() { "${ADMIN[@]}" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$BENCH_DB_NAME'"; }
# statements NAME KEY: prints the statements per request, details on stderr
statements() {
  local name=$1 key=$2 cfg="$STATE/curl-$1.cfg" a b c ok t0 t1 secs
  for _ in $(seq 1 "$STMT_REQUESTS"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$OFF_API"; done >"$cfg"
  sleep 12; a=$(xacts); t0=$(date +%s.%N)
  ok=$(curl -s -K "$cfg" -H "Authorization: Bearer $key" -w '%{http_code}\n' | grep -c '^200$' || true)
  sleep 12; b=$(xacts); t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  sleep "$secs"; c=$(xacts)
  log "$name statements: $STMT_REQUESTS requests ($ok answered 200) in ${secs}s: $((b - a)) transactions, then $((c - b)) in an idle ${secs}s"
  awk -v d=$((b - a - (c - b))) -v n="$ok" 'BEGIN {if (n > 0) printf "%.3f", d / n; else print "n/a"}'
}
bound_stmts=$(statements bound "$BOUND")
valid_stmts=$(statements valid "$VALID")
log "statements per request: bound=$bound_stmts valid=$valid_stmts"

if [ -z "$ONLY" ]; then
scenario unknown "$API" "Authorization: Bearer $UNKNOWN"
# The cheapest requests against the actix hello peer, when its binary is at hand: runs
# alternate (malformed, healthz, hello, ...) so the ratios compare the same minutes.
HELLO_BIN="${BENCH_HELLO_BIN:-${PEERS_CARGO_TARGET:-/nonexistent}/release/hello}"
warm "$API" "Authorization: Bearer $MALFORMED"
warm "http://127.0.0.1:$PORT/healthz"
if [ -x "$HELLO_BIN" ]; then
  HELLO_PORT=$((PORT + 2)) HELLO_WORKERS="$WORKERS" "$HELLO_BIN" >"$STATE/hello.log" 2>&1 &
  HELLO_PID=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$((PORT + 2))/hello" >/dev/null 2>&1 && break; sleep 0.1; done
  warm "http://127.0.0.1:$((PORT + 2))/hello"
fi
for _ in $(seq 1 "$RUNS"); do
  one_run malformed "$API" "Authorization: Bearer $MALFORMED"
  one_run healthz "http://127.0.0.1:$PORT/healthz"
  if [ -n "${HELLO_PID:-}" ]; then one_run hello "http://127.0.0.1:$((PORT + 2))/hello"; fi
done
summarise malformed
summarise healthz
HELLO_LINE="hello=not_run"
if [ -n "${HELLO_PID:-}" ]; then
  kill "$HELLO_PID" 2>/dev/null; wait "$HELLO_PID" 2>/dev/null || true
  HELLO_STOPPED=1
  summarise hello
  # the median of each round's ratio (a round is three runs in a row)
  HELLO_LINE="hello_rps=$hello_rps malformed_vs_hello=$(ratio malformed hello) healthz_vs_hello=$(ratio healthz hello)"
fi
scenario page "$PAGE" "Cookie: $COOKIE"
scenario detail "$DETAIL" "Cookie: $COOKIE"
else
  HELLO_LINE="hello=not_run"
fi
stop_servers

N=not_run
echo "keydesk workers=$WORKERS pool=$POOL flush_ms=5000 conns=$CONNS dur_s=$DUR runs=$RUNS" \
  "valid_rps=$valid_rps valid_p99_ms=$valid_p99 valid_non2xx=$valid_non2xx" \
  "unknown_rps=${unknown_rps:-$N} unknown_p99_ms=${unknown_p99:-$N}" \
  "malformed_rps=${malformed_rps:-$N} malformed_p99_ms=${malformed_p99:-$N}" \
  "healthz_rps=${healthz_rps:-$N} healthz_p99_ms=${healthz_p99:-$N} $HELLO_LINE" \
  "recordingoff_rps=${recordingoff_rps:-$N} recordingoff_p99_ms=${recordingoff_p99:-$N}" \
  "page_rps=${page_rps:-$N} page_p99_ms=${page_p99:-$N} page_non2xx=${page_non2xx:-$N}" \
  "detail_rps=${detail_rps:-$N} detail_p99_ms=${detail_p99:-$N} detail_non2xx=${detail_non2xx:-$N}" \
  "bound_rps=$bound_rps bound_p99_ms=$bound_p99 bound_non2xx=$bound_non2xx bound_vs_valid=$bound_vs_valid" \
  "bound_statements_per_request=$bound_stmts valid_statements_per_request=$valid_stmts bound_rate_limit=$BOUND_RATE"
