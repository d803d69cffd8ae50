#!/usr/bin/env bash
# Scaling of the send path: throughput and broker CPU of `ferrocket standalone` (ASYNC_FLUSH, 1 KiB
# messages, `ferrocket bench produce`) with the broker on 1 core and on 2 cores, against the number of
# client connections and the number of queues of the topic.
#
#   cargo build --release -p ferrocket && scripts/bench-scaling.sh
#
# Core settings (CORES, default "1 2"): 1 = the broker pinned to CPU 0 and the client to CPU 1
# (`taskset`), 2 = neither pinned (broker and client share both cores, as in the other benchmarks).
# Curves, each point on a fresh store:
#   connections (CONNS, "1 10 100 1000"): that many producer clients, each with its own connection,
#     one synchronous sender each, a window keeping at least 64 sends in flight in all; topic of 8 queues;
#   queues (QUEUES, "1 8 64 1000"): one connection, 64 senders, a topic with that many queues.
# Prints one line per point: msgs/s, p50/p99 latency, broker CPU s per 100,000 messages (utime + stime
# from /proc), the broker's threads. Environment: BIN (target/release/ferrocket), DURATION (10 s per
# point, after a 3 s warm-up), PORT_BASE (47000), BENCH_DIR (a new directory under /tmp).
set -uo pipefail
BIN=${BIN:-target/release/ferrocket}
CORES=${CORES:-1 2}
CONNS=${CONNS:-1 10 100 1000}
QUEUES=${QUEUES:-1 8 64 1000}
DURATION=${DURATION:-10}
PORT_BASE=${PORT_BASE:-47000}
D=${BENCH_DIR:-$(mktemp -d /tmp/ferrocket-scaling.XXXXXX)}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p ferrocket" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs at least 2 CPUs" >&2; exit 1; }
NS=127.0.0.1:$((PORT_BASE + 76))
BROKER=127.0.0.1:$((PORT_BASE + 911))
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "${D:?}"; }
trap cleanup EXIT

start() { # cores
  rm -rf "$D/store"; mkdir -p "$D"
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nconsoleEnable=false\ngrpcServerEnable=false\nautoCreateTopicEnable=false\n' \
    "${BROKER#*:}" > "$D/broker.conf"
  local pin=()
  [ "$1" = 1 ] && pin=(taskset -c 0)
  RUST_LOG=warn "${pin[@]}" "$BIN" standalone --store "$D/store" --namesrv-listen "$NS" -c "$D/broker.conf" > "$D/broker.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do grep -q "is ready" "$D/broker.log" && return; sleep 0.1; done
  echo "broker not ready"; cat "$D/broker.log"; exit 1
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }

point() { # cores label queues connections threads inflight
  local cores=$1 label=$2 queues=$3 conns=$4 threads=$5 inflight=$6
  start "$cores"
  "$BIN" admin updateTopic -n "$NS" -c DefaultCluster -t Scale -r "$queues" -w "$queues" > /dev/null 2>&1 ||
    "$BIN" admin updateTopic -n "$NS" -b "$BROKER" -t Scale -r "$queues" -w "$queues" > /dev/null
  local client=()
  [ "$cores" = 1 ] && client=(taskset -c 1)
  local b=("${client[@]}" "$BIN" bench produce --namesrv "$NS" --topic Scale --size 1024
    --connections "$conns" --threads "$threads" --inflight "$inflight")
  "${b[@]}" --duration 3 > /dev/null 2>&1
  local t0 out t1
  t0=$(ticks)
  out=$("${b[@]}" --duration "$DURATION" 2>&1)
  t1=$(ticks)
  local n rate lat
  n=$(sed -n 's/^sent: \([0-9]*\) msgs.*/\1/p' <<< "$out")
  rate=$(sed -n 's/^sent: .* = \([0-9]*\) msgs\/s.*/\1/p' <<< "$out")
  lat=$(sed -n 's/^send latency (ms): p50 \([0-9.]*\) *p99 \([0-9.]*\).*/\1 \2/p' <<< "$out")
  printf '%-5s %-12s queues %-5s conns %-5s senders %-5s msgs/s %-7s p50/p99 ms %-14s cpu_s/100k %-6s threads %s\n' \
    "$cores" "$label" "$queues" "$conns" "$((threads * inflight))" "${rate:--}" "${lat:--}" \
    "$(awk -v t=$((t1 - t0)) -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.2f", t / hz / n * 100000; else print "-" }')" \
    "$(ls "/proc/$PID/task" | wc -l)"
  stop
}

echo "cores curve        point"
for cores in $CORES; do
  for c in $CONNS; do
    inflight=$(( (64 + c - 1) / c ))
    point "$cores" connections 8 "$c" "$c" "$inflight"
  done
  for q in $QUEUES; do
    point "$cores" queues "$q" 1 64 1
  done
done
