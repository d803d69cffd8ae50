#!/usr/bin/env bash
# Produce benchmark of replication: a lone master, ASYNC_MASTER + slave and SYNC_MASTER + slave,
# alternated ROUNDS times in one run (the machine may be shared: each measurement prints the load
# average), 16 senders, 1 KiB bodies. Ends with the range of each layout and one summary line.
#
# Usage: cargo build --release -p ferrocket && scripts/bench-replication.sh [--tmpfs]
#   --tmpfs            stores on a tmpfs mounted on $BENCH_DIR/mnt (needs root); default: the disk
# Environment: BIN (target/release/ferrocket), BENCH_DIR (/tmp/ha-bench), ROUNDS (2),
#   DURATION (15 s measured after a 5 s warm-up), THREADS (16), SIZE (1024), PORT_BASE (21800).
set -u
BIN=${BIN:-target/release/ferrocket}
D=${BENCH_DIR:-/tmp/ha-bench}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-15}
THREADS=${THREADS:-16}
SIZE=${SIZE:-1024}
PORT_BASE=${PORT_BASE:-21800}
TMPFS=0
for a in "$@"; do
  case $a in
    --tmpfs) TMPFS=1 ;;
    *) echo "usage: $0 [--tmpfs]" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p ferrocket" >&2; exit 1; }
NS=127.0.0.1:$PORT_BASE
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=(); }
cleanup() {
  stop_all
  rm -rf "${D:?}"/mnt/* "$D"/*.log "$D"/*/broker.conf 2>/dev/null
  [ $TMPFS = 1 ] && umount "$D/mnt" 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$D/mnt"
if [ $TMPFS = 1 ]; then
  mountpoint -q "$D/mnt" || mount -t tmpfs -o size=3g tmpfs "$D/mnt" || exit 1
fi
STORE_FS=$(df -T "$D/mnt" | awk 'NR==2 {print $1" ("$2")"}')

namesrv() {
  RUST_LOG=warn "$BIN" namesrv --listen "$NS" > "$D/ns.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q "ready\|listening" "$D/ns.log" 2>/dev/null && return; sleep 0.1; done
}
broker() { # name port conf...
  local name=$1 port=$2; shift 2
  mkdir -p "$D/$name"
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nconsoleEnable=false\nmappedFileSizeCommitLog=134217728\ndiskSpaceWarningLevelRatio=98\ndiskMaxUsedSpaceRatio=95\n%s\n' "$port" "$*" > "$D/$name/broker.conf"
  RUST_LOG=warn "$BIN" broker -c "$D/$name/broker.conf" --store "$D/mnt/$name" -n "$NS" > "$D/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q "is ready" "$D/$name.log" && return; sleep 0.2; done
  echo "broker $name not ready"; cat "$D/$name.log"; exit 1
}
# measure LABEL: prints the bench output and appends "LABEL msgs/s" to $D/results
measure() {
  "$BIN" bench produce --namesrv "$NS" --topic BenchHa --threads "$THREADS" --size "$SIZE" --duration 5 > /dev/null 2>&1  # warm-up
  local load_before out rate
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  out=$("$BIN" bench produce --namesrv "$NS" --topic BenchHa --threads "$THREADS" --size "$SIZE" --duration "$DURATION" 2>&1)
  rate=$(sed -n 's/^sent: .* = \([0-9]*\) msgs\/s.*/\1/p' <<< "$out")
  echo "$out" | sed -n '/--- summary ---/,$p' | sed 1d
  echo "load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  # a SYNC_MASTER without its slave answers at once with SLAVE_NOT_AVAILABLE: not a valid figure
  if grep -q '^errors: [1-9]\|^stored but not SEND_OK: [1-9]' <<< "$out"; then
    echo "INVALID: some sends failed or were not SEND_OK; left out of the ranges"
    return
  fi
  echo "$1 ${rate:-0}" >> "$D/results"
}
layout() { # lone | async | sync
  local p=$PORT_BASE
  # the previous layout's dirty pages would otherwise be written back during this one
  sync
  namesrv
  case $1 in
    lone) broker lone $((p + 11)) "brokerName=bench-lone
brokerRole=ASYNC_MASTER" ;;
    async) broker am $((p + 21)) "brokerName=bench-async
brokerRole=ASYNC_MASTER"
      broker as $((p + 31)) "brokerName=bench-async
brokerId=1
brokerRole=SLAVE
haMasterAddress=127.0.0.1:$((p + 22))" ;;
    sync) broker sm $((p + 41)) "brokerName=bench-sync
brokerRole=SYNC_MASTER"
      broker ss $((p + 51)) "brokerName=bench-sync
brokerId=1
brokerRole=SLAVE
haMasterAddress=127.0.0.1:$((p + 42))" ;;
  esac
  measure "$1"
  if [ "$1" = sync ]; then
    sleep 1
    # up to the master's end: segments created ahead of need are empty and may differ in number
    local end
    end=$("$BIN" admin brokerStatus -n "$NS" -b 127.0.0.1:$((PORT_BASE + 41)) 2>/dev/null \
      | sed -n 's/^commitLogMaxOffset *: *\([0-9]*\).*/\1/p')
    if [ -n "$end" ] && cmp -s <(cat "$D"/mnt/sm/commitlog/* | head -c "$end" | md5sum) \
      <(cat "$D"/mnt/ss/commitlog/* | head -c "$end" | md5sum); then
      echo "(sync pair commit logs identical up to the master's end, $end bytes)"
    else
      echo "(sync pair commit logs differ up to the master's end '$end')"
    fi
  fi
  stop_all
  rm -rf "${D:?}"/mnt/*
}

rm -f "$D/results"
echo "replication produce benchmark: $THREADS senders, $SIZE B, ${DURATION} s per layout, $ROUNDS rounds"
echo "stores on $STORE_FS; $(nproc) cores; $(uname -r)"
for r in $(seq "$ROUNDS"); do
  for l in lone async sync; do
    echo "=== round $r: $l  (loadavg $(cat /proc/loadavg))"
    layout $l
  done
done
echo "=== ranges (msgs/s over $ROUNDS rounds)"
awk '
  { v[$1] = v[$1] " " $2; if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2; if ($2 > hi[$1]) hi[$1] = $2
    n[$1]++; if ($1 == "lone") L[n[$1]] = $2; if ($1 == "sync") S[n[$1]] = $2 }
  END {
    split("lone async sync", ls, " ")
    for (i = 1; i <= 3; i++) printf "%-6s %6d - %6d  (%s )\n", ls[i], lo[ls[i]], hi[ls[i]], v[ls[i]]
    rmin = 1e9; rmax = 0
    for (k in S) if (L[k] > 0) { r = 100 * S[k] / L[k]; if (r < rmin) rmin = r; if (r > rmax) rmax = r }
    printf "SUMMARY replication: lone %d-%d (median %d), async %d-%d (median %d), sync %d-%d (median %d) msgs/s; sync/lone per round %.0f-%.0f %%, of the medians %.0f %%\n",
      lo["lone"], hi["lone"], med(v["lone"]), lo["async"], hi["async"], med(v["async"]),
      lo["sync"], hi["sync"], med(v["sync"]), rmin, rmax, 100 * med(v["sync"]) / med(v["lone"])
  }
  function med(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }' "$D/results"
