#!/usr/bin/env bash
# Soak test: runs `ferrocket standalone` under a steady mix of producers, consumers that join and
# leave their group (rebalances), short-lived client connections and admin calls, and samples the
# broker's resident memory and open file descriptors. Not part of CI; run it before a release and
# record the figures in docs/PERFORMANCE.md.
#
# Usage: scripts/soak.sh [DURATION_SECONDS]        (default 1800, i.e. 30 minutes)
# Environment:
#   FERROCKET_BIN      the binary to soak (default target/release/ferrocket, else target/debug)
#   SOAK_PORT_BASE     first of three loopback ports to use (default 23100)
#   SOAK_SAMPLE_SECS   sampling period in seconds (default 30)
#   SOAK_OUT           output directory (default a new temporary directory)
#
# It prints one line per sample (elapsed seconds, RSS, anonymous and file-backed RSS in KiB, open
# fds) and a summary;
# the samples are also left in $SOAK_OUT/samples.csv. It fails when the broker dies, when a
# produce round fails repeatedly or when nothing was consumed.
set -euo pipefail

DURATION=${1:-1800}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FERROCKET_BIN:-}
if [[ -z "$BIN" ]]; then
    if [[ -x "$ROOT/target/release/ferrocket" ]]; then BIN="$ROOT/target/release/ferrocket"; else BIN="$ROOT/target/debug/ferrocket"; fi
fi
[[ -x "$BIN" ]] || { echo "soak: no ferrocket binary at $BIN (build it first)" >&2; exit 1; }
BASE=${SOAK_PORT_BASE:-23100}
SAMPLE=${SOAK_SAMPLE_SECS:-30}
OUT=${SOAK_OUT:-$(mktemp -d -t ferrocket-soak.XXXXXX)}
mkdir -p "$OUT"
NS="127.0.0.1:$BASE"
TOPIC=SoakTopic
GROUP=soak_consumer_group

cat >"$OUT/broker.conf" <<EOF
brokerClusterName=SoakCluster
brokerName=soak-broker
brokerIP1=127.0.0.1
listenPort=$((BASE + 1))
consolePort=$((BASE + 2))
consoleListenAddress=127.0.0.1
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
fileReservedTime=1
EOF

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

"$BIN" standalone --namesrv-listen "$NS" --store "$OUT/store" -c "$OUT/broker.conf" \
    >"$OUT/broker.log" 2>&1 &
BROKER=$!
PIDS+=("$BROKER")
for _ in $(seq 1 100); do
    grep -q "is ready" "$OUT/broker.log" 2>/dev/null && break
    sleep 0.2
done
grep -q "is ready" "$OUT/broker.log" || { echo "soak: broker did not start" >&2; cat "$OUT/broker.log" >&2; exit 1; }
export NAMESRV_ADDR="$NS"
"$BIN" admin updateTopic -c SoakCluster -t "$TOPIC" -r 8 -w 8 >/dev/null

END=$(($(date +%s) + DURATION))

# producers: a new client every round (connection churn), 200 messages of 512 bytes per second
producer_loop() {
    local failures=0 i=0
    while (($(date +%s) < END)); do
        i=$((i + 1))
        if "$BIN" produce --topic "$TOPIC" --count 200 --size 512 --keys "soak$i" \
            --group soak_producer_group >/dev/null 2>>"$OUT/producer.err"; then
            failures=0
        else
            failures=$((failures + 1))
            ((failures < 5)) || { echo "soak: 5 produce rounds failed in a row" >"$OUT/FAILED"; return 1; }
        fi
        sleep 1
    done
}

# consumers: two members whose lifetimes differ, so the group rebalances every few tens of seconds
consumer_loop() {
    local life=$1 n=0
    while (($(date +%s) < END)); do
        n=$((n + 1))
        "$BIN" bench consume --topic "$TOPIC" --group "$GROUP" --threads 1 --from last \
            --duration "$life" >>"$OUT/consumer-$life.log" 2>&1 || true
    done
}

# admin calls, as an operator's dashboard would make them
admin_loop() {
    while (($(date +%s) < END)); do
        for cmd in clusterList topicList "topicStatus -t $TOPIC" "consumerProgress -g $GROUP" \
            "consumerConnection -g $GROUP" "brokerStatus -b 127.0.0.1:$((BASE + 1))"; do
            # shellcheck disable=SC2086
            "$BIN" admin $cmd >/dev/null 2>>"$OUT/admin.err" || true
        done
        sleep 5
    done
}

producer_loop & PIDS+=($!)
consumer_loop 120 & PIDS+=($!)
consumer_loop 45 & PIDS+=($!)
admin_loop & PIDS+=($!)

# VmRSS counts the mapped store files the broker touched (RssFile) as well as its heap (RssAnon)
rss_kib() { awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print r "," a "," f}' "/proc/$BROKER/status"; }
fds() { ls "/proc/$BROKER/fd" | wc -l; }

START=$(date +%s)
echo "elapsed_s,rss_kib,rss_anon_kib,rss_file_kib,fds" >"$OUT/samples.csv"
echo "soak: $BIN for ${DURATION}s, output in $OUT"
while (($(date +%s) < END)); do
    kill -0 "$BROKER" 2>/dev/null || { echo "soak: the broker died" >&2; tail -50 "$OUT/broker.log" >&2; exit 1; }
    [[ ! -e "$OUT/FAILED" ]] || { cat "$OUT/FAILED" >&2; exit 1; }
    line="$(($(date +%s) - START)),$(rss_kib),$(fds)"
    echo "$line" >>"$OUT/samples.csv"
    echo "sample $line"
    sleep "$SAMPLE"
done
line="$(($(date +%s) - START)),$(rss_kib),$(fds)"
echo "$line" >>"$OUT/samples.csv"
echo "sample $line"
# the client loops stop at END; a consumer may still be inside its last round
for p in "${PIDS[@]:1}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
[[ ! -e "$OUT/FAILED" ]] || { cat "$OUT/FAILED" >&2; exit 1; }

consumed=$(grep -ho "^received: [0-9]* msgs" "$OUT"/consumer-*.log 2>/dev/null | awk '{n += $2} END {print n + 0}')
awk -F, -v consumed="$consumed" 'NR == 2 {r0 = $2; a0 = $3; f0 = $5} NR > 1 {
        if ($2 > rmax) rmax = $2; if ($3 > amax) amax = $3; if ($5 > fmax) fmax = $5
        r = $2; a = $3; f = $5; n++ }
    END {
        printf "soak summary: %d samples; RSS first %d KiB, last %d KiB, max %d KiB; ", n, r0, r, rmax
        printf "anonymous RSS first %d KiB, last %d KiB, max %d KiB; ", a0, a, amax
        printf "fds first %d, last %d, max %d; messages consumed %d\n", f0, f, fmax, consumed
    }' "$OUT/samples.csv"
((consumed > 0)) || { echo "soak: nothing was consumed" >&2; exit 1; }
