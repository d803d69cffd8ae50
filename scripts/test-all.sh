#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, property and end-to-end tests against the real
# binary), then the interop suites that drive the official Java (4.9.x and 5.x, and the RocketMQ 5
# gRPC client) and Go clients against `ferrocket standalone` (and the Java client against a
# controller-mode broker set under kill -9 and a partition), the C++ client (PyPI `rocketmq`), the
# web console in headless Chromium, and bounded fuzzing. Needs cargo, rustup, java 17+, mvn, go,
# python3.11 (with venv) and node 20+ (interop/console/run.sh installs Debian's chromium when it is
# missing); a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

missing=()
for tool in cargo rustup java mvn go python3.11 node npm prlimit; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-all: missing required tools: ${missing[*]} (install them; no suite is skipped)" >&2
  exit 1
fi

export CARGO_TERM_COLOR=never
target_dir=${CARGO_TARGET_DIR:-$root/target}
export FERROCKET_BIN="$target_dir/debug/ferrocket"

step() { printf '\n==> %s\n' "$*"; }

# Runs one suite and records its wall time; the table is printed at the end (and on failure).
timings=()
suite() {
  local name=$1
  shift
  step "$name"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  timings+=("$(printf '%6d s  %s%s' $((SECONDS - t0)) "$name" "$([ $rc -eq 0 ] || echo '  (FAILED)')")")
  [ $rc -eq 0 ] || exit $rc
}
print_timings() {
  echo
  echo "test-all: wall time per suite"
  printf '  %s\n' "${timings[@]}"
}
trap print_timings EXIT

suite "cargo build (debug binary used by every end-to-end and interop test)" \
  cargo build --workspace --all-targets

# A broker refuses every put once its disk is 90 % used (diskSpaceWarningLevelRatio, capped at 90
# as RocketMQ caps it), so on a nearly full disk every end-to-end suite would fail with code 14.
# Say that once, after the build has taken its share of the disk.
disk_headroom() {
  local dir=${TMPDIR:-/tmp} used
  used=$(df --output=pcent "$dir" | tail -1 | tr -dc 0-9)
  echo "test-all: $dir is on a disk ${used}% used"
  if [ "$used" -ge 85 ]; then
    echo "test-all: brokers refuse writes above 90% used and the suites write several GB;" \
      "free space on that disk and run again" >&2
    return 1
  fi
}
suite "disk headroom for the brokers' stores" disk_headroom

suite "cargo test --workspace" \
  cargo test --workspace -- --test-threads="${RUST_TEST_THREADS:-4}"

suite "fuzz: every decoder for a bounded time (scripts/fuzz.sh; nightly + cargo-fuzz)" \
  env CARGO_TARGET_DIR="$target_dir/fuzz" FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh

suite "interop/java: official rocketmq-client 4.9.x and 5.x" \
  bash interop/java/run.sh

suite "interop/java-v5: official RocketMQ 5 gRPC client (rocketmq-client-java) to a 4.9.x consumer" \
  bash interop/java-v5/run.sh

suite "interop/mqadmin: official mqadmin (rocketmq-tools 4.9.x and 5.x)" \
  bash interop/mqadmin/run.sh

suite "interop/apache-store: a store written by the Apache RocketMQ broker (4.9.x, 5.x) served by ferrocket" \
  bash interop/apache-store/run.sh

suite "interop/replication: Apache RocketMQ masters and slaves (4.9.x, 5.x) replicating with ferrocket" \
  bash interop/replication/run.sh

suite "interop/failover: controller mode under kill -9 and a partition, and Apache brokers driven by ferrocket controllers, official rocketmq-client 5.x" \
  bash interop/failover/run.sh

suite "interop/go: official rocketmq-client-go/v2" \
  bash -c 'cd interop/go && go test -count=1 ./...'

suite "interop/go-v5: official RocketMQ 5 gRPC Go client (rocketmq-clients/golang/v5)" \
  bash -c 'cd interop/go-v5 && go test -count=1 ./...'

suite "interop/cpp: official C++ client (librocketmq via PyPI rocketmq 0.4.4)" \
  bash interop/cpp/run.sh

suite "interop/console: the web console in headless Chromium" \
  bash interop/console/run.sh

echo
echo "test-all: every suite passed"
