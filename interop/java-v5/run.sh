#!/usr/bin/env bash
# Runs the RocketMQ 5 gRPC interop suite: the official rocketmq-client-java producer and consumers against
# the gRPC port of the ferrocket binary (FERROCKET_BIN, default ../../target/debug/ferrocket), with the
# official 4.9.8 remoting client on the other side. Prints Surefire's counts and a final "N passed, N failed" line; exits
# non-zero if anything failed.
set -uo pipefail

# A relative FERROCKET_BIN is meant relative to the caller's directory, not to interop/java-v5.
if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

rm -rf target/surefire-reports
# Maven 3.8 prints stray colour-reset codes even with -B; strip them so the lines stay readable.
mvn -B -q -Dstyle.color=never -Dsurefire.printSummary=true test 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
status=${PIPESTATUS[0]}

tests=0 bad=0 skipped=0
shopt -s nullglob
for f in target/surefire-reports/TEST-*.xml; do
    head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
    t=$(sed -E 's/.* tests="([0-9]+)".*/\1/' <<< "$head")
    fl=$(sed -E 's/.* failures="([0-9]+)".*/\1/' <<< "$head")
    e=$(sed -E 's/.* errors="([0-9]+)".*/\1/' <<< "$head")
    s=$(sed -E 's/.* skipped="([0-9]+)".*/\1/' <<< "$head")
    echo "Tests run: $t, Failures: $fl, Errors: $e, Skipped: $s -- in $(sed -E 's/.* name="([^"]*)".*/\1/' <<< "$head")"
    tests=$((tests + t)); bad=$((bad + fl + e)); skipped=$((skipped + s))
done
if (( tests == 0 )); then
    echo "no Surefire reports (build failure?)"
    status=1
fi
echo "Java v5 (gRPC) interop:"
echo "$((tests - bad - skipped)) passed, ${bad} failed, ${skipped} skipped"
if (( bad > 0 )); then
    status=1
fi
exit "$status"
