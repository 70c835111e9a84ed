#!/usr/bin/env bash
# Scale-out, proven with the real parts: a private Postgres, PgBouncer (deploy/pgbouncer.ini)
# in front of it, three keydesk instances, HAProxy (deploy/haproxy.cfg) in front of them.
# Through the balancer:
#
#  1. sessions: log in through the balancer; the session (and its CSRF token) works on every
#     instance; the client address HAProxy saw is the one keydesk records (a forged
#     X-Forwarded-For is dropped); one verification is one indexed SELECT (pg_stat_statements).
#  2. the key limit: 50 concurrent creates at 9 of 10 keys, spread over the instances →
#     exactly one created (one 200, one row), 10 active keys; the others 409 (or 503 if one
#     waited longer than APP_DB_TIMEOUT_MS for the account's lock: nothing created either).
#  3. revocation: revoke through the balancer while 20 pollers per instance ask each instance
#     directly → no 200 for any request that started after the revoke was answered; the
#     usage counts (when the build has them) of three instances add up to what clients saw.
#  4. kill -9 of one instance under a stream of creates, revokes and reads: HAProxy takes it
#     out, every acknowledged create works, every acknowledged revoke holds, sessions intact;
#     the error rate in the kill window is printed and bounded.
#  5. last used across instances: keys used on each instance (one key on all three, the
#     newest use on the middle one) are buffered (nothing written yet), then
#  6. a rolling restart (drain through the runtime API, SIGTERM, start, /readyz, ready) under a
#     stream of API and page requests: zero failed requests; every instance flushed its
#     buffered "last used" at shutdown and the newest time won.
#  7. a key limited to 600 per window (SCALE_RATE_WINDOW seconds, default 5; a minute in
#     production) hammered through HAProxy by four clients for two whole windows: in each, the
#     three instances together accepted at most 600 and at least 540.
#
# Prints one summary line (stdout) and exits non-zero when a promise fails.
#
# Usage: scripts/scale-check.sh [path to the keydesk binary]   (default target/debug/keydesk)
# Knobs: SCALE_PGPORT (18120), SCALE_PGBPORT (18121), SCALE_LBPORT (18110), SCALE_ADMINPORT
#   (18119, HAProxy runtime API), SCALE_APPPORT (18111: instances on 18111..18113),
#   SCALE_POOL_MODE (session; `transaction` reproduces the failure documented in
#   docs/scaling.md), SCALE_POLLERS (20 per instance), SCALE_KILL_MAX_ERR_PCT (5),
#   SCALE_KEEP=1 (leave the work directory for inspection).
# SCALE_BENCH=1 (needs wrk) measures instead of checking: throughput of 1, 2 and 3 instances,
#   CPU per verification, pgbench ceilings, flush costs (docs/scaling.md §2); one `scale-bench`
#   line. SCALE_BENCH_SECS (10), SCALE_BENCH_RUNS (3).
# Needs: haproxy, pgbouncer, PostgreSQL ≥ 15 server binaries, curl. Runs as root (Postgres and
# PgBouncer then run as the `postgres` OS user) or as a normal user. Everything listens on
# 127.0.0.1 only; the client side also uses 127.0.0.2 as a source address (step 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/debug/keydesk}"
[ -x "$BIN" ] || { echo "scale-check: no binary at $BIN (cargo build first)" >&2; exit 2; }
for tool in haproxy pgbouncer curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] \
    || { echo "scale-check: $tool is missing (apt-get install haproxy pgbouncer curl)" >&2; exit 2; }
done
export PATH="$PATH:/usr/sbin"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PG_BIN/initdb" ] || { echo "scale-check: PostgreSQL server binaries not found" >&2; exit 2; }

# Every default port lies below Linux's ephemeral range (32768–60999): a port in it can be
# taken by any outgoing connection of the test suite, and then Postgres can't listen on it.
PORT_PG="${SCALE_PGPORT:-18120}"
PORT_PGB="${SCALE_PGBPORT:-18121}"
PORT_LB="${SCALE_LBPORT:-18110}"
PORT_ADMIN="${SCALE_ADMINPORT:-18119}"
APPPORT="${SCALE_APPPORT:-18111}"
POOL_MODE="${SCALE_POOL_MODE:-session}"
POLLERS="${SCALE_POLLERS:-20}"
KILL_MAX_ERR_PCT="${SCALE_KILL_MAX_ERR_PCT:-5}"
BENCH="${SCALE_BENCH:-0}"
BENCH_SECS="${SCALE_BENCH_SECS:-10}"
BENCH_RUNS="${SCALE_BENCH_RUNS:-3}"
if [ "$BENCH" = 1 ]; then
  command -v wrk >/dev/null || { echo "scale-check: SCALE_BENCH=1 needs wrk (apt-get install wrk)" >&2; exit 2; }
fi
N=3
KS_PORT=("" "$APPPORT" "$((APPPORT + 1))" "$((APPPORT + 2))")
KS_PID=("" "" "" "")
LB="http://127.0.0.1:$PORT_LB"
ks() { echo "http://127.0.0.1:${KS_PORT[$1]}"; }

STARTED=$SECONDS
WORK="$(mktemp -d /tmp/keydesk-scale.XXXXXX)"
chmod 755 "$WORK"
PGDATA="$WORK/pg"
PGB_DIR="$WORK/pgbouncer"
LB_PID=""
BG_PIDS=()

say() { echo "scale-check: $*" >&2; }
fail() {
  echo "scale-check: FAILED: $*" >&2
  for i in 1 2 3; do
    [ -s "$WORK/ks$i.log" ] && { echo "--- ks$i.log (tail)" >&2; tail -8 "$WORK/ks$i.log" >&2; }
  done
  [ -s "$WORK/haproxy.log" ] && { echo "--- haproxy.log (tail)" >&2; tail -8 "$WORK/haproxy.log" >&2; }
  [ -s "$PGB_DIR/pgbouncer.log" ] && { echo "--- pgbouncer.log (tail)" >&2; tail -5 "$PGB_DIR/pgbouncer.log" >&2; }
  exit 1
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pid() { # pid: TERM, then KILL after 10 s
  local p=$1 n=0
  kill "$p" 2>/dev/null || return 0
  while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  kill -9 "$p" 2>/dev/null || true
}
cleanup() {
  set +e
  touch "$WORK/stop"
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for i in 1 2 3; do [ -n "${KS_PID[$i]}" ] && kill "${KS_PID[$i]}" 2>/dev/null; done
  [ -n "$LB_PID" ] && kill "$LB_PID" 2>/dev/null
  [ -s "$PGB_DIR/pgbouncer.pid" ] && kill "$(cat "$PGB_DIR/pgbouncer.pid")" 2>/dev/null
  wait 2>/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  if [ "${SCALE_KEEP:-0}" = 1 ]; then echo "scale-check: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
uuid() { cat /proc/sys/kernel/random/uuid; }
code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" || true; }
wait_for() { # seconds url expected [curl args...]
  local secs=$1 url=$2 want=$3; shift 3
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(code "$@" "$url")" = "$want" ] && return 0
    sleep 0.2
  done
  return 1
}
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# --- Postgres: a private cluster, SCRAM, pg_stat_statements --------------------------------
mkdir -p "$PGDATA" "$PGB_DIR"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres: "$PGDATA" "$PGB_DIR"
fi
PG_PASSWORD="$(hex 16)"
(umask 077; printf '%s\n' "$PG_PASSWORD" >"$WORK/pwfile")
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/pwfile"
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U keydesk --pwfile="$WORK/pwfile" --auth=scram-sha-256 \
  -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; fail "initdb"; }
rm -f "$WORK/pwfile"
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT_PG
unix_socket_directories = '$PGDATA'
max_connections = 100
shared_preload_libraries = 'pg_stat_statements'
EOF
as_pg setsid -w "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w -t 30 start >/dev/null \
  || { tail -20 "$PGDATA/log" >&2; fail "Postgres did not start"; }
export PGPASSWORD="$PG_PASSWORD"
PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PORT_PG" -U keydesk -qtAX -v ON_ERROR_STOP=1)
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT_PG" -U keydesk keydesk
"${PSQL[@]}" -d keydesk -c "CREATE EXTENSION pg_stat_statements" >/dev/null
sql() { "${PSQL[@]}" -d keydesk -c "$1"; }

# --- PgBouncer: deploy/pgbouncer.ini with this run's ports and paths ------------------------
PGB_INI="$PGB_DIR/pgbouncer.ini"
cp "$ROOT/deploy/pgbouncer.ini" "$PGB_INI"
ini_set() { # key value: replace the one `key = …` line of the copy (it must exist)
  grep -qE "^$1 *=" "$PGB_INI" || fail "deploy/pgbouncer.ini has no '$1' line"
  local v=${2//|/\\|}
  sed -i -E "s|^$1 *=.*|$1 = $v|" "$PGB_INI"
}
ini_set keydesk "host=127.0.0.1 port=$PORT_PG dbname=keydesk"
ini_set listen_port "$PORT_PGB"
ini_set unix_socket_dir "$PGB_DIR"
ini_set logfile "$PGB_DIR/pgbouncer.log"
ini_set pidfile "$PGB_DIR/pgbouncer.pid"
ini_set auth_file "$PGB_DIR/userlist.txt"
ini_set pool_mode "$POOL_MODE"
ini_set admin_users keydesk
# the SCRAM secret as Postgres stores it: PgBouncer never sees a plaintext password
"${PSQL[@]}" -d keydesk -c "SELECT format('\"%s\" \"%s\"', rolname, rolpassword) FROM pg_authid WHERE rolname = 'keydesk'" >"$PGB_DIR/userlist.txt"
grep -q 'SCRAM-SHA-256' "$PGB_DIR/userlist.txt" || fail "no SCRAM secret for the userlist"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PGB_DIR"; fi
chmod 600 "$PGB_DIR/userlist.txt"
as_pg pgbouncer -d "$PGB_INI" >/dev/null 2>&1 || { cat "$PGB_DIR/pgbouncer.log" >&2 || true; fail "PgBouncer did not start"; }

# --- keydesk: one copy of the binary (a rebuild during the run changes nothing), 3 instances
KD="$WORK/keydesk"
cp "$BIN" "$KD"
export APP_DATABASE_URL="postgres://keydesk:$PG_PASSWORD@127.0.0.1:$PORT_PGB/keydesk"
export APP_SESSION_KEY="$(hex 64)" APP_KEY_PEPPER="$(hex 32)" APP_INTROSPECTION_TOKEN="$(hex 32)"
export APP_WORKERS=2 APP_DB_POOL_SIZE=8 APP_DB_TIMEOUT_MS=3000 RUST_LOG=warn
# long enough that nothing is flushed before the rolling restart: step 6 proves the flush at
# shutdown and the forward-only merge of three instances' buffers
export APP_LAST_USED_FLUSH_MS=600000
# usage counts (SPEC §9; ignored by a build without them) are flushed often: step 3 checks that
# the three instances' counts add up exactly
export APP_USAGE_FLUSH_MS=200
# the benchmark runs the production defaults instead (pool 16, flushes every 5 s)
[ "$BENCH" = 1 ] && export APP_DB_POOL_SIZE=16 APP_LAST_USED_FLUSH_MS=5000 APP_USAGE_FLUSH_MS=5000
export APP_PUBLIC_URL="$LB" APP_TRUSTED_PROXIES=127.0.0.1
# step 7's rate limit counts in short windows, so two whole windows pass in seconds
RATE_WINDOW="${SCALE_RATE_WINDOW:-5}"
export APP_KEY_RATE_WINDOW_SECS="$RATE_WINDOW" APP_KEY_RATE_MAX=1000000
for i in 1 2 3; do
  wait_for 1 "$(ks "$i")/healthz" 000 || fail "port ${KS_PORT[$i]} is already taken"
done
# The operator CLI: through PgBouncer like the instances. In transaction pooling separate CLI
# processes collide on statement names left on server connections ("prepared statement \"s2\"
# already exists"), so that experiment runs the CLI against Postgres directly and shows what
# the instances themselves do.
CLI_DB_URL="$APP_DATABASE_URL"
[ "$POOL_MODE" = session ] || CLI_DB_URL="postgres://keydesk:$PG_PASSWORD@127.0.0.1:$PORT_PG/keydesk"
kd() { APP_DATABASE_URL="$CLI_DB_URL" "$KD" "$@"; }
kd migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; fail "migrations ($POOL_MODE pooling)"; }
start_ks() {
  APP_LISTEN="127.0.0.1:${KS_PORT[$1]}" "$KD" serve >>"$WORK/ks$1.log" 2>&1 &
  KS_PID[$1]=$!
}
for i in 1 2 3; do start_ks "$i"; done
for i in 1 2 3; do
  wait_for 20 "$(ks "$i")/readyz" 200 || fail "instance $i not ready within 20 s"
done

# --- HAProxy: deploy/haproxy.cfg, addresses from the environment -----------------------------
wait_for 1 "$LB/" 000 || fail "port $PORT_LB is already taken"
export KEYDESK_LB_BIND="127.0.0.1:$PORT_LB" KEYDESK_LB_ADMIN="ipv4@127.0.0.1:$PORT_ADMIN"
export KEYDESK_LB_LOG=stderr
export KEYDESK_KS1="127.0.0.1:${KS_PORT[1]}" KEYDESK_KS2="127.0.0.1:${KS_PORT[2]}" KEYDESK_KS3="127.0.0.1:${KS_PORT[3]}"
haproxy -c -q -f "$ROOT/deploy/haproxy.cfg" || fail "deploy/haproxy.cfg does not parse"
haproxy -db -f "$ROOT/deploy/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
LB_PID=$!
sleep 0.3
kill -0 "$LB_PID" 2>/dev/null || fail "HAProxy did not start"

admin() { # one runtime-API command over TCP (bash's /dev/tcp: no socat needed)
  local fd out
  { exec {fd}<>"/dev/tcp/127.0.0.1/$PORT_ADMIN"; } 2>/dev/null || return 1
  printf '%s\n' "$1" >&"$fd"
  out=$(timeout 5 cat <&"$fd" || true)
  exec {fd}>&-
  printf '%s\n' "$out"
}
srv() { # server field: a column of `show stat` for keydesk/<server>
  admin "show stat" | awk -F, -v s="$1" -v f="$2" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "keydesk" && $2 == s { print $col[f] }'
}
wait_status() { # server want seconds: until `show stat` says status == want
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt "$deadline" ]; do
    [ "$(srv "$1" status 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
for i in 1 2 3; do wait_status "ks$i" UP 15 || fail "HAProxy did not see ks$i UP (status $(srv "ks$i" status))"; done
say "setup: Postgres :$PORT_PG, PgBouncer :$PORT_PGB ($POOL_MODE pooling), keydesk ×3 :${KS_PORT[1]}-${KS_PORT[3]}, HAProxy :$PORT_LB ($((SECONDS - STARTED)) s)"

# --- accounts --------------------------------------------------------------------------------
account() { # email wallet → prints the password
  kd user create "$1" >"$WORK/user.out" || fail "keydesk user create $1: $(cat "$WORK/user.out")"
  kd api-keys enable "$1" >/dev/null || fail "keydesk api-keys enable $1"
  kd wallet "$1" "$2" --kind external >/dev/null || fail "keydesk wallet $1"
  sed -n 's/.*password=//p' "$WORK/user.out"
}
new_key() { # email name → prints the secret
  local s
  s=$(kd key "$1" "$2" | tail -1) || fail "keydesk key $1 $2"
  case "$s" in phy_*) echo "$s" ;; *) fail "keydesk key $1 $2 printed no secret" ;; esac
}
login() { # email password login_get_base login_post_base [curl args] → prints the session cookie
  local h="$WORK/h.$RANDOM" b="$WORK/b.$RANDOM" c t e=$1 pw=$2 get=$3 post=$4
  shift 4
  curl -s -m 10 "$@" -D "$h" -o "$b" "$get/login"
  c=$(sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk-login=[^;]*\).*/\1/p' "$h")
  t=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$b" | head -1)
  curl -s -m 10 "$@" -D "$h" -o /dev/null -H "Cookie: $c" --data-urlencode "csrf_token=$t" \
    --data-urlencode "email=$e" --data-urlencode "password=$pw" "$post/login"
  sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-keydesk=[^;]*\).*/\1/p' "$h"
  rm -f "$h" "$b"
}
page_csrf() { # cookie base → the session CSRF token of the keys page
  curl -s -m 10 -H "Cookie: $1" "$2/settings/api-keys" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1
}
key_id() { # key base → its id (via /api/v1/me)
  curl -s -m 10 -H "Authorization: Bearer $1" "$2/api/v1/me" | sed -n 's/.*"key":{"id":"\([^"]*\)".*/\1/p'
}
secret_of() { sed -n 's/.*id="secret-value" class="secret" type="text" readonly value="\([^"]*\)".*/\1/p'; }

PW=$(account scale@example.com 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin)
for k in $(seq 1 8); do new_key scale@example.com "base-$k" >/dev/null; done
RKEY=$(new_key scale@example.com revoke-me)   # the 9th key: polled, then revoked

# --- SCALE_BENCH=1: the figures of docs/scaling.md instead of the checks ----------------------
# wrk -t2 -c32 on GET /api/v1/me with one valid key, BENCH_RUNS runs of BENCH_SECS s after a 2 s
# warm-up, medians: one instance directly, then HAProxy with 1, 2 and 3 instances in rotation
# (the others in maintenance); CPU per verification of every process; pgbench's ceilings on the
# same cluster; the cost of a last-used flush. Prints one `scale-bench` line.
to_ms() { # wrk latency ("812.00us", "1.23ms", "2.01s") → ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
wrk_med() { # name url → "rps p50 p99 non2xx total" (medians; non2xx and total: sums), also logged
  local name=$1 url=$2 r out rps=() p50=() p99=() bad=0 total=0
  wrk -t2 -c32 -d2s --timeout 5s -H "Authorization: Bearer $RKEY" "$url" >/dev/null 2>&1 || true
  for r in $(seq 1 "$BENCH_RUNS"); do
    out=$(wrk -t2 -c32 -d"${BENCH_SECS}s" --timeout 5s --latency -H "Authorization: Bearer $RKEY" "$url" 2>&1 || true)
    rps+=("$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')")
    p50+=("$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')")")
    p99+=("$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')")")
    bad=$((bad + $(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ { n = $5 } /Socket errors:/ { n += $4 + $6 + $8 + $10 } END { print n + 0 }')))
    total=$((total + $(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')))
    say "bench $name run $r: ${rps[-1]} rps, p50 ${p50[-1]} ms, p99 ${p99[-1]} ms, non-2xx $bad of $total so far"
  done
  echo "$(printf '%s\n' "${rps[@]}" | median) $(printf '%s\n' "${p50[@]}" | median) $(printf '%s\n' "${p99[@]}" | median) $bad $total"
}
cpu_ticks() { # pids... → utime+stime summed (clock ticks)
  local p t=0 f
  for p in "$@"; do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }   # fields after the command name
    t=$((t + $(echo "$f" | awk '{ print $12 + $13 }')))
  done
  echo "$t"
}
bench() {
  local pm r1 r2 r3 rd
  pm=$(head -1 "$PGDATA/postmaster.pid")
  rd=$(wrk_med direct "$(ks 1)/api/v1/me")
  admin "set server keydesk/ks2 state maint" >/dev/null; admin "set server keydesk/ks3 state maint" >/dev/null
  r1=$(wrk_med lb1 "$LB/api/v1/me")
  admin "set server keydesk/ks2 state ready" >/dev/null; wait_status ks2 UP 10 || fail "ks2 back"
  r2=$(wrk_med lb2 "$LB/api/v1/me")
  admin "set server keydesk/ks3 state ready" >/dev/null; wait_status ks3 UP 10 || fail "ks3 back"
  r3=$(wrk_med lb3 "$LB/api/v1/me")
  # CPU per verification: one more run through HAProxy with 3 instances, every process sampled
  local pg_pids ks_pids pgb_pid before_k before_p before_b before_h after_k after_p after_b after_h out n
  ks_pids=("${KS_PID[1]}" "${KS_PID[2]}" "${KS_PID[3]}")
  pgb_pid=$(cat "$PGB_DIR/pgbouncer.pid")
  mapfile -t pg_pids < <(echo "$pm"; pgrep -P "$pm")
  before_k=$(cpu_ticks "${ks_pids[@]}"); before_p=$(cpu_ticks "${pg_pids[@]}")
  before_b=$(cpu_ticks "$pgb_pid"); before_h=$(cpu_ticks "$LB_PID")
  sql "SELECT pg_stat_statements_reset()" >/dev/null
  out=$(wrk -t2 -c32 -d"${BENCH_SECS}s" --timeout 5s -H "Authorization: Bearer $RKEY" "$LB/api/v1/me" 2>&1 || true)
  mapfile -t pg_pids < <(echo "$pm"; pgrep -P "$pm")
  after_k=$(cpu_ticks "${ks_pids[@]}"); after_p=$(cpu_ticks "${pg_pids[@]}")
  after_b=$(cpu_ticks "$pgb_pid"); after_h=$(cpu_ticks "$LB_PID")
  n=$(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')
  local us_k us_p us_b us_h qpv
  per() { awk -v t="$1" -v n="$n" 'BEGIN { printf "%.0f", t * 10000 / n }'; }   # ticks (10 ms) → µs per request
  us_k=$(per $((after_k - before_k))); us_p=$(per $((after_p - before_p)))
  us_b=$(per $((after_b - before_b))); us_h=$(per $((after_h - before_h)))
  qpv=$(sql "SELECT round(sum(calls) FILTER (WHERE query LIKE '%\"api_keys\".\"hash\" = %')::numeric / $n, 3) FROM pg_stat_statements")
  local lookup_ms
  lookup_ms=$(sql "SELECT round((sum(total_exec_time) / sum(calls))::numeric, 4) FROM pg_stat_statements WHERE query LIKE '%\"api_keys\".\"hash\" = %'")
  say "bench cpu: $n requests; per verification keydesk ${us_k} µs, postgres ${us_p} µs, pgbouncer ${us_b} µs, haproxy ${us_h} µs; ${qpv} lookups per request, ${lookup_ms} ms each inside Postgres"
  # pgbench: the built-in select-only (primary key) and the verification query itself, 16 clients.
  # keydesk is stopped first: in session pooling its 3 × APP_DB_POOL_SIZE connections hold that
  # many PgBouncer server connections, and pgbench would queue behind them.
  for i in 1 2 3; do stop_pid "${KS_PID[$i]}"; KS_PID[$i]=""; done
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT_PG" -U keydesk pgb
  "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT_PG" -U keydesk -i -q -s 10 pgb >/dev/null 2>&1 || fail "pgbench -i"
  local hash; hash=$(sql "SELECT encode(hash, 'hex') FROM api_keys WHERE name = 'revoke-me'")
  cat >"$WORK/verify.sql" <<SQL
SELECT k.id, k.account_id, k.name, k.prefix, k.scopes, k.expires_at, k.expires_at <= now(), k.revoked_at,
       u.api_keys_enabled, EXISTS (SELECT 1 FROM wallets w WHERE w.account_id = k.account_id AND w.kind = 'external')
  FROM api_keys k JOIN users u ON u.id = k.account_id WHERE k.hash = decode('$hash', 'hex') LIMIT 1;
SQL
  pgb() { # name port db args... → median tps
    local name=$1 port=$2 db=$3 r t=(); shift 3
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U keydesk -n -c 16 -j 2 -T 2 "$@" "$db" >/dev/null 2>&1 || true
    for r in $(seq 1 "$BENCH_RUNS"); do
      t+=("$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U keydesk -n -c 16 -j 2 -T "$BENCH_SECS" "$@" "$db" 2>&1 | grep -oP 'tps = \K[0-9.]+' | head -1)")
      say "bench pgbench $name run $r: ${t[-1]} tps"
    done
    printf '%s\n' "${t[@]}" | median
  }
  local tps_s tps_v tps_vb
  tps_s=$(pgb select-only "$PORT_PG" pgb -S -M prepared)
  tps_v=$(pgb verify "$PORT_PG" keydesk -M prepared -f "$WORK/verify.sql")
  tps_vb=$(pgb verify-via-pgbouncer "$PORT_PGB" keydesk -M prepared -f "$WORK/verify.sql")
  # a last-used flush: keydesk's statement, 1,000 random keys of a 100,000-row copy of api_keys
  # (same columns and indexes), every row really written (each time newer than the last)
  sql "CREATE TABLE lu_bench (LIKE api_keys INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)" >/dev/null
  sql "INSERT INTO lu_bench (account_id, name, prefix, hash, scopes, request_id)
       SELECT gen_random_uuid(), 'k' || g, lpad(g::text, 12, '0'), sha256(g::text::bytea), '{vm.buy.crypto}', gen_random_uuid()
         FROM generate_series(1, 100000) g" >/dev/null
  sql "CREATE TABLE lu_batches AS SELECT b, array_agg(id) AS ids
         FROM (SELECT id, (row_number() OVER (ORDER BY random()) - 1) / 1000 + 1 AS b FROM lu_bench) x GROUP BY b" >/dev/null
  sql "ALTER TABLE lu_batches ADD PRIMARY KEY (b)" >/dev/null
  sql "VACUUM ANALYZE lu_bench" >/dev/null
  cat >"$WORK/flush.sql" <<'SQL'
\set b random(1, 100)
UPDATE lu_bench k SET last_used_at = v.t
  FROM unnest((SELECT ids FROM lu_batches WHERE b = :b), array_fill(clock_timestamp(), ARRAY[1000])) AS v(id, t)
 WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.t);
SQL
  local flush_ms
  flush_ms=$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT_PG" -U keydesk -n -c 1 -T "$BENCH_SECS" -f "$WORK/flush.sql" keydesk 2>&1 | grep -oP 'latency average = \K[0-9.]+' | head -1)
  say "bench flush: 1,000 keys in ${flush_ms} ms (one statement)"
  # a usage flush (when the build has usage): 1,000 (key, hour, outcome) counts added with
  # keydesk's upsert into a copy of key_usage_hourly, the rows already there (the steady state)
  local usage_ms="n/a"
  if [ "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name = 'key_usage_hourly'")" = 1 ]; then
    sql "CREATE TABLE uh_bench (LIKE key_usage_hourly INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)" >/dev/null
    cat >"$WORK/usage.sql" <<'SQL'
\set b random(1, 100)
INSERT INTO uh_bench (key_id, hour, outcome, requests)
SELECT v.key_id, date_trunc('hour', now()), 'ok', 7
  FROM unnest((SELECT ids FROM lu_batches WHERE b = :b)) AS v(key_id)
 ORDER BY v.key_id
ON CONFLICT (key_id, hour, outcome) DO UPDATE SET requests = uh_bench.requests + excluded.requests;
SQL
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT_PG" -U keydesk -n -c 1 -t 100 -f "$WORK/usage.sql" keydesk >/dev/null 2>&1 || true
    usage_ms=$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT_PG" -U keydesk -n -c 1 -T "$BENCH_SECS" -f "$WORK/usage.sql" keydesk 2>&1 | grep -oP 'latency average = \K[0-9.]+' | head -1)
    say "bench usage flush: 1,000 counts in ${usage_ms} ms (one upsert)"
  fi
  read -r d_rps d_p50 d_p99 d_bad d_n <<<"$rd"; read -r a_rps a_p50 a_p99 a_bad a_n <<<"$r1"
  read -r b_rps b_p50 b_p99 b_bad b_n <<<"$r2"; read -r c_rps c_p50 c_p99 c_bad c_n <<<"$r3"
  rel() { awk -v a="$1" -v b="$a_rps" 'BEGIN { printf "%.2f", a / b }'; }
  echo "scale-bench pool_mode=$POOL_MODE binary=$(basename "$(dirname "$BIN")") workers=$APP_WORKERS pool=$APP_DB_POOL_SIZE flush_ms=$APP_LAST_USED_FLUSH_MS conns=32 dur_s=$BENCH_SECS runs=$BENCH_RUNS" \
    "direct_rps=$d_rps direct_p99_ms=$d_p99 lb1_rps=$a_rps lb1_p50_ms=$a_p50 lb1_p99_ms=$a_p99 lb2_rps=$b_rps lb2_p99_ms=$b_p99 lb3_rps=$c_rps lb3_p99_ms=$c_p99" \
    "lb2_rel=$(rel "$b_rps") lb3_rel=$(rel "$c_rps") non2xx=direct:$d_bad/$d_n,lb1:$a_bad/$a_n,lb2:$b_bad/$b_n,lb3:$c_bad/$c_n" \
    "cpu_us_keydesk=$us_k cpu_us_postgres=$us_p cpu_us_pgbouncer=$us_b cpu_us_haproxy=$us_h lookups_per_verify=$qpv lookup_exec_ms=$lookup_ms" \
    "pgbench_select_only_tps=$tps_s pgbench_verify_tps=$tps_v pgbench_verify_via_pgbouncer_tps=$tps_vb flush_1000_keys_ms=$flush_ms usage_1000_counts_ms=$usage_ms"
}
if [ "$BENCH" = 1 ]; then bench; exit 0; fi

# --- 1. sessions on every instance ------------------------------------------------------------
# the login form from instance 1, the POST to instance 2 (the login CSRF is signed with the
# shared APP_SESSION_KEY), then the session on every instance directly and through HAProxy
COOKIE=$(login scale@example.com "$PW" "$(ks 1)" "$(ks 2)")
[ -n "$COOKIE" ] || fail "login with the form of instance 1 posted to instance 2 did not work"
for i in 1 2 3; do
  c=$(code -H "Cookie: $COOKIE" "$(ks "$i")/settings/api-keys")
  [ "$c" = 200 ] || fail "the session does not work on instance $i (got $c)"
done
# through HAProxy from another loopback address, with a forged X-Forwarded-For: keydesk must
# record the address HAProxy saw (it trusts HAProxy's header, which replaced the client's)
COOKIE_LB=$(login scale@example.com "$PW" "$LB" "$LB" --interface 127.0.0.2 -H "X-Forwarded-For: 203.0.113.66")
[ -n "$COOKIE_LB" ] || fail "login through HAProxy did not work"
CLIENT_IP=$(sql "SELECT ip FROM audit_events WHERE action = 'login.succeeded' ORDER BY id DESC LIMIT 1")
[ "$CLIENT_IP" = 127.0.0.2 ] || fail "behind HAProxy keydesk recorded the client as '$CLIENT_IP' (want 127.0.0.2: HAProxy's X-Forwarded-For, the forged one dropped)"
before=$(for i in 1 2 3; do srv "ks$i" stot; done | tr '\n' ' ')
for _ in $(seq 1 9); do
  c=$(code -H "Cookie: $COOKIE_LB" "$LB/settings/api-keys")
  [ "$c" = 200 ] || fail "the session through HAProxy got $c"
done
after=$(for i in 1 2 3; do srv "ks$i" stot; done | tr '\n' ' ')
read -r b1 b2 b3 <<<"$before"; read -r a1 a2 a3 <<<"$after"
[ $((a1 - b1)) -ge 2 ] && [ $((a2 - b2)) -ge 2 ] && [ $((a3 - b3)) -ge 2 ] \
  || fail "HAProxy did not spread the session's requests over the three instances ($before → $after)"
# one verification = how many statements? (pg_stat_statements, 300 verifications through
# HAProxy, again from 127.0.0.2 with a forged X-Forwarded-For). Not counted: /readyz, a new
# connection's SETs, PgBouncer's check, and the background work (the last-used and usage
# flushes, the notice worker and its detectors; their own statements are tagged
# `/* keydesk background */`), which runs per interval, not per request.
sql "SELECT pg_stat_statements_reset()" >/dev/null
urls=(); for _ in $(seq 1 300); do urls+=("$LB/api/v1/me"); done
ok=$(curl -s -m 60 -w '%{stderr}%{http_code}\n' --interface 127.0.0.2 -H "X-Forwarded-For: 203.0.113.66" \
  -H "Authorization: Bearer $RKEY" "${urls[@]}" 2>&1 >/dev/null | grep -c '^200$' || true)
[ "$ok" = 300 ] || fail "only $ok of 300 verifications answered 200"
NOT_PER_REQUEST="query NOT LIKE '%__diesel_schema_migrations%' AND query NOT LIKE '%pg_stat_statements%'
  AND query NOT LIKE 'SET %' AND query NOT ILIKE 'select \$1' AND query NOT LIKE 'UPDATE api_keys k%'
  AND query NOT LIKE 'INSERT INTO key\\_%' AND query NOT LIKE 'DELETE FROM key\\_%'
  AND query NOT LIKE '/* keydesk background */%'"
read -r VERIFY_CALLS OTHER_CALLS < <(sql "SELECT coalesce(sum(calls) FILTER (WHERE query LIKE '%\"api_keys\".\"hash\" = %'), 0),
    coalesce(sum(calls) FILTER (WHERE query NOT LIKE '%\"api_keys\".\"hash\" = %' AND $NOT_PER_REQUEST), 0)
    FROM pg_stat_statements" | tr '|' ' ')
[ "$VERIFY_CALLS" = 300 ] || fail "300 verifications ran the key lookup $VERIFY_CALLS times"
[ "$OTHER_CALLS" = 0 ] || fail "verifications ran $OTHER_CALLS other statements: $(sql "SELECT calls || ' × ' || left(query, 100) FROM pg_stat_statements WHERE query NOT LIKE '%\"api_keys\".\"hash\" = %' AND $NOT_PER_REQUEST")"
QPV=$(awk -v a="$VERIFY_CALLS" -v b="$OTHER_CALLS" 'BEGIN { printf "%.2f", (a + b) / 300 }')
[ "$(sql "SELECT count(*) FROM pg_indexes WHERE tablename = 'api_keys' AND indexdef LIKE 'CREATE UNIQUE INDEX % (hash)'")" = 1 ] \
  || fail "api_keys.hash has no unique index"
say "1/7 one session on all 3 instances; client address through HAProxy kept, forged one dropped; a verification = $QPV statement (the lookup by the unique hash index)"

# --- 2. the key limit across instances: 50 concurrent creates at 9 keys -----------------------
CSRF=$(page_csrf "$COOKIE_LB" "$LB")
[ -n "$CSRF" ] || fail "no CSRF token on the keys page"
mkdir -p "$WORK/race"
race=()
for i in $(seq 1 50); do
  (
    while [ ! -e "$WORK/race/go" ]; do sleep 0.01; done
    c=$(code -H "Cookie: $COOKIE_LB" --data-urlencode "csrf_token=$CSRF" --data-urlencode "request_id=$(uuid)" \
      --data-urlencode "name=race-$i" --data-urlencode "expiration=never" \
      --data-urlencode "scopes=vm.buy.crypto" "$LB/settings/api-keys")
    echo "$c" >"$WORK/race/$i"
  ) &
  race+=($!)
done
sleep 0.3
touch "$WORK/race/go"
for p in "${race[@]}"; do wait "$p" || true; done
created=$(cat "$WORK"/race/[0-9]* | grep -c '^200$' || true)
refused=$(cat "$WORK"/race/[0-9]* | grep -c '^409$' || true)
busy=$(cat "$WORK"/race/[0-9]* | grep -c '^503$' || true)   # waited longer than APP_DB_TIMEOUT_MS
others=$(cat "$WORK"/race/[0-9]* | grep -vE '^(200|409|503)$' | sort | uniq -c | tr -s ' \n' ' ' || true)
stored=$(sql "SELECT count(*) FROM api_keys WHERE name LIKE 'race-%'")
active=$(sql "SELECT count(*) FROM api_keys k JOIN users u ON u.id = k.account_id
  WHERE u.email = 'scale@example.com' AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())")
[ "$created" = 1 ] && [ "$stored" = 1 ] && [ "$active" = 10 ] && [ -z "$others" ] \
  || fail "50 concurrent creates at 9 keys: $created answered 200, $stored stored, $refused refused (409), $busy 503, others:${others:- none}; $active active keys (want 1, 1, 10 and only 409/503 otherwise)"
say "2/7 50 concurrent creates at 9 keys over 3 instances: exactly 1 created, $refused refused (409), $busy busy (503), 10 active"

# --- 3. revoke through HAProxy while pollers ask every instance directly ---------------------
RID=$(key_id "$RKEY" "$LB")
[ -n "$RID" ] || fail "no id for the key to revoke"
poller() { # out base: GET /api/v1/me with RKEY until told to stop; "start-time status" lines
  local n=0 deadline=$((SECONDS + 30)) t c
  while [ ! -e "$WORK/stop-poll" ] && [ $n -lt 3000 ] && [ $SECONDS -lt $deadline ]; do
    t=$EPOCHREALTIME
    c=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "Authorization: Bearer $RKEY" "$2/api/v1/me" || true)
    echo "$t $c $2" >>"$1"
    n=$((n + 1))
  done
}
pollers=()
for i in 1 2 3; do
  for p in $(seq 1 "$POLLERS"); do poller "$WORK/poll.$i.$p" "$(ks "$i")" & pollers+=($!); BG_PIDS+=($!); done
done
sleep 1.5
R=$(code -H "Cookie: $COOKIE_LB" --data-urlencode "csrf_token=$CSRF" "$LB/settings/api-keys/$RID/revoke")
T_ACK=$EPOCHREALTIME
[ "$R" = 303 ] || { touch "$WORK/stop-poll"; fail "revoke through HAProxy answered $R"; }
sleep 2
touch "$WORK/stop-poll"
for p in "${pollers[@]}"; do wait "$p" || true; done
cat "$WORK"/poll.* >"$WORK/polls"
read -r POLLS BEFORE_OK LATE_OK AFTER_401 BAD < <(awk -v t="$T_ACK" '
  { n++ }
  $1 < t && $2 == 200 { before++ }
  $1 >= t && $2 == 200 { late++ }
  $1 >= t && $2 == 401 { after[$3]++; a++ }
  $2 != 200 && $2 != 401 { bad++ }
  END { ok = 0; for (k in after) ok++; printf "%d %d %d %d %d\n", n, before, late, (ok == 3 ? a : 0), bad }' "$WORK/polls")
[ "$LATE_OK" = 0 ] || fail "$LATE_OK polls that started after the revoke was answered still got 200"
[ "$BEFORE_OK" -gt 0 ] && [ "$AFTER_401" -gt 0 ] || fail "the pollers saw no 200 before ($BEFORE_OK) or no 401 after the revoke on every instance ($AFTER_401)"
[ "$BAD" = 0 ] || fail "$BAD polls got neither 200 nor 401"
# usage (SPEC §9, when the build has it): every instance adds its own counts, so the revoked
# key's counts must add up exactly to what the clients saw: 301 + the pollers' 200s accepted,
# the pollers' 401s refused as revoked; and the address is the one HAProxy saw (127.0.0.2)
USAGE="n/a"
if [ "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name = 'key_usage_hourly'")" = 1 ]; then
  want_ok=$((301 + $(awk '$2 == 200' "$WORK/polls" | wc -l)))
  want_rev=$(awk '$2 == 401' "$WORK/polls" | wc -l)
  got=""
  for _ in $(seq 1 50); do
    got=$(sql "SELECT coalesce(sum(requests) FILTER (WHERE outcome = 'ok'), 0) || ' ' || coalesce(sum(requests) FILTER (WHERE outcome = 'revoked'), 0)
      FROM key_usage_hourly WHERE key_id = '$RID'")
    [ "$got" = "$want_ok $want_rev" ] && break
    sleep 0.2
  done
  [ "$got" = "$want_ok $want_rev" ] || fail "usage of the revoked key: ok/revoked counts $got in the database, the clients saw $want_ok $want_rev"
  ips=$(sql "SELECT string_agg(client_ip, ',' ORDER BY client_ip) FROM key_client_ips WHERE key_id = '$RID'")
  case ",$ips," in *,127.0.0.2,*) ;; *) fail "usage: the key's client addresses are '$ips', without 127.0.0.2 (HAProxy's X-Forwarded-For)";; esac
  case ",$ips," in *203.0.113.66*) fail "usage: a forged X-Forwarded-For was recorded as a client address";; esac
  USAGE="ok=$want_ok+revoked=$want_rev"
fi
say "3/7 revoke: $POLLS polls from $((3 * POLLERS)) pollers, $BEFORE_OK×200 before the answer, 0 after ($AFTER_401×401); usage sums across instances: $USAGE"

# --- 4. kill -9 of one instance under load ---------------------------------------------------
KPW=$(account kill@example.com ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL)
KCOOKIE=$(login kill@example.com "$KPW" "$LB" "$LB")
[ -n "$KCOOKIE" ] || fail "login (kill account)"
KCSRF=$(page_csrf "$KCOOKIE" "$LB")
MKEY=$(new_key kill@example.com reader)
: >"$WORK/acked-creates"; : >"$WORK/acked-revokes"
writer() { # w: create keys; revoke every other one at once and the kept ones later (≤ 2 kept)
  local w=$1 i=0 deadline=$((SECONDS + 30)) kept=() t out c s id r
  while [ ! -e "$WORK/stop-k9" ] && [ $i -lt 200 ] && [ $SECONDS -lt $deadline ]; do
    i=$((i + 1))
    t=$EPOCHREALTIME
    out=$(curl -s -m 10 -w '\n%{http_code}' -H "Cookie: $KCOOKIE" --data-urlencode "csrf_token=$KCSRF" \
      --data-urlencode "request_id=$(uuid)" --data-urlencode "name=k9-$w-$i" --data-urlencode "expiration=never" \
      --data-urlencode "scopes=vm.buy.crypto" "$LB/settings/api-keys" || true)
    c=$(printf '%s\n' "$out" | tail -1)
    echo "$t ${c:-000} create" >>"$WORK/k9.$w"
    [ "$c" = 200 ] || continue
    s=$(printf '%s\n' "$out" | secret_of)
    [ -n "$s" ] || continue
    echo "$s" >>"$WORK/acked-creates"
    if [ $((i % 2)) = 0 ]; then kept+=("$s"); [ ${#kept[@]} -le 2 ] && continue; s=${kept[0]}; kept=("${kept[@]:1}"); fi
    t=$EPOCHREALTIME
    id=$(key_id "$s" "$LB")
    echo "$t $([ -n "$id" ] && echo 200 || echo 000) lookup" >>"$WORK/k9.$w"
    [ -n "$id" ] || continue
    t=$EPOCHREALTIME
    r=$(code -H "Cookie: $KCOOKIE" --data-urlencode "csrf_token=$KCSRF" "$LB/settings/api-keys/$id/revoke")
    echo "$t $r revoke" >>"$WORK/k9.$w"
    [ "$r" = 303 ] && echo "$s" >>"$WORK/acked-revokes"
  done
}
reader() { # out url header: GETs until told to stop
  local n=0 deadline=$((SECONDS + 30)) t c
  while [ ! -e "$WORK/stop-$4" ] && [ $n -lt 3000 ] && [ $SECONDS -lt $deadline ]; do
    t=$EPOCHREALTIME
    c=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "$3" "$2" || true)
    echo "$t $c read" >>"$1"
    n=$((n + 1))
  done
}
k9=()
for w in 1 2; do writer "$w" & k9+=($!); BG_PIDS+=($!); done
reader "$WORK/k9.r1" "$LB/api/v1/me" "Authorization: Bearer $MKEY" k9 & k9+=($!); BG_PIDS+=($!)
reader "$WORK/k9.r2" "$LB/settings/api-keys" "Cookie: $KCOOKIE" k9 & k9+=($!); BG_PIDS+=($!)
reader "$WORK/k9.r3" "$LB/api/v1/me" "Authorization: Bearer $MKEY" k9 & k9+=($!); BG_PIDS+=($!)
sleep 2
T_KILL=$EPOCHREALTIME
kill -9 "${KS_PID[2]}"
wait "${KS_PID[2]}" 2>/dev/null || true
KS_PID[2]=""
wait_status ks2 DOWN 5 || { touch "$WORK/stop-k9"; fail "HAProxy did not take the killed instance out within 5 s (status $(srv ks2 status))"; }
DOWN_MS=$(ms_since "$T_KILL")
T_DOWN=$EPOCHREALTIME
sleep 2.5
touch "$WORK/stop-k9"
for p in "${k9[@]}"; do wait "$p" || true; done
cat "$WORK"/k9.[0-9r]* >"$WORK/k9.all"
# the kill window: from 2 s before the kill to 2 s after HAProxy marked the instance down
# Only a create that was running on the killed instance may fail (HAProxy cannot know whether
# it was applied, so it does not send it again); reads and revokes are retried elsewhere.
read -r K_TOTAL K_ERR K_KINDS < <(awk -v a="$T_KILL" -v b="$T_DOWN" '
  $1 >= a - 2 && $1 <= b + 2 {
    n++; ok = ($3 == "revoke" ? $2 == 303 : $2 == 200)
    if (!ok) { e++; kinds[$3 ":" $2]++ }
  }
  END { k = ""; for (x in kinds) k = k x "×" kinds[x] ","; printf "%d %d %s\n", n, e, (k == "" ? "-" : k) }' "$WORK/k9.all")
K_PCT=$(awk -v e="$K_ERR" -v n="$K_TOTAL" 'BEGIN { printf "%.1f", n ? 100 * e / n : 0 }')
[ "$K_TOTAL" -ge 10 ] || fail "too few requests in the kill window ($K_TOTAL)"
awk -v e="$K_ERR" -v p="$K_PCT" -v m="$KILL_MAX_ERR_PCT" 'BEGIN { exit !(e <= 2 || p <= m) }' \
  || fail "error rate in the kill window $K_PCT% ($K_ERR of $K_TOTAL: $K_KINDS) is above $KILL_MAX_ERR_PCT%"
awk '$3 != "create" && $2 != 200 && $2 != 303 { bad++ } END { exit bad > 0 }' "$WORK/k9.all" \
  || fail "reads or revokes failed while an instance was killed (HAProxy should have retried them elsewhere): $K_KINDS"
ACKED_C=$(wc -l <"$WORK/acked-creates"); ACKED_R=$(wc -l <"$WORK/acked-revokes")
[ "$ACKED_C" -ge 4 ] && [ "$ACKED_R" -ge 2 ] || fail "too few acknowledged creates ($ACKED_C) or revokes ($ACKED_R)"
LOST=0
while read -r k; do
  want=200; grep -qx "$k" "$WORK/acked-revokes" && want=401
  got=$(code -H "Authorization: Bearer $k" "$LB/api/v1/me")
  if [ "$got" != "$want" ]; then LOST=$((LOST + 1)); say "acknowledged $([ $want = 401 ] && echo revoke || echo create) lost: got $got"; fi
done <"$WORK/acked-creates"
[ "$LOST" = 0 ] || fail "$LOST acknowledged creates or revokes were lost when an instance was killed"
for c in "$COOKIE_LB" "$KCOOKIE"; do
  g=$(code -H "Cookie: $c" "$LB/settings/api-keys")
  [ "$g" = 200 ] || fail "a session was lost with the killed instance (got $g)"
done
start_ks 2
wait_for 20 "$(ks 2)/readyz" 200 || fail "instance 2 did not come back"
wait_status ks2 UP 15 || fail "HAProxy did not put instance 2 back (status $(srv ks2 status))"
say "4/7 kill -9: out of rotation in ${DOWN_MS} ms; errors in the window $K_ERR/$K_TOTAL ($K_PCT%: ${K_KINDS%,}); $ACKED_C acked creates and $ACKED_R acked revokes all hold; sessions intact"

# --- 5. last used, buffered per instance ------------------------------------------------------
declare -A LU_KEY LU_T
for i in 1 2 3; do
  LU_KEY[$i]=$(new_key kill@example.com "lu-$i")
done
SHARED=$(new_key kill@example.com lu-shared)
for i in 1 3 2; do   # the shared key's newest use is on instance 2, and instance 3 flushes last
  [ "$(code -H "Authorization: Bearer ${LU_KEY[$i]}" "$(ks "$i")/api/v1/me")" = 200 ] || fail "lu-$i on instance $i"
  [ "$(code -H "Authorization: Bearer $SHARED" "$(ks "$i")/api/v1/me")" = 200 ] || fail "lu-shared on instance $i"
  LU_T[$i]=$(sql "SELECT extract(epoch FROM now())")
  sleep 0.05
done
written=$(sql "SELECT count(*) FROM api_keys WHERE name LIKE 'lu-%' AND last_used_at IS NOT NULL")
[ "$written" = 0 ] || fail "last-used was written per request ($written keys), not buffered"
say "5/7 4 keys used on 3 instances directly; last-used buffered in memory (0 written)"

# --- 6. rolling restart under a stream of requests ------------------------------------------
rr=()
for r in 1 2; do
  reader "$WORK/rr.api.$r" "$LB/api/v1/me" "Authorization: Bearer $MKEY" rr & rr+=($!); BG_PIDS+=($!)
  reader "$WORK/rr.page.$r" "$LB/settings/api-keys" "Cookie: $KCOOKIE" rr & rr+=($!); BG_PIDS+=($!)
done
sleep 1
RR_START=$SECONDS
for i in 1 2 3; do
  admin "set server keydesk/ks$i state drain" >/dev/null
  n=0; while [ "$(srv "ks$i" scur)" != 0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  [ "$(srv "ks$i" scur)" = 0 ] || fail "ks$i still had requests 10 s after the drain"
  kill -TERM "${KS_PID[$i]}"
  n=0; while kill -0 "${KS_PID[$i]}" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
  kill -0 "${KS_PID[$i]}" 2>/dev/null && fail "instance $i did not stop within 15 s of SIGTERM"
  wait "${KS_PID[$i]}" || fail "instance $i exited with an error on SIGTERM"
  start_ks "$i"
  wait_for 20 "$(ks "$i")/readyz" 200 || fail "instance $i not ready within 20 s of its restart"
  admin "set server keydesk/ks$i state ready" >/dev/null
  wait_status "ks$i" UP 15 || fail "HAProxy did not put ks$i back (status $(srv "ks$i" status))"
done
RR_SECS=$((SECONDS - RR_START))
sleep 1
touch "$WORK/stop-rr"
for p in "${rr[@]}"; do wait "$p" || true; done
cat "$WORK"/rr.* >"$WORK/rr.all"
RR_TOTAL=$(wc -l <"$WORK/rr.all")
RR_FAILED=$(awk '$2 != 200' "$WORK/rr.all" | wc -l)
[ "$RR_TOTAL" -ge 50 ] || fail "too few requests during the rolling restart ($RR_TOTAL)"
[ "$RR_FAILED" = 0 ] || fail "$RR_FAILED of $RR_TOTAL requests failed during the rolling restart: $(awk '$2 != 200 { print $2 }' "$WORK/rr.all" | sort | uniq -c | tr -s ' \n' ' ')"
# every instance flushed its buffer at SIGTERM; the newest use of the shared key (instance 2)
# survived instance 3's later flush of an older time
for i in 1 2 3; do
  ok=$(sql "SELECT last_used_at IS NOT NULL AND abs(extract(epoch FROM last_used_at) - ${LU_T[$i]}) < 5
    FROM api_keys WHERE name = 'lu-$i'")
  [ "$ok" = t ] || fail "lu-$i: last-used from instance $i not written at its shutdown (or wrong time)"
done
ok=$(sql "SELECT last_used_at > to_timestamp(${LU_T[3]}) FROM api_keys WHERE name = 'lu-shared'")
[ "$ok" = t ] || fail "lu-shared: an older last-used time from instance 3 overwrote instance 2's newer one"
say "6/7 rolling restart in ${RR_SECS} s: $RR_TOTAL requests, 0 failed; last-used of 3 instances flushed at SIGTERM, newest kept"

# --- 7. a rate limit holds across the instances ---------------------------------------------
# One key limited to 600 per window, hammered through HAProxy (round robin over the three) by
# four clients for two whole windows and more: in every whole window the instances together
# accept at most 600, and at least 540 (90 %). Each answer is put in its window from the time
# it arrived plus its RateLimit-Reset (the seconds left in the window on the database's clock).
RKEY=$(new_key kill@example.com rate-600)
sql "UPDATE api_keys SET rate_limit = 600 WHERE name = 'rate-600'" >/dev/null
hammer() {
  while [ ! -e "$WORK/stop-rate" ]; do
    r=$(curl -s -o /dev/null -w '%{http_code} %header{ratelimit-reset}' \
      -H "Authorization: Bearer $RKEY" "$LB/api/v1/me")
    echo "$EPOCHREALTIME $r"
  done >"$1"
}
# start just after a window begins, then run for three windows and a half: the first and the
# last are partial (left out), two whole ones are measured
now=$(date +%s); sleep $((RATE_WINDOW - now % RATE_WINDOW)).1
rh=()
for c in 1 2 3 4; do hammer "$WORK/rate.$c" & rh+=($!); BG_PIDS+=($!); done
sleep "$((RATE_WINDOW * 3)).5"
touch "$WORK/stop-rate"
for p in "${rh[@]}"; do wait "$p" || true; done
RATE_LINE=$(cat "$WORK"/rate.* | awk -v w="$RATE_WINDOW" '
  $2 == 200 || $2 == 429 {
    win = int(($1 + $3) / w + 0.5) - 1        # the window the database put the answer in
    if ($2 == 200) ok[win]++
    seen[win] = 1
    if (first == "" || win < first) first = win
    if (last == "" || win > last) last = win
  }
  $2 != 200 && $2 != 429 { bad++ }
  END {
    out = ""
    for (v = first + 1; v < last; v++) out = out (out == "" ? "" : ",") (ok[v] + 0)
    printf "%s %d", out, bad + 0
  }')
RATE_WINDOWS=${RATE_LINE% *}
RATE_BAD=${RATE_LINE#* }
case "$RATE_WINDOWS" in *,*) ;; *) fail "rate: fewer than two whole windows measured ($RATE_WINDOWS)" ;; esac
[ "$RATE_BAD" = 0 ] || fail "rate: $RATE_BAD answers other than 200 and 429"
for n in ${RATE_WINDOWS//,/ }; do
  [ "$n" -le 600 ] || fail "rate: $n accepted in one window over a limit of 600 (windows: $RATE_WINDOWS)"
  [ "$n" -ge 540 ] || fail "rate: only $n of 600 accepted in a window (windows: $RATE_WINDOWS)"
done
RATE_TOTAL=$(cat "$WORK"/rate.* | wc -l)
say "7/7 rate limit 600 per ${RATE_WINDOW} s window through 3 instances: accepted per whole window $RATE_WINDOWS of $RATE_TOTAL requests (≤ 600, ≥ 540)"

echo "scale-check ok pool_mode=$POOL_MODE instances=$N sessions=3/3 client_ip=kept q_per_verify=$QPV limit_race=1/50(409=$refused,503=$busy) revoke_polls=$POLLS late_200=0 kill9_down_ms=$DOWN_MS kill9_errors=$K_ERR/$K_TOTAL(${K_PCT}%) acked_creates=$ACKED_C acked_revokes=$ACKED_R lost=0 last_used=3/3+newest usage_sum=$USAGE rolling_requests=$RR_TOTAL rolling_failed=0 rate_window_s=$RATE_WINDOW rate_accepted_per_window=$RATE_WINDOWS secs=$((SECONDS - STARTED))"
