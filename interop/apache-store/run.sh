#!/usr/bin/env bash
# Migration check: for each Apache RocketMQ broker line, the broker (from Maven Central, in-process) writes a
# store, then `ferrocket standalone` (FERROCKET_BIN, default ../../target/debug/ferrocket) opens it and the
# official client verifies messages, committed offsets, topics and groups. Exits non-zero if a run failed.
#
#   interop/apache-store/run.sh
#   APACHE_VERSIONS="4.9.7:apache" interop/apache-store/run.sh
#
# Each entry is VERSION:NAMESRV. NAMESRV is the name server the Apache broker registers with while writing:
# "apache" (rocketmq-namesrv of the same version, in-process) or "ferrocket" (the ferrocket binary's name
# server; used for 5.x, so that run needs no rocketmq-namesrv artifact: a name server only routes the
# writes, it stores nothing in the broker's directory).
set -uo pipefail

if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

read -r -a runs <<< "${APACHE_VERSIONS:-4.9.7:apache 5.3.1:ferrocket}"
passed=0
failed=0
for run in "${runs[@]}"; do
    version=${run%%:*}
    namesrv=${run#*:}
    echo "=== migration: store written by Apache RocketMQ ${version} broker (name server: ${namesrv})"
    if mvn -B -q -Dstyle.color=never -Dapache.version="${version}" -Dapache.namesrv="${namesrv}" test 2>&1 \
        | sed -e 's/\x1b\[[0-9;]*m//g'; then
        grep -h "store served by ferrocket" "target/apache-${version}/surefire-reports/"*-output.txt 2>/dev/null
        passed=$((passed + 1))
    else
        echo "migration from Apache RocketMQ ${version} FAILED (logs: target/apache-${version}/logs)"
        failed=$((failed + 1))
    fi
done
echo "Migration from Apache RocketMQ stores:"
echo "${passed} passed, ${failed} failed"
(( failed == 0 ))
