#!/usr/bin/env bash
# Runs the Java interop suite once per official RocketMQ client line (4.9.x and 5.x) against the ferrocket
# binary (FERROCKET_BIN, default ../../target/debug/ferrocket), prints Surefire's summary for each run and
# exits non-zero if any run failed.
#
#   interop/java/run.sh                      # both client versions
#   ROCKETMQ_CLIENT_VERSIONS=4.9.8 interop/java/run.sh
set -uo pipefail

# A relative FERROCKET_BIN is meant relative to the caller's directory, not to interop/java.
if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

read -r -a versions <<< "${ROCKETMQ_CLIENT_VERSIONS:-4.9.8 5.5.0}"

# Prints each failed test of one report with the first 800 characters of its assertion message, so the
# cause is in the summary at the end of a long log rather than only in Maven's output far above it.
failure_messages() {
    awk '
        /<testcase / { match($0, /name="[^"]*"/); test = substr($0, RSTART + 6, RLENGTH - 7) }
        /<(failure|error) / {
            kind = ($0 ~ /<failure /) ? "FAILED" : "ERROR"
            message = ""
            if (match($0, /message="[^"]*"/)) { message = substr($0, RSTART + 9, RLENGTH - 10) }
            gsub(/&#10;/, " | ", message); gsub(/&lt;/, "<", message); gsub(/&gt;/, ">", message)
            gsub(/&quot;/, "\"", message); gsub(/&apos;/, "\047", message); gsub(/&amp;/, "\\&", message)
            print "    " kind " " test ": " substr(message, 1, 800)
        }' "$1"
}

# Prints one Surefire-style line per test class and a total, read from the XML reports.
summarize() {
    local reports=$1 version=$2
    local total_tests=0 total_failures=0 total_errors=0 total_skipped=0
    shopt -s nullglob
    local files=("$reports"/TEST-*.xml)
    shopt -u nullglob
    for f in "${files[@]}"; do
        local head name tests failures errors skipped
        head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
        name=$(sed -E 's/.* name="([^"]*)".*/\1/' <<< "$head")
        tests=$(sed -E 's/.* tests="([0-9]+)".*/\1/' <<< "$head")
        failures=$(sed -E 's/.* failures="([0-9]+)".*/\1/' <<< "$head")
        errors=$(sed -E 's/.* errors="([0-9]+)".*/\1/' <<< "$head")
        skipped=$(sed -E 's/.* skipped="([0-9]+)".*/\1/' <<< "$head")
        echo "Tests run: $tests, Failures: $failures, Errors: $errors, Skipped: $skipped -- in $name (client $version)"
        if (( failures + errors > 0 )); then
            failure_messages "$f"
        fi
        total_tests=$((total_tests + tests))
        total_failures=$((total_failures + failures))
        total_errors=$((total_errors + errors))
        total_skipped=$((total_skipped + skipped))
    done
    echo "Client $version results:"
    echo "Tests run: $total_tests, Failures: $total_failures, Errors: $total_errors, Skipped: $total_skipped"
    all_tests=$((all_tests + total_tests))
    all_bad=$((all_bad + total_failures + total_errors))
    all_skipped=$((all_skipped + total_skipped))
}

status=0
all_tests=0
all_bad=0
all_skipped=0
for version in "${versions[@]}"; do
    echo "=== ferrocket interop: official RocketMQ Java client ${version}"
    reports="target/client-${version}/surefire-reports"
    rm -rf "$reports"
    start=$(date +%s)
    # Maven 3.8 prints stray colour-reset codes even with -B; strip them so the lines stay readable.
    mvn -B -q -Dstyle.color=never -Drocketmq.client.version="${version}" -Dsurefire.printSummary=true test 2>&1 \
        | sed -e 's/\x1b\[[0-9;]*m//g'
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
        status=1
    fi
    summarize "$reports" "$version"
    echo "Client ${version} took $(( $(date +%s) - start )) s"
    if [[ ! -d "$reports" ]]; then
        echo "no Surefire reports for client ${version} (build failure?)"
        status=1
    fi
done

echo "Java interop ($(IFS=,; echo "${versions[*]}")):"
echo "$((all_tests - all_bad - all_skipped)) passed, ${all_bad} failed, ${all_skipped} skipped"
if (( all_bad > 0 )); then
    status=1
fi
exit "$status"
