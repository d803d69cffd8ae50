#!/usr/bin/env bash
# Runs the controller-mode fault tests with the official RocketMQ client (rocketmq-client 5.x) against the
# ferrocket binary (FERROCKET_BIN, default ../../target/debug/ferrocket), and ApacheBrokersTest (Apache
# RocketMQ brokers and mqadmin of the same version, driven by the Ferrocket controllers), prints the
# figures the tests measured and Surefire's summary, and exits non-zero if any test failed.
#
#   interop/failover/run.sh
#   ROCKETMQ_CLIENT_VERSION=5.5.0 interop/failover/run.sh -Dtest=PartitionTest
set -uo pipefail

if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

version="${ROCKETMQ_CLIENT_VERSION:-5.5.0}"
reports="target/client-${version}/surefire-reports"
rm -rf "$reports"
echo "=== ferrocket interop: controller-mode fault tests (official rocketmq-client ${version})"
start=$(date +%s)
mvn -B -q -Dstyle.color=never -Drocketmq.client.version="${version}" "$@" test 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
status=${PIPESTATUS[0]}

shopt -s nullglob
files=("$reports"/TEST-*.xml)
shopt -u nullglob
if (( ${#files[@]} == 0 )); then
    echo "no Surefire reports (build failure?)"
    exit 1
fi
passed=0
failed=0
for f in "${files[@]}"; do
    head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
    tests=$(sed -E 's/.* tests="([0-9]+)".*/\1/' <<< "$head")
    bad=$(( $(sed -E 's/.* failures="([0-9]+)".*/\1/' <<< "$head") + $(sed -E 's/.* errors="([0-9]+)".*/\1/' <<< "$head") ))
    echo "Tests run: $tests, Failures/Errors: $bad -- $(basename "$f" .xml | sed 's/^TEST-//')"
    passed=$((passed + tests - bad))
    failed=$((failed + bad))
done
echo "failover interop (client ${version}): ${passed} passed, ${failed} failed in $(( $(date +%s) - start )) s"
if (( failed > 0 )); then
    status=1
fi
exit "$status"
