#!/usr/bin/env bash
# Runs the browser end-to-end test of the web console: installs what is missing (Debian's
# chromium, the pinned playwright-core from package-lock.json), then drives every console page
# in headless Chromium against `ferrocket standalone` (FERROCKET_BIN, default
# ../../target/debug/ferrocket). Screenshots land in interop/console/artifacts/.
set -euo pipefail

# A relative FERROCKET_BIN is meant relative to the caller's directory.
if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
    export FERROCKET_BIN
fi
cd "$(dirname "$0")"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "interop/console: $tool is required (Node.js 20 or newer)" >&2
        exit 1
    fi
done

if [[ ! -x /usr/bin/chromium ]]; then
    echo "interop/console: /usr/bin/chromium is missing; installing Debian's chromium package"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "interop/console: cannot install chromium: apt-get is not available (install Debian's chromium as /usr/bin/chromium)" >&2
        exit 1
    fi
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        SUDO="sudo"
    fi
    if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium; }; then
        echo "interop/console: installing chromium with apt-get failed" >&2
        exit 1
    fi
    if [[ ! -x /usr/bin/chromium ]]; then
        echo "interop/console: the chromium package did not provide /usr/bin/chromium" >&2
        exit 1
    fi
fi

npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 console.test.mjs
