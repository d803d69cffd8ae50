#!/usr/bin/env bash
# Runs FirstMessageLatencyTest's scenario (a new 5.x push consumer's time to its first message and the
# SUBSCRIPTION_NOT_LATEST answers its pulls get) against an Apache RocketMQ broker from Maven Central and then
# against ferrocket, printing each round of both. The figures are in docs/COMPATIBILITY.md.
#
#   scripts/compare-first-message-apache.sh
#
# APACHE_VERSION (default 5.3.1, the broker jars interop/replication uses), CLIENT_VERSION (default 5.5.0),
# ROUNDS (default 6), NAMESRV_PORT / BROKER_PORT (default 22876 / 22911), FERROCKET_BIN (default
# target/debug/ferrocket). The Apache broker registers with a `ferrocket namesrv` (the name server plays no
# part in the pull answers compared here).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
APACHE_VERSION=${APACHE_VERSION:-5.3.1}
CLIENT_VERSION=${CLIENT_VERSION:-5.5.0}
ROUNDS=${ROUNDS:-6}
NS_PORT=${NAMESRV_PORT:-22876}
BROKER_PORT=${BROKER_PORT:-22911}
BIN=${FERROCKET_BIN:-$ROOT/target/debug/ferrocket}
[[ "$BIN" == /* ]] || BIN="$(pwd)/$BIN"
DIR=$(mktemp -d)
NS_PID=""
BROKER_PID=""

cleanup() {
    [[ -n "$BROKER_PID" ]] && { kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; }
    [[ -n "$NS_PID" ]] && { kill "$NS_PID" 2>/dev/null || true; wait "$NS_PID" 2>/dev/null || true; }
    rm -rf "$DIR"
}
trap cleanup EXIT

mvn -B -q -f "$ROOT/interop/replication/pom.xml" dependency:build-classpath -Dapache.version="$APACHE_VERSION" \
    -Dmdep.includeScope=test -Dmdep.outputFile="$DIR/cp.txt"

cat > "$DIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NS_PORT
autoCreateTopicEnable=true
storePathRootDir=$DIR/store
storePathCommitLog=$DIR/store/commitlog
mappedFileSizeCommitLog=67108864
EOF

"$BIN" namesrv --listen "127.0.0.1:$NS_PORT" > "$DIR/namesrv.log" 2>&1 &
NS_PID=$!
ROCKETMQ_HOME="$DIR" java -Xmx512m -Duser.home="$DIR/home" \
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED \
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
    -cp "$(cat "$DIR/cp.txt")" org.apache.rocketmq.broker.BrokerStartup -c "$DIR/broker.conf" > "$DIR/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 1 120); do
    grep -q "boot success" "$DIR/broker.log" && break
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$DIR/broker.log"; echo "the Apache broker exited" >&2; exit 1; }
    sleep 1
done
grep -q "boot success" "$DIR/broker.log" || { echo "the Apache broker did not start within 120 s" >&2; exit 1; }

run() {
    local label=$1; shift
    echo "== $label"
    (cd "$ROOT/interop/java" && FERROCKET_BIN="$BIN" mvn -B -q -Drocketmq.client.version="$CLIENT_VERSION" test \
        -Dtest=FirstMessageLatencyTest -DfirstMessage.rounds="$ROUNDS" "$@" > "$DIR/mvn.log" 2>&1) || true
    grep -h "first_latency_[0-9]*:" \
        "$ROOT/interop/java/target/client-$CLIENT_VERSION/surefire-reports/TEST-org.ferrocket.interop.FirstMessageLatencyTest.xml" \
        | sed -E 's/^.*(first_latency_[0-9]+:)/  \1/' | sort -u
}
run "Apache RocketMQ $APACHE_VERSION broker, client $CLIENT_VERSION" -DfirstMessage.namesrv="127.0.0.1:$NS_PORT"
run "ferrocket, client $CLIENT_VERSION"
