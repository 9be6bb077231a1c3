#!/usr/bin/env bash
# Side-by-side load test of the actix adapter (examples/bench_actix.rs):
# GET /session/me and GET /jwt/me through AuthMiddleware vs the same app
# without authentication, and /session/me vs actix-session's cookie
# session. Three one-worker servers pinned to CPU 0, wrk (-t1 -c32) pinned
# to CPU 1, interleaved rounds. Prints requests/s and the server's CPU time
# per request (user+sys, from /proc). Then the same apps in-process.
#   ROUNDS=5 DUR=5s scripts/bench_actix.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release/examples/bench_actix
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
cargo build --release --example bench_actix --features actix-web
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5s}
PORT=18081 taskset -c 0 $BIN bare > /tmp/bench_bare.out 2>&1 & P1=$!
PORT=18082 taskset -c 0 $BIN portcullis > /tmp/bench_portcullis.out 2>&1 & P2=$!
PORT=18083 taskset -c 0 $BIN actix-session > /tmp/bench_cookie.out 2>&1 & P3=$!
trap 'kill $P1 $P2 $P3 2>/dev/null' EXIT
sleep 2
COOKIE=$(grep '^COOKIE=' /tmp/bench_portcullis.out | cut -d= -f2-)
TOKEN=$(grep '^TOKEN=' /tmp/bench_portcullis.out | cut -d= -f2-)
AS_COOKIE=$(curl -si -X POST http://127.0.0.1:18083/login | tr -d '\r' | grep -i '^set-cookie:' | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
curl -sf http://127.0.0.1:18081/session/me >/dev/null
curl -sf -H "Cookie: $COOKIE" http://127.0.0.1:18082/session/me >/dev/null
curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18082/jwt/me >/dev/null
curl -sf -H "Cookie: $AS_COOKIE" http://127.0.0.1:18083/session/me >/dev/null
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
w() { # pid label args...
  local pid=$1 label=$2; shift 2
  local c0; c0=$(cpu $pid)
  local out; out=$(taskset -c 1 wrk -t1 -c32 -d$DUR "$@")
  local c1; c1=$(cpu $pid)
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local n; n=$(echo "$out" | awk '/requests in/ {print $1}')
  local bad; bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf "%-20s %10s req/s %6.2f us-cpu/req %s\n" "$label" "$rps" "$(echo "($c1-$c0)*1000000/$TICK/$n" | bc -l)" "${bad:+NON2XX=$bad}"
}
for r in $(seq 1 $ROUNDS); do
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg))"
  w $P1 bare/session       http://127.0.0.1:18081/session/me
  w $P2 portcullis/session -H "Cookie: $COOKIE" http://127.0.0.1:18082/session/me
  w $P3 actix-session      -H "Cookie: $AS_COOKIE" http://127.0.0.1:18083/session/me
  w $P1 bare/jwt           http://127.0.0.1:18081/jwt/me
  w $P2 portcullis/jwt     -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18082/jwt/me
done
echo "in-process (actix_web::test, best of 7 x 20000):"
taskset -c 0 $BIN inproc
