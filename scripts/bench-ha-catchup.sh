#!/usr/bin/env bash
# Catch-up benchmark of replication: how fast a slave that is GB gigabytes behind reads its master's
# commit log, with cold page caches, next to the disk's sequential read speed on the same files.
#
#   1. a master (ASYNC_MASTER) and a slave start on the disk; the slave copies the first messages,
#      then stops (an empty slave would only fetch the master's newest segment, as in RocketMQ);
#   2. `ferrocket bench produce` fills the master's commit log to GB gigabytes;
#   3. caches dropped, `dd bs=1M` reads the bytes the slave lacks from the master's commit log files
#      (the disk's cold read speed), then copies them to a file on the same disk (read + write, what
#      a slave on the master's machine does);
#   4. caches dropped, the slave restarts and catches up: bytes copied / seconds until its
#      commitLogMaxOffset equals the master's and its dispatchBehindBytes is 0 (every copied record
#      has its consume queue entry; polled with `ferrocket admin brokerStatus`); the copy alone
#      (until the commit logs are equal) is reported too;
#   5. both copies are also timed until their bytes are on disk: `dd` plus a `sync` of its copy,
#      the slave plus a `sync` of its commit log files. Without that, `dd` leaves its 2 GB in the
#      page cache (below the dirty limits, nothing is written back while it runs), while the slave
#      flushes every 500 ms (flushIntervalCommitLog) and so writes to the disk the master reads
#      from. The disk's traffic while the slave catches up and syncs (/proc/diskstats) is printed.
# Steps 3-4 run ROUNDS times (the slave's store is reset to its seed copy each time).
#
# Usage: cargo build --release -p ferrocket && scripts/bench-ha-catchup.sh   (as root: drop_caches)
# Environment: BIN (target/release/ferrocket), BENCH_DIR (/tmp/ha-catchup; needs about 3 x GB of
#   free disk), GB (2), SIZE (1024: body bytes of the produced messages), ROUNDS (2),
#   PORT_BASE (21900), KEEP=1 keeps the stores for another run (which then skips step 1-2),
#   PERF=1 records `perf record -g` of the slave and of the master while the slave catches up
#   ($BENCH_DIR/perf.slave.N.data, $BENCH_DIR/perf.master.N.data); CACHED=1 reads the master's
#   commit log into the page cache instead of dropping the caches before the slave starts.
# PIN=1 runs the master on CPU 0 and the slave on CPU 1 (`taskset`), so that the slave has one core
# of its own, as on a machine of its own, and its rate shows what that core can copy and dispatch.
# PIN=2 gives the slave's HAClient thread (receive and write) CPU 1 alone and runs everything else,
# the master and the slave's dispatch (ReputMessageService) included, on CPU 0: the pipeline of a
# slave whose receive path has a core of its own.
# Each round also prints, per busy thread of either broker, its time on a CPU and its time
# waiting for one (/proc/PID/task/TID/schedstat).
# HOST_BACKED=1 is for virtual machines that hand free memory back to their host (free page
# reporting, /sys/module/page_reporting): there the first write into a page the guest freed a
# few seconds earlier faults in the host, and a `dd` copy right after a cache drop (memory still
# backed) ran 5-7 times faster than the same copy 10 s later. The slave starts seconds after the
# drop, so it met the slow pages and `dd` the fast ones. HOST_BACKED=1 turns reporting off for
# the run (page_reporting_order above the largest order; restored on exit) and writes once into
# the free memory, so that `dd` and the slave both write into pages the host backs.
# SLAVE_CONF: extra lines for the slave's configuration (e.g. flushIntervalCommitLog=600000).
# SLAVE_STORE: the slave's store directory (default $BENCH_DIR/slave), e.g. on another device or a
#   tmpfs, so that the slave's writes do not share the master's disk; the `dd` copy then goes to
#   the same directory's parent.
# SINK=1 streams to scripts/ha-sink.py instead of a slave: a receiver that drops the frames, so
# the round measures the master's side alone (with PIN=1 or 2 the master runs on CPU 0 and the
# receiver on CPU 1), next to the `dd` read of the same bytes.
set -u
BIN=${BIN:-target/release/ferrocket}
D=${BENCH_DIR:-/tmp/ha-catchup}
GB=${GB:-2}
SIZE=${SIZE:-1024}
ROUNDS=${ROUNDS:-2}
PORT_BASE=${PORT_BASE:-21900}
KEEP=${KEEP:-0}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p ferrocket" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "must run as root (drops the page cache)" >&2; exit 1; }
NS=127.0.0.1:$PORT_BASE
MASTER=127.0.0.1:$((PORT_BASE + 11))
SLAVE=127.0.0.1:$((PORT_BASE + 21))
TARGET=$((GB * 1024 * 1024 * 1024))
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=(); }
REPORTING=/sys/module/page_reporting/parameters/page_reporting_order
cleanup() {
  stop_all
  [ -n "${REPORTING_WAS:-}" ] && echo "$REPORTING_WAS" > "$REPORTING"
  rm -rf "$(store_of slave)"
  [ "$KEEP" = 1 ] || rm -rf "${D:?}"
}
trap cleanup EXIT
mkdir -p "$D"
if [ "${HOST_BACKED:-0}" = 1 ]; then
  [ -w "$REPORTING" ] || { echo "HOST_BACKED=1: no $REPORTING to turn free page reporting off" >&2; exit 1; }
  REPORTING_WAS=$(cat "$REPORTING")
  echo 11 > "$REPORTING"  # above MAX_PAGE_ORDER (10): no free block qualifies for reporting
  # one write per page of all but 1 GiB of the free memory, then freed: backed from now on
  python3 -c 'import mmap, sys
n = int(sys.argv[1]) << 10
m = mmap.mmap(-1, n)
for i in range(0, n, mmap.PAGESIZE): m[i] = 1
m.close()' "$(awk '/^MemFree:/ { print $2 - 1048576 }' /proc/meminfo)"
  echo "free page reporting off for this run (page_reporting_order $REPORTING_WAS -> 11), free memory written once"
fi

store_of() { # name: the broker's store directory
  if [ "$1" = slave ]; then echo "${SLAVE_STORE:-$D/slave}"; else echo "$D/$1"; fi
}
start() { # name port conf...; sets LAST_PID
  local name=$1 port=$2; shift 2
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nconsoleEnable=false\nbrokerName=catchup\ndiskSpaceWarningLevelRatio=95\ndiskMaxUsedSpaceRatio=95\n%s\n' "$port" "$*" > "$D/$name.conf"
  local cpu=
  case "${PIN:-}" in
    1) cpu=$([ "$name" = master ] && echo 0 || echo 1) ;;
    2) cpu=0 ;;
  esac
  RUST_LOG=${RUST_LOG:-warn} ${cpu:+taskset -c "$cpu"} "$BIN" broker -c "$D/$name.conf" --store "$(store_of "$name")" -n "$NS" > "$D/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=($LAST_PID)
  if [ "${PIN:-}" = 2 ] && [ "$name" = slave ]; then
    # the HA client starts with the broker: move it as soon as it exists
    for _ in $(seq 500); do
      for t in /proc/"$LAST_PID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = HAClient ] && taskset -p -c 1 "${t##*/}" > /dev/null && break 2
      done
      sleep 0.01
    done
  fi
  for _ in $(seq 300); do grep -q "is ready" "$D/$name.log" && return; sleep 0.1; done
  echo "broker $name not ready"; cat "$D/$name.log"; exit 1
}
master() { start master "${MASTER#*:}" "brokerRole=ASYNC_MASTER"; MASTER_PID=$LAST_PID; }
slave() { start slave "${SLAVE#*:}" "brokerId=1
brokerRole=SLAVE
haMasterAddress=127.0.0.1:$((${MASTER#*:} + 1))
${SLAVE_CONF:-}"; SLAVE_PID=$LAST_PID; }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
status_field() { # broker address, field
  "$BIN" admin brokerStatus -n "$NS" -b "$1" 2>/dev/null | sed -n "s/^$2 *: *\([0-9]*\).*/\1/p"
}
max_offset() { status_field "$1" commitLogMaxOffset; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
cpu_s() { # CPU seconds (user + system) a process used so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
DISK=$(lsblk -no PKNAME "$(df --output=source "$D" | tail -1)" 2>/dev/null)
[ -n "$DISK" ] || DISK=$(basename "$(df --output=source "$D" | tail -1)")
disk_sectors() { # sectors read and written so far on the disk of $D
  awk -v d="$DISK" '$3 == d { print $6, $10 }' /proc/diskstats
}
mbps() { # bytes, t0, t1: MB/s
  awk -v b="$1" -v a="$2" -v z="$3" 'BEGIN { printf "%.0f", b / (z - a) / 1e6 }'
}
cached() { # MB of the master's commit log in the page cache
  fincore -b -n -o RES "$D"/master/commitlog/* | awk '{ s += $1 } END { printf "%.0f", s / 1e6 }'
}

RUST_LOG=warn "$BIN" namesrv --listen "$NS" > "$D/ns.log" 2>&1 &
PIDS+=($!)
sleep 0.5
if [ -d "$D/seed" ] && [ -d "$D/master" ]; then
  echo "reusing the master's store and the slave's seed in $D"
else
  rm -rf "${D:?}"/{master,slave,seed} "$(store_of slave)"
  master
  slave
  "$BIN" bench produce --namesrv "$NS" --topic CatchUp --threads 4 --size "$SIZE" --duration 1 > /dev/null 2>&1
  m=$(max_offset "$MASTER")
  for _ in $(seq 100); do [ "$(max_offset "$SLAVE")" = "$m" ] && break; sleep 0.2; done
  echo "$m" > "$D/seed.offset"
  stop "$SLAVE_PID"
  cp -a --sparse=always "$(store_of slave)" "$D/seed"
  echo "filling the master's commit log to $GB GiB ($SIZE B messages)..."
  while :; do
    m=$(max_offset "$MASTER")
    [ "${m:-0}" -ge "$TARGET" ] && break
    "$BIN" bench produce --namesrv "$NS" --topic CatchUp --threads 16 --size "$SIZE" --duration 20 > /dev/null 2>&1
  done
  echo "$m" > "$D/master.offset"
  stop "$MASTER_PID"
fi
from=$(cat "$D/seed.offset")
end=$(cat "$D/master.offset")
results=()
for r in $(seq "$ROUNDS"); do
  rm -rf "$(store_of slave)"; cp -a --sparse=always "$D/seed" "$(store_of slave)"
  drop_caches
  echo "=== round $r  (loadavg $(cat /proc/loadavg))"
  # the bytes the slave will copy, [from, end), file by file: read alone, then copied to a file on
  # the same disk (what a slave on the master's machine does: it reads and writes the same bytes)
  dd_read() { # of|/dev/null: prints MB/s (a copy: MB/s in the page cache/MB/s synced)
    local t0 t1 bytes=0 f base size a z n
    t0=$(date +%s.%N)
    for f in "$D"/master/commitlog/*; do
      base=$((10#$(basename "$f"))); size=$(stat -c %s "$f")
      a=$(( from > base ? from - base : 0 )); z=$(( end - base < size ? end - base : size ))
      [ "$z" -gt "$a" ] || continue
      n=$(dd if="$f" of="$1" oflag=append conv=notrunc bs=1M iflag=skip_bytes,count_bytes skip="$a" count=$((z - a)) 2>&1 \
        | sed -n 's/^\([0-9]*\) bytes.*/\1/p')
      bytes=$((bytes + n))
    done
    t1=$(date +%s.%N)
    mbps "$bytes" "$t0" "$t1"
    if [ "$1" != /dev/null ]; then sync "$1"; printf /; mbps "$bytes" "$t0" "$(date +%s.%N)"; fi
  }
  dd_rate=$(dd_read /dev/null)
  drop_caches
  copy="${SLAVE_STORE:+$(dirname "$SLAVE_STORE")}"; copy="${copy:-$D}/ddcopy"
  rm -f "$copy"; dd_copy=$(dd_read "$copy"); rm -f "$copy"
  echo "cold dd bs=1M of the $((end - from)) bytes the slave lacks: read $dd_rate MB/s, copied to the same disk $dd_copy MB/s (in the page cache/synced)"
  drop_caches
  # the master maps its files; its pages stay cached while mapped, so it restarts on cold caches
  master
  # CACHED=1: the master's commit log in the page cache, so the disk is out of the picture
  if [ "${CACHED:-0}" = 1 ]; then cat "$D"/master/commitlog/* > /dev/null; else drop_caches; fi
  m=$(max_offset "$MASTER")
  [ "$m" = "$end" ] || { echo "the master's commit log ends at $m, expected $end" >&2; exit 1; }
  echo "slave at $from, master at $m; $(cached) MB of the master's commit log cached before the slave starts"
  if [ "${SINK:-0}" = 1 ]; then
    master_cpu0=$(cpu_s "$MASTER_PID")
    out=$(${PIN:+taskset -c 1} python3 "$(dirname "$0")/ha-sink.py" 127.0.0.1 $((${MASTER#*:} + 1)) "$from" "$m") || exit 1
    echo "master streamed to ha-sink.py, $out; master used $(awk -v a="$master_cpu0" -v b="$(cpu_s "$MASTER_PID")" 'BEGIN { printf "%.2f", b - a }') s of CPU"
    stop "$MASTER_PID"
    out=${out##*: }
    results+=("${out% MB/s}/$dd_rate")
    continue
  fi
  read -r disk_r0 disk_w0 < <(disk_sectors)
  t0=$(date +%s.%N); start_s=$SECONDS
  master_cpu0=$(cpu_s "$MASTER_PID")
  slave
  if [ "${PERF:-0}" = 1 ]; then
    perf record -g -o "$D/perf.slave.$r.data" -p "$SLAVE_PID" > /dev/null 2>&1 &
    PERF_PID=$!
    perf record -g -o "$D/perf.master.$r.data" -p "$MASTER_PID" > /dev/null 2>&1 &
    PERF_MASTER_PID=$!
  fi
  s=0
  while [ "${s:-0}" != "$m" ]; do
    sleep 0.1; s=$(max_offset "$SLAVE")
    [ "$SECONDS" -lt $((start_s + 3600)) ] || { echo "the slave did not catch up within an hour" >&2; exit 1; }
  done
  t_copied=$(date +%s.%N)
  # caught up means readable too: every copied record has its consume queue entry
  while [ "$(status_field "$SLAVE" dispatchBehindBytes)" != 0 ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  sync "$(store_of slave)"/commitlog/*
  t_synced=$(date +%s.%N)
  read -r disk_r1 disk_w1 < <(disk_sectors)
  if [ "${PERF:-0}" = 1 ]; then
    kill -INT "$PERF_PID" "$PERF_MASTER_PID"; wait "$PERF_PID" "$PERF_MASTER_PID" 2>/dev/null
  fi
  # per thread of either broker (more than 50 ms of CPU since its start): time on a CPU, and
  # time runnable but waiting for one (the two cores are shared by both brokers)
  for P in $SLAVE_PID $MASTER_PID; do
    for t in /proc/"$P"/task/*; do echo "$P $(cat "$t/comm") $(cat "$t/schedstat")"; done
  done | awk '$3 > 5e7 { printf "  pid %s %-16s on CPU %.2f s, waiting for a CPU %.2f s\n", $1, $2, $3 / 1e9, $4 / 1e9 }'
  cpu="slave used $(cpu_s "$SLAVE_PID") s of CPU, master $(awk -v a="$master_cpu0" -v b="$(cpu_s "$MASTER_PID")" 'BEGIN { printf "%.2f", b - a }') s"
  stop "$SLAVE_PID"
  stop "$MASTER_PID"
  rate=$(mbps "$((m - from))" "$t0" "$t1")
  secs=$(awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.2f", z - a }')
  copy_secs=$(awk -v a="$t0" -v z="$t_copied" 'BEGIN { printf "%.2f", z - a }')
  copy_rate=$(mbps "$((m - from))" "$t0" "$t_copied")
  echo "slave copied and dispatched $((m - from)) bytes in $secs s (from its start; commit log equal after $copy_secs s, $copy_rate MB/s): $rate MB/s; $cpu  (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  synced_rate=$(mbps "$((m - from))" "$t0" "$t_synced")
  disk_r=$(( (disk_r1 - disk_r0) * 512 )); disk_w=$(( (disk_w1 - disk_w0) * 512 ))
  echo "  and its commit log synced: $synced_rate MB/s; disk $DISK meanwhile read $((disk_r / 1000000)) MB and wrote $((disk_w / 1000000)) MB: $(mbps "$((disk_r + disk_w))" "$t0" "$t_synced") MB/s"
  results+=("$rate/$copy_rate/$synced_rate/$dd_rate/$dd_copy")
done
if [ "${SINK:-0}" = 1 ]; then
  echo "SUMMARY ha-catchup SINK=1: $GB GiB behind, $SIZE B messages; master streamed to ha-sink.py / cold dd read MB/s per round: ${results[*]}"
  exit 0
fi
echo "SUMMARY ha-catchup: $GB GiB behind, $SIZE B messages; caught up (dispatched) / commit log copied / copied and synced / cold dd read / cold dd copy in the page cache / cold dd copy synced MB/s per round: ${results[*]}"
