#!/usr/bin/env bash
# Master/slave replication between ferrocket (FERROCKET_BIN, default ../../target/debug/ferrocket) and the
# Apache RocketMQ broker from Maven Central: an Apache master replicates to a ferrocket slave, a ferrocket
# master to an Apache slave, and the official client reads the same messages from the slave after the
# master stopped. Exits non-zero if a run failed.
#
#   interop/replication/run.sh
#   APACHE_RUNS="5.3.1:all" interop/replication/run.sh
#
# Each entry is VERSION:TESTS. "all" also runs the Apache-master/Apache-slave pair that validates the
# harness itself and ApacheConsumerOutageTest (an Apache pair's duplicates across a master outage, the
# reference for interop/java ReplicationConsumerOutageTest); "cross" runs only the two mixed pairs (the
# 5.x Apache slave syncs metadata once a minute, so its own pairs are slow and left to the 4.9 run).
set -uo pipefail

if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

read -r -a runs <<< "${APACHE_RUNS:-4.9.7:all 5.3.1:cross}"
passed=0
failed=0
for run in "${runs[@]}"; do
    version=${run%%:*}
    which=${run#*:}
    case "$which" in
        all) tests="ReplicationInteropTest+ApacheConsumerOutageTest" ;;
        cross) tests="ReplicationInteropTest#apacheMasterReplicatesToFerrocketSlave+ferrocketMasterReplicatesToApacheSlave" ;;
        *) echo "unknown test selection '$which' (all or cross)"; exit 2 ;;
    esac
    echo "=== replication with Apache RocketMQ ${version} (${which})"
    if mvn -B -q -Dstyle.color=never -Dapache.version="${version}" -Dtest="${tests}" test 2>&1 \
        | sed -e 's/\x1b\[[0-9;]*m//g'; then
        grep -h "replication:\|replication consumer outage:" "target/apache-${version}/surefire-reports/"*-output.txt 2>/dev/null
        passed=$((passed + 1))
    else
        echo "replication with Apache RocketMQ ${version} FAILED (logs: target/apache-${version}/logs)"
        failed=$((failed + 1))
    fi
done
echo "Replication with Apache RocketMQ brokers:"
echo "${passed} passed, ${failed} failed"
(( failed == 0 ))
