#!/usr/bin/env bash
# gRPC next to remoting on one broker: the official RocketMQ 5 Go client (gRPC port) and the
# official rocketmq-client-go/v2 (remoting port), same threads, body size and duration, against a
# fresh `ferrocket standalone` each round. Per phase it prints the client's line (messages, msgs/s,
# failures) and the broker's CPU seconds per 100k messages (from /proc). A benchmark, not a test.
#
#   scripts/bench-grpc.sh                     # ROUNDS=2 THREADS=16 SIZE=1024 DURATION=20
#   FERROCKET_BIN=target/release/ferrocket ROUNDS=3 scripts/bench-grpc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2} THREADS=${THREADS:-16} SIZE=${SIZE:-1024} DURATION=${DURATION:-20}
PORT_BASE=${PORT_BASE:-33000}
BIN=${FERROCKET_BIN:-target/release/ferrocket}
[[ -x "$BIN" ]] || cargo build --release -p ferrocket
(cd scripts/bench-grpc && go build -o "${TMPDIR:-/tmp}/bench-grpc" .)
BENCH="${TMPDIR:-/tmp}/bench-grpc"
NS=127.0.0.1:$PORT_BASE BROKER_PORT=$((PORT_BASE + 11)) GRPC=127.0.0.1:$((PORT_BASE + 20))

cpu_seconds() { # utime + stime of a pid, in seconds
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

phase() { # proto mode [extra flags]: runs the client, prints its line and broker CPU per 100k
    local before after line n
    before=$(cpu_seconds "$PID")
    line=$("$BENCH" -proto "$1" -mode "$2" -endpoint "$GRPC" -namesrv "$NS" -topic BenchGrpc \
        -group "Bench_$1" -threads "$THREADS" -size "$SIZE" -duration "${DURATION}s" "${@:3}")
    after=$(cpu_seconds "$PID")
    n=$(sed -E 's/.*messages=([0-9]+).*/\1/' <<< "$line")
    echo "$line broker_cpu_s_per_100k=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN{ if (n > 0) printf "%.2f", (a - b) * 100000 / n; else print "-" }')"
}

for round in $(seq 1 "$ROUNDS"); do
    for proto in grpc remoting; do
        dir=$(mktemp -d)
        mkdir -p "$dir/store/config"
        echo '{"topicConfigTable":{"BenchGrpc":{"topicName":"BenchGrpc","readQueueNums":8,"writeQueueNums":8,"perm":6}}}' \
            > "$dir/store/config/topics.json"
        printf 'brokerIP1=127.0.0.1\nlistenPort=%s\ngrpcServerPort=%s\nconsoleEnable=false\n' \
            "$BROKER_PORT" "${GRPC##*:}" > "$dir/broker.conf"
        "$BIN" standalone --store "$dir/store" --namesrv-listen "$NS" -c "$dir/broker.conf" > "$dir/log" 2>&1 &
        PID=$!
        for _ in $(seq 100); do grep -q "is ready" "$dir/log" && break; sleep 0.1; done
        echo "round $round, $proto:"
        sent=$(phase "$proto" send)
        echo "  $sent"
        total=$(sed -E 's/.*messages=([0-9]+).*/\1/' <<< "$sent")
        echo "  $(DURATION=5 phase "$proto" receive -total "$total" -duration 5s)"
        kill "$PID"; wait "$PID" || true
        rm -rf "$dir"
    done
done
