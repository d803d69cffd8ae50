#!/usr/bin/env bash
# Runs the official mqadmin (rocketmq-tools 4.9.x and 5.x) against the ferrocket binary
# (FERROCKET_BIN, default ../../target/debug/ferrocket), prints Surefire's summary for each run and
# exits non-zero if any run failed.
#
#   interop/mqadmin/run.sh
#   ROCKETMQ_TOOLS_VERSIONS=4.9.8 interop/mqadmin/run.sh
#
# An entry VERSION:TestClass runs only that class with that version (4.9.7: the last mqadmin with
# getAclConfig, for GET_BROKER_CLUSTER_ACL_CONFIG).
set -uo pipefail

if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

read -r -a versions <<< "${ROCKETMQ_TOOLS_VERSIONS:-4.9.8 5.5.0 4.9.7:MqAdminGetAclConfigTest}"

status=0
passed=0
failed=0
for entry in "${versions[@]}"; do
    version="${entry%%:*}"
    only=()
    if [[ "$entry" == *:* ]]; then
        only=("-Dtest=${entry#*:}")
    fi
    echo "=== ferrocket interop: official mqadmin (rocketmq-tools ${version})"
    reports="target/tools-${version}/surefire-reports"
    rm -rf "$reports"
    mvn -B -q -Dstyle.color=never -Drocketmq.tools.version="${version}" "${only[@]}" test 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
        status=1
    fi
    shopt -s nullglob
    files=("$reports"/TEST-*.xml)
    shopt -u nullglob
    if (( ${#files[@]} == 0 )); then
        echo "no Surefire reports for rocketmq-tools ${version} (build failure?)"
        status=1
        continue
    fi
    for f in "${files[@]}"; do
        head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
        tests=$(sed -E 's/.* tests="([0-9]+)".*/\1/' <<< "$head")
        bad=$(( $(sed -E 's/.* failures="([0-9]+)".*/\1/' <<< "$head") + $(sed -E 's/.* errors="([0-9]+)".*/\1/' <<< "$head") ))
        echo "Tests run: $tests, Failures/Errors: $bad -- $(basename "$f") (rocketmq-tools $version)"
        passed=$((passed + tests - bad))
        failed=$((failed + bad))
    done
done

echo "mqadmin interop ($(IFS=,; echo "${versions[*]}")):"
echo "${passed} passed, ${failed} failed"
if (( failed > 0 )); then
    status=1
fi
exit "$status"
