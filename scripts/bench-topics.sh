#!/usr/bin/env bash
# Many topics: creates COUNT topics on a fresh `ferrocket standalone` (half auto-created by a
# first send, half by updateTopic), lists them, restarts the broker and lists them again,
# printing the time of each step, the disk use of the store and the start-up time.
#
#   scripts/bench-topics.sh [COUNT]      (default 10000)
#
# FERROCKET_BIN (default target/release/ferrocket), NAMESRV_PORT / BROKER_PORT (default
# 9876 / 10911), BENCH_DIR (default a new temporary directory, deleted afterwards).
set -euo pipefail

COUNT=${1:-10000}
BIN=${FERROCKET_BIN:-target/release/ferrocket}
NS_PORT=${NAMESRV_PORT:-9876}
BROKER_PORT=${BROKER_PORT:-10911}
DIR=${BENCH_DIR:-$(mktemp -d)}
STORE="$DIR/store"
NS="127.0.0.1:$NS_PORT"
PID=""

cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  [[ -z "${BENCH_DIR:-}" ]] && rm -rf "$DIR"
}
trap cleanup EXIT

printf 'listenPort=%s\nbrokerIP1=127.0.0.1\n' "$BROKER_PORT" > "$DIR/broker.conf"

start_broker() {
  local log="$DIR/standalone-$1.log" t0
  t0=$(date +%s.%N)
  "$BIN" standalone --store "$STORE" --namesrv-listen "$NS" -c "$DIR/broker.conf" > "$log" 2>&1 &
  PID=$!
  for _ in $(seq 1 6000); do
    if grep -q "is ready" "$log"; then
      echo "start-up ($1): $(echo "$(date +%s.%N) - $t0" | bc) s"
      return
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$log"; echo "ferrocket exited" >&2; exit 1; }
    sleep 0.01
  done
  echo "not ready after 60 s" >&2; exit 1
}

stop_broker() {
  local t0
  t0=$(date +%s.%N)
  kill -TERM "$PID"; wait "$PID" || true; PID=""
  echo "shutdown: $(echo "$(date +%s.%N) - $t0" | bc) s"
}

disk_use() {
  echo "disk use: store $(du -sh "$STORE" | cut -f1) (consumequeue $(du -sh "$STORE/consumequeue" | cut -f1), apparent $(du -sh --apparent-size "$STORE/consumequeue" | cut -f1); config/topics.json $(du -h --apparent-size "$STORE/config/topics.json" | cut -f1))"
}

echo "== $COUNT topics, $("$BIN" --version 2>/dev/null || echo ferrocket)"
start_broker first
"$BIN" bench topics --namesrv "$NS" --count "$COUNT"
disk_use
stop_broker
start_broker restart
"$BIN" bench topics --namesrv "$NS" --count "$COUNT" --list-only
stop_broker
disk_use
