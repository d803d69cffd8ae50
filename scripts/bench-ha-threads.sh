#!/usr/bin/env bash
# One produce measurement against a lone master, an ASYNC_MASTER + slave or a SYNC_MASTER + slave,
# with what each busy broker thread spent per message: its CPU time, its time waiting for a CPU
# (run queue) and its voluntary context switches (from /proc/PID/task/TID/schedstat and status),
# and how busy the whole machine was. For comparing builds run by run (alternate BIN), where
# scripts/bench-replication.sh compares layouts.
#
# Usage: cargo build --release -p ferrocket && scripts/bench-ha-threads.sh
# Environment: BIN (target/release/ferrocket), MODE (sync | async | lone), THREADS (16 senders),
#   SIZE (1024), DURATION (10 s measured after an 8 s warm-up), BENCH_DIR (/tmp/ha-threads),
#   PORT_BASE (23800).
set -u
BIN=${BIN:-target/release/ferrocket}
MODE=${MODE:-sync}
THREADS=${THREADS:-16}
SIZE=${SIZE:-1024}
DURATION=${DURATION:-10}
D=${BENCH_DIR:-/tmp/ha-threads}
PORT_BASE=${PORT_BASE:-23800}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p ferrocket" >&2; exit 1; }
case $MODE in sync | async | lone) ;; *) echo "MODE is sync, async or lone" >&2; exit 2 ;; esac
rm -rf "${D:?}"
mkdir -p "$D"
NS=127.0.0.1:$PORT_BASE
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "${D:?}"/m "${D:?}"/s' EXIT
RUST_LOG=warn "$BIN" namesrv --listen "$NS" > "$D/ns.log" 2>&1 &
PIDS+=($!)
sleep 0.5
PID_m= PID_s=
broker() { # name port conf...
  local name=$1 port=$2
  shift 2
  mkdir -p "$D/$name"
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nconsoleEnable=false\nmappedFileSizeCommitLog=134217728\ndiskSpaceWarningLevelRatio=98\ndiskMaxUsedSpaceRatio=95\n%s\n' "$port" "$*" > "$D/$name/broker.conf"
  RUST_LOG=warn "$BIN" broker -c "$D/$name/broker.conf" --store "$D/$name/store" -n "$NS" > "$D/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 100); do grep -q "is ready" "$D/$name.log" && return; sleep 0.2; done
  echo "broker $name not ready"; cat "$D/$name.log"; exit 1
}
role=ASYNC_MASTER
[ "$MODE" = sync ] && role=SYNC_MASTER
broker m $((PORT_BASE + 11)) "brokerName=bench
brokerRole=$role"
if [ "$MODE" != lone ]; then
  broker s $((PORT_BASE + 21)) "brokerName=bench
brokerId=1
brokerRole=SLAVE
haMasterAddress=127.0.0.1:$((PORT_BASE + 12))"
fi
produce() { "$BIN" bench produce --namesrv "$NS" --topic BenchHa --threads "$THREADS" --size "$SIZE" --duration "$1"; }
# the warm-up also outlasts the slave's first connection (a SYNC_MASTER without it answers
# SLAVE_NOT_AVAILABLE)
produce 8 > /dev/null 2>&1
snap() { # pid tid comm cpu_ns runqueue_ns voluntary involuntary
  for p in $PID_m $PID_s; do
    for t in /proc/"$p"/task/*; do
      echo "$p $(basename "$t") $(tr ' ' _ < "$t/comm") $(cut -d' ' -f1,2 "$t/schedstat") \
        $(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t/status")"
    done
  done
}
snap > "$D/before"
read -r _ u1 n1 s1 i1 w1 q1 sq1 _ < /proc/stat
out=$(produce "$DURATION" 2>&1)
read -r _ u2 n2 s2 i2 w2 q2 sq2 _ < /proc/stat
snap > "$D/after"
echo "$MODE, $THREADS senders, $SIZE B, $(nproc) cores, $(basename "$BIN")"
echo "$out" | sed -n '/--- summary/,$ p' | sed 1d
echo "machine: busy $((u2 + n2 + s2 + q2 + sq2 - u1 - n1 - s1 - q1 - sq1)) ticks, idle $((i2 + w2 - i1 - w1)) ticks (100 per second per core)"
n=$(sed -n 's/^sent: \([0-9]*\) .*/\1/p' <<< "$out")
[ "${n:-0}" -gt 0 ] || { echo "nothing sent"; exit 1; }
echo "per thread (M master, S slave): CPU, waiting for a CPU, voluntary switches per message, involuntary switches, CPU per message"
join <(awk '{print $1 "/" $2, $3, $4, $5, $6, $7}' "$D/before" | sort) \
  <(awk '{print $1 "/" $2, $4, $5, $6, $7}' "$D/after" | sort) |
  awk -v n="$n" -v pm="$PID_m" '
    { split($1, id, "/"); key = (id[1] == pm ? "M " : "S ") $2
      cpu[key] += ($7 - $3) / 1e9; wait[key] += ($8 - $4) / 1e9; vcs[key] += $9 - $5; nvcs[key] += $10 - $6 }
    END { for (k in cpu) if (cpu[k] > 0.05)
      printf "%-24s cpu %6.2f s  wait %5.2f s  switches/msg %.3f  involuntary %6d  %6.2f us/msg\n",
        k, cpu[k], wait[k], vcs[k] / n, nvcs[k], cpu[k] * 1e6 / n }' | sort -k1,1 -k4,4nr
