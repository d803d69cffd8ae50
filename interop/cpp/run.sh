#!/usr/bin/env bash
# Runs the C++ client interop suite: the official C++ client (librocketmq, bundled in the PyPI
# package `rocketmq`) against the ferrocket binary (FERROCKET_BIN, default
# ../../target/debug/ferrocket). Needs python3.11 (or PYTHON) with venv; the package is installed
# into interop/cpp/.venv. A missing tool or package is a failure.
set -euo pipefail

if [[ -n "${FERROCKET_BIN:-}" && "${FERROCKET_BIN}" != /* ]]; then
    FERROCKET_BIN="$(pwd)/${FERROCKET_BIN}"
fi
cd "$(dirname "$0")"
export FERROCKET_BIN="${FERROCKET_BIN:-$(pwd)/../../target/debug/ferrocket}"

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || { echo "interop/cpp: $python not found" >&2; exit 1; }
version=0.4.4
if ! .venv/bin/python -c "import rocketmq.client" 2>/dev/null \
    || [[ "$(.venv/bin/pip show rocketmq 2>/dev/null | sed -n 's/^Version: //p')" != "$version" ]]; then
    rm -rf .venv
    "$python" -m venv .venv
    .venv/bin/pip install -q "rocketmq==$version"
fi

# librocketmq writes its logs under $HOME/logs/rocketmq-cpp; keep them in the suite's folder.
mkdir -p target/home
export HOME="$(pwd)/target/home"
start=$(date +%s)
.venv/bin/python -m unittest -v test_cpp_client
echo "interop/cpp: passed in $(( $(date +%s) - start ))s"
