#!/bin/bash
# The drain-race lab (drills/RESULTS.md, "A POST reset at a process's exit"): nginx with the stack's
# upstream settings in front of three small Node servers that follow the api's SIGTERM sequence, restarted
# one after another under keep-alive load; counts the POSTs nginx could not deliver (502) and nginx's
# `Connection reset by peer` lines. Needs nginx on PATH. Ports LAB_PORT..LAB_PORT+3 (default 28100).
#   MODE=old|stop-late|two-phase [DRAIN_MS=2000] [BUSY_MS=300] [CONC=40] drills/lab/drain-race/run.sh SECONDS
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/drain-race.XXXXXX)
P0=${LAB_PORT:-28100}; P1=$((P0+1)); P2=$((P0+2)); P3=$((P0+3))
export MODE DRAIN_MS=${DRAIN_MS:-2000} IDLE_MAX_MS=${IDLE_MAX_MS:-6000} BUSY_MS=${BUSY_MS:-300} LAB_PORT=$P0
mkdir -p "$DIR"/t1 "$DIR"/t2 "$DIR"/t3 "$DIR"/t4 "$DIR"/t5
sed -e "s|DIR|$DIR|g" -e "s|P0|$P0|; s|P1|$P1|; s|P2|$P2|; s|P3|$P3|" "$HERE/nginx.conf.template" > "$DIR/nginx.conf"
nginx -c "$DIR/nginx.conf" & NG=$!
declare -A PIDS
start() { PORT=$1 node "$HERE/server.js" 2>>"$DIR/servers.log" & PIDS[$1]=$!; }
for p in $P1 $P2 $P3; do start $p; done
sleep 1
DUR_S=$1 CONC=${CONC:-40} node "$HERE/load.js" > "$DIR/load.out" & L=$!
restarts=0
while kill -0 $L 2>/dev/null; do
  for p in $P1 $P2 $P3; do
    kill -0 $L 2>/dev/null || break
    kill -TERM ${PIDS[$p]}; wait ${PIDS[$p]} 2>/dev/null; start $p; restarts=$((restarts+1)); sleep 1.5
  done
done
echo "{\"mode\":\"$MODE\",\"restarts\":$restarts,\"responses\":$(cat "$DIR/load.out"),\"nginxResets\":$(grep -c 'reset by peer\|prematurely' "$DIR/error.log")}"
kill ${PIDS[$P1]} ${PIDS[$P2]} ${PIDS[$P3]} $NG 2>/dev/null
wait 2>/dev/null
rm -rf "$DIR"
