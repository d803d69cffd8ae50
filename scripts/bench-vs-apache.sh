#!/usr/bin/env bash
# Side-by-side throughput of ferrocket and the Apache RocketMQ broker, driven by Apache RocketMQ's own
# benchmark tools (org.apache.rocketmq.example.benchmark.Producer, BatchProducer and Consumer from
# rocketmq-example on Maven Central). Every case runs on a fresh store for each broker, the two brokers in
# alternation (the first broker of a round swaps every round), and ends with a table of medians.
#
#   scripts/bench-vs-apache.sh                      # every case, 2 rounds, 60 s per send case
#   QUICK=1 scripts/bench-vs-apache.sh              # 1 round, 15 s per send case, 100k backlog
#   ROUNDS=3 CASES="send16 sync16" scripts/bench-vs-apache.sh
#
# Cases (CASES, space-separated; default all):
#   send1 send16 send64   1 KB synchronous sends from 1, 16, 64 producer threads, flushDiskType=ASYNC_FLUSH
#   sync16                the same with 16 threads and flushDiskType=SYNC_FLUSH on both brokers, followed by
#                         a short strace window counting msync/fsync/fdatasync calls (messages per flush)
#   batch                 BatchProducer, 16 threads, batches of BATCH_SIZE 1 KB messages, ASYNC_FLUSH
#   consume               fill BACKLOG messages with Producer, then drain them with Consumer (20 threads)
#   restart16             send16 against a broker that is restarted on an empty store once the Producer
#                         has sent for WARMUP seconds (the tool suspended meanwhile): the broker's own
#                         first seconds, with the client's JVM already warm (counted on the broker)
#
# Settings (environment):
#   ROUNDS (2)  DURATION seconds per send case (60)  BACKLOG messages (1000000)  BATCH_SIZE (16)
#   WARMUP seconds the Producer sends before the restart of restart16 (20)
#   APACHE_VERSION broker and name server (5.5.0)  TOOLS_VERSION rocketmq-example (APACHE_VERSION)
#   HEAP of the Apache broker (1g: -Xms1g -Xmx1g; its name server gets 256m)  CLIENT_HEAP tools (1g)
#   PORT_BASE (31000: name server PORT_BASE+76, broker PORT_BASE+911, which also takes +909 and +912)
#   BENCH_DIR scratch directory (a new one under /tmp), removed at the end unless KEEP=1
#   QUICK=1 short settings to check the harness; FSYNC_PROBE seconds of the strace window (10, 0 = off)
#   FERROCKET_BIN use this binary instead of building target/release/ferrocket
#   BROKERS which brokers to run ("apache ferrocket"; "ferrocket" alone compares builds of ferrocket
#               against each other without the Apache runs, and needs no Apache jars)
#
# What is measured, per run:
#   msgs/s      send cases: median of the tool's "Send TPS" (Producer) / "Send MPS" (BatchProducer) lines,
#               printed once a second over the tool's sliding 10 s window, leaving out the windows that
#               overlap the first 10 s; consume: BACKLOG divided by the drain time, timed on the broker
#               from the first to the last message pulled (brokerStatus msgGetTotalTodayNow, polled
#               every 0.2 s), so the Consumer's JVM start and rebalance are not counted
#   first10s    send cases: the tool's first window, the first 10 s of sending to a freshly started broker
#               (and of the tool's own JVM); restart16: messages stored in the first 10 s after the
#               restarted broker routes the topic again and the tool resumes, per second, while msgs/s
#               there is the rate stored from then to DURATION s after it (both from topicStatus)
#   failed      the tool's final "Send Failed" + "Response Failed" ("Send Message Failed" for batches,
#               "Consume Fail" for the consumer); the table adds up the rounds
#   cpu/100k    utime+stime of the broker process (/proc/PID/stat) over the measured window, per 100,000
#               messages stored (send cases, counted with `ferrocket admin topicStatus`) or pulled
#               (consume); for Apache the broker JVM only, its separate name server JVM is not counted;
#               ferrocket runs as one standalone process (name server and broker)
#   rss_MB      VmRSS of that process at the end of the window
#   route_ms    from spawning the broker (for Apache: its name server, then the broker) to the first
#               successful topicRoute of the benchmark topic, which is created with updateTopic as soon as
#               the cluster answers (`ferrocket admin`, polled every 50 ms)
#   msgs/flush  sync16 only: messages stored per msync/fsync/fdatasync call of the broker process (commit
#               log and consume queues alike), counted by `strace -c -f` in a separate FSYNC_PROBE window
#               after the measured one (strace slows the broker, so that window's rate is not reported)
# Each run prints the load average (/proc/loadavg) seen when it started: other work on the machine
# shows there.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/$(basename "$0")"
QUICK=${QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
    ROUNDS=${ROUNDS:-1}
    DURATION=${DURATION:-15}
    BACKLOG=${BACKLOG:-100000}
    FSYNC_PROBE=${FSYNC_PROBE:-5}
fi
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-60}
BACKLOG=${BACKLOG:-1000000}
FSYNC_PROBE=${FSYNC_PROBE:-10}
BATCH_SIZE=${BATCH_SIZE:-16}
WARMUP=${WARMUP:-20}
CASES=${CASES:-send1 send16 send64 sync16 batch consume restart16}
BROKERS=${BROKERS:-apache ferrocket}
APACHE_VERSION=${APACHE_VERSION:-5.5.0}
TOOLS_VERSION=${TOOLS_VERSION:-$APACHE_VERSION}
HEAP=${HEAP:-1g}
CLIENT_HEAP=${CLIENT_HEAP:-1g}
PORT_BASE=${PORT_BASE:-31000}
KEEP=${KEEP:-0}
MSG_SIZE=1024
TOPIC=BenchVsApache
GROUP=bench_vs_apache_consumer
NS_PORT=$((PORT_BASE + 76))
BROKER_PORT=$((PORT_BASE + 911))
NS_ADDR="127.0.0.1:$NS_PORT"
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/ferrocket-bench-vs-apache.XXXXXX)}
CLK_TCK=$(getconf CLK_TCK)
export RUST_BACKTRACE=0

STARTED_PIDS=()
RESULTS="$BENCH_DIR/results.tsv"
# The broker maps and unmaps files through JDK internals.
JAVA_OPENS=(--add-opens java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED)

die() {
    echo "bench-vs-apache: $*" >&2
    exit 1
}

# Stops every process this script started (brokers, name servers, tools, strace), then removes the
# scratch directory with the stores unless KEEP=1.
cleanup() {
    local pid
    # The script that started the namespaced runs gives them time to stop their own processes.
    local tenths=50
    [[ "${BENCH_STAGE:-}" == runs ]] || tenths=600
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${STARTED_PIDS[@]}"; do
        reap "$pid" "$tenths"
    done
    # The runs inside the network namespace leave the scratch directory to the script that started them.
    [[ "${BENCH_STAGE:-}" == runs ]] && return
    if [[ "$KEEP" == 1 ]]; then
        echo "scratch directory kept: $BENCH_DIR"
    else
        rm -rf "$BENCH_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command in the background, remembers its pid in STARTED_PIDS and prints nothing; the pid is
# left in LAST_PID (a command substitution would run it in a subshell the trap cannot reach).
spawn() {
    local log=$1
    shift
    "$@" > "$log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# Gives a process that was asked to stop up to $2 tenths of a second, then kills it and reaps it.
reap() {
    local pid=$1 tenths=$2
    for _ in $(seq 1 "$tenths"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# Stops one started process and waits for it to exit.
stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null
    reap "$pid" 100
    local kept=()
    local p
    for p in "${STARTED_PIDS[@]}"; do
        [[ "$p" == "$pid" ]] || kept+=("$p")
    done
    STARTED_PIDS=("${kept[@]}")
}

require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" > /dev/null || die "'$tool' is required but not on PATH"
    done
}

now_ms() {
    date +%s%3N
}

load_avg() {
    cut -d' ' -f1-3 /proc/loadavg
}

# utime+stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the
# parenthesised command name, which may hold spaces).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

rss_mb() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

admin() {
    "$BIN" admin -n "$NS_ADDR" --timeoutMillis 2000 "$@"
}

# Messages stored in the benchmark topic: the sum of the queues' max offsets (the store is fresh).
stored_messages() {
    admin --json topicStatus -t "$TOPIC" 2>/dev/null \
        | awk -F: '/"maxOffset"/ { gsub(/[ ,]/, "", $2); n += $2 } END { print n + 0 }'
}

# Offsets the consumer group has committed on the benchmark topic.
consumed_messages() {
    admin --json consumerProgress -g "$GROUP" 2>/dev/null \
        | awk -F: '/"consumerOffset"/ { gsub(/[ ,]/, "", $2); n += $2 } END { print n + 0 }'
}

wait_ports_free() {
    local port
    for _ in $(seq 1 100); do
        local busy=0
        for port in "$NS_PORT" "$BROKER_PORT" "$((BROKER_PORT - 2))" "$((BROKER_PORT + 1))"; do
            ss -Hltn "sport = :$port" | grep -q . && busy=1
        done
        ((busy == 0)) && return 0
        sleep 0.2
    done
    die "ports $NS_PORT/$BROKER_PORT are still in use (another process? choose PORT_BASE)"
}

# Polls until the cluster takes the benchmark topic and the name server routes it; sets ROUTE_MS to the
# time since $1 (the spawn time, ms). Not run in a command substitution, so a TERM stops it at once. Fails, with the broker's last log lines on stderr, if the broker
# process $2 exits or 120 s pass.
wait_route() {
    local t0=$1 pid=$2 log=$3 created=0
    local deadline=$(($(now_ms) + 120000))
    while (($(now_ms) < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -20 "$log" >&2
            echo "bench-vs-apache: the broker exited during start (log above)" >&2
            return 1
        fi
        if ((created == 0)); then
            admin updateTopic -c DefaultCluster -t "$TOPIC" -r 8 -w 8 > "$log.route" 2>&1 && created=1
        fi
        if ((created == 1)) && admin topicRoute -t "$TOPIC" > "$log.route" 2>&1; then
            ROUTE_MS=$(($(now_ms) - t0))
            return 0
        fi
        sleep 0.05
    done
    tail -20 "$log" >&2
    cat "$log.route" >&2
    echo "bench-vs-apache: no route for $TOPIC within 120 s (topic created: $created)" >&2
    return 1
}

# Settings both brokers get; the store path is added per broker.
write_broker_conf() {
    local file=$1 flush=$2
    cat > "$file" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BROKER_PORT
haListenPort=$((BROKER_PORT + 1))
namesrvAddr=$NS_ADDR
autoCreateTopicEnable=true
flushDiskType=$flush
CONF
}

# Starts `ferrocket standalone` (name server and broker in one process) on a fresh store. Sets
# BROKER_PID, NS_PID (empty) and ROUTE_MS.
start_ferrocket() {
    local run=$1 flush=$2
    write_broker_conf "$run/broker.conf" "$flush"
    echo "consoleEnable=false" >> "$run/broker.conf"
    local t0
    t0=$(now_ms)
    spawn "$run/broker.log" "$BIN" standalone --store "$run/store" --namesrv-listen "$NS_ADDR" -c "$run/broker.conf"
    BROKER_PID=$LAST_PID
    NS_PID=""
    wait_route "$t0" "$BROKER_PID" "$run/broker.log"
}

# Starts the Apache name server and broker (two JVMs, the broker with the G1, heap pre-touch and
# direct-memory flags of Apache's bin/runbroker.sh and a HEAP heap) on a fresh store. Sets BROKER_PID,
# NS_PID and ROUTE_MS.
start_apache() {
    local run=$1 flush=$2
    mkdir -p "$run/home"
    printf 'listenPort=%s\nbindAddress=127.0.0.1\n' "$NS_PORT" > "$run/namesrv.conf"
    write_broker_conf "$run/broker.conf" "$flush"
    printf 'storePathRootDir=%s\nstorePathCommitLog=%s\n' "$run/store" "$run/store/commitlog" >> "$run/broker.conf"
    local t0
    t0=$(now_ms)
    spawn "$run/namesrv.log" env ROCKETMQ_HOME="$run" java -server -Xms256m -Xmx256m -Duser.home="$run/home" \
        "${JAVA_OPENS[@]}" -cp "$SERVERS_CP" org.apache.rocketmq.namesrv.NamesrvStartup -c "$run/namesrv.conf"
    NS_PID=$LAST_PID
    spawn "$run/broker.log" env ROCKETMQ_HOME="$run" java -server -Xms"$HEAP" -Xmx"$HEAP" \
        -XX:+UseG1GC -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 \
        -XX:SoftRefLRUPolicyMSPerMB=0 -XX:SurvivorRatio=8 -XX:-OmitStackTraceInFastThrow -XX:+AlwaysPreTouch \
        -XX:MaxDirectMemorySize=15g -XX:-UseLargePages -Duser.home="$run/home" \
        "${JAVA_OPENS[@]}" -cp "$SERVERS_CP" org.apache.rocketmq.broker.BrokerStartup -c "$run/broker.conf"
    BROKER_PID=$LAST_PID
    wait_route "$t0" "$BROKER_PID" "$run/broker.log"
}

stop_brokers() {
    stop_pid "$BROKER_PID"
    [[ -n "$NS_PID" ]] && stop_pid "$NS_PID"
    BROKER_PID=""
    NS_PID=""
}

# Runs one of Apache's benchmark tools in the background with the given arguments; LAST_PID is its pid.
spawn_tool() {
    local log=$1 class=$2
    shift 2
    spawn "$log" java -Xms"$CLIENT_HEAP" -Xmx"$CLIENT_HEAP" -Duser.home="$RUN_DIR/home" \
        -Dcom.rocketmq.sendMessageWithVIPChannel=false "${JAVA_OPENS[@]}" -cp "$TOOLS_CP" \
        "org.apache.rocketmq.example.benchmark.$class" -n "$NS_ADDR" -t "$TOPIC" "$@"
}

# Median of the rates on standard input (one a line), rounded to a whole message; "-" when none.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Rates printed by the tool: the first window and the median of the windows that start after it.
# The tools print a window over the last 10 one-second snapshots every second, so line 11 onwards no
# longer overlaps the first 10 s.
tool_rates() {
    local log=$1 field=$2
    local rates
    rates=$(grep -o "$field: [0-9]*" "$log" | awk '{ print $NF }')
    FIRST10=$(echo "$rates" | sed -n 1p)
    [[ -n "$FIRST10" ]] || FIRST10="-"
    RATE=$(echo "$rates" | sed -n '11,$p' | median)
    if [[ "$RATE" == "-" ]]; then
        # Too short a run for a window clear of the start: take the last one.
        RATE=$(echo "$rates" | sed -n '$p')
        [[ -n "$RATE" ]] || RATE="-"
    fi
}

# The last value of each named counter in the tool's output, added up.
tool_failures() {
    local log=$1
    shift
    local total=0 field value
    for field in "$@"; do
        value=$(grep -o "$field: [0-9]*" "$log" | tail -1 | awk '{ print $NF }')
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

cpu_per_100k() {
    local ticks=$1 messages=$2
    awk -v t="$ticks" -v m="$messages" -v hz="$CLK_TCK" \
        'BEGIN { if (m > 0) printf "%.2f", t / hz / m * 100000; else print "-" }'
}

# Counts msync/fsync/fdatasync calls of the broker process for FSYNC_PROBE seconds while the producer
# keeps sending, and sets PER_FLUSH to the messages stored in that window per call. strace slows the
# broker, so this window is separate from (after) the measured one and its rate is not reported.
fsync_probe() {
    PER_FLUSH="-"
    ((FSYNC_PROBE > 0)) || return 0
    command -v strace > /dev/null || { echo "  (strace not installed: no flush count)"; return 0; }
    local m0 m1 calls
    m0=$(stored_messages)
    timeout -s INT "$FSYNC_PROBE" strace -f -c -e trace=msync,fsync,fdatasync -o "$RUN_DIR/strace.txt" \
        -p "$BROKER_PID" > /dev/null 2>&1
    m1=$(stored_messages)
    calls=$(awk '$NF ~ /^(msync|fsync|fdatasync)$/ { n += $4 } END { print n + 0 }' "$RUN_DIR/strace.txt" 2>/dev/null)
    if ((calls > 0)); then
        PER_FLUSH=$(awk -v m=$((m1 - m0)) -v c="$calls" 'BEGIN { printf "%.1f", m / c }')
    fi
    echo "  flush probe: $((m1 - m0)) messages, $calls msync/fsync/fdatasync calls in ${FSYNC_PROBE} s under strace"
}

# One send case: the tool sends for DURATION seconds; sets RATE, FIRST10, FAILED, CPU100K, RSS.
measure_send() {
    local case=$1 class=Producer field="Send TPS"
    local args=(-s "$MSG_SIZE" -ri 1000)
    local failures=("Send Failed" "Response Failed")
    case "$case" in
        send1) args+=(-w 1) ;;
        send16 | sync16) args+=(-w 16) ;;
        send64) args+=(-w 64) ;;
        batch)
            class=BatchProducer field="Send MPS"
            args+=(-w 16 -b "$BATCH_SIZE")
            failures=("Send Message Failed")
            ;;
    esac
    local c0 n0 c1 n1 tool
    c0=$(cpu_ticks "$BROKER_PID")
    n0=$(stored_messages)
    spawn_tool "$RUN_DIR/tool.log" "$class" "${args[@]}"
    tool=$LAST_PID
    # In the background, so a TERM is handled at once and not after the sleep.
    spawn /dev/null sleep "$DURATION"
    local pause=$LAST_PID
    wait "$pause"
    stop_pid "$pause"
    kill -0 "$tool" 2>/dev/null || echo "  the $class tool exited early (log: $RUN_DIR/tool.log)"
    c1=$(cpu_ticks "$BROKER_PID")
    n1=$(stored_messages)
    RSS=$(rss_mb "$BROKER_PID")
    PER_FLUSH="-"
    [[ "$case" == sync16 ]] && fsync_probe
    stop_pid "$tool"
    tool_rates "$RUN_DIR/tool.log" "$field"
    FAILED=$(tool_failures "$RUN_DIR/tool.log" "${failures[@]}")
    CPU100K=$(cpu_per_100k $((c1 - c0)) $((n1 - n0)))
    MESSAGES=$((n1 - n0))
}

# Sleeps $1 seconds in the background, so a TERM is handled at once and not after the sleep.
pause() {
    spawn /dev/null sleep "$1"
    local p=$LAST_PID
    wait "$p"
    stop_pid "$p"
}

# The restart16 case: the Producer (16 threads) sends to the fresh broker for WARMUP seconds, long
# enough for its JVM to compile the send path. The tool is then suspended (SIGSTOP; its requests
# still in flight are answered within the half second it waits), the broker is stopped and started
# again on an empty store (for Apache with its name server), and the tool resumes (SIGCONT) once the
# topic routes again. Suspended, it sees no failed send: the tool sleeps 3 s after every failure,
# which would count its own back-off against a broker that restarts in less. The stored messages are
# counted on the broker over the first 10 s after the resume (FIRST10) and from there to DURATION s
# (RATE); FAILED is the tool's count, which should stay 0.
measure_restart() {
    local broker=$1 flush=$2
    spawn_tool "$RUN_DIR/tool.log" Producer -s "$MSG_SIZE" -ri 1000 -w 16
    local tool=$LAST_PID
    pause "$WARMUP"
    kill -STOP "$tool"
    sleep 0.5
    stop_brokers
    rm -rf "$RUN_DIR/store"
    wait_ports_free
    if ! "start_$broker" "$RUN_DIR" "$flush"; then
        kill -CONT "$tool"
        stop_pid "$tool"
        RATE="-" FIRST10="-" FAILED="-" CPU100K="-" RSS="-" MESSAGES=0
        return 0
    fi
    kill -CONT "$tool"
    local t0 n0 c0 t10 n10 t1 n1 c1
    t0=$(now_ms) n0=$(stored_messages) c0=$(cpu_ticks "$BROKER_PID")
    pause 10
    t10=$(now_ms) n10=$(stored_messages)
    pause $((DURATION > 20 ? DURATION - 10 : 10))
    t1=$(now_ms) n1=$(stored_messages) c1=$(cpu_ticks "$BROKER_PID")
    RSS=$(rss_mb "$BROKER_PID")
    stop_pid "$tool"
    FIRST10=$(awk -v n=$((n10 - n0)) -v ms=$((t10 - t0)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')
    RATE=$(awk -v n=$((n1 - n10)) -v ms=$((t1 - t10)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')
    FAILED=$(tool_failures "$RUN_DIR/tool.log" "Send Failed" "Response Failed")
    PER_FLUSH="-"
    CPU100K=$(cpu_per_100k $((c1 - c0)) $((n1 - n0)))
    MESSAGES=$((n1 - n0))
}

# Messages the broker has handed to pulling consumers since it started (brokerStatus
# msgGetTotalTodayNow, which both brokers count as pulls return messages).
pulled_messages() {
    admin --json brokerStatus -b "127.0.0.1:$BROKER_PORT" 2>/dev/null \
        | awk -F: '/"msgGetTotalTodayNow"/ { gsub(/[^0-9]/, "", $2); print $2 + 0; found = 1 } END { if (!found) print 0 }'
}

# Polls the broker's pulled-message count every 0.2 s while the Consumer drains N messages; sets
# T_FIRST/C_FIRST at the first pulled message and T_LAST/C_LAST once N were pulled (ms, CPU ticks).
wait_drain() {
    local pid=$1 n=$2 limit_s=$3 got
    local deadline=$(($(now_ms) + limit_s * 1000))
    T_FIRST="" T_LAST=""
    while (($(now_ms) < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        got=$(pulled_messages)
        if [[ -z "$T_FIRST" ]] && ((got > 0)); then
            T_FIRST=$(now_ms) C_FIRST=$(cpu_ticks "$BROKER_PID")
        fi
        if ((got >= n)); then
            T_LAST=$(now_ms) C_LAST=$(cpu_ticks "$BROKER_PID")
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# The consume case: fill BACKLOG messages (Producer, 16 threads), then drain them with Consumer. The
# drain is timed on the broker, from the first message pulled to the last (polled every 0.2 s), so
# the tool's JVM start and the rebalance are not counted; the group's committed offsets are read
# afterwards to check that every message was consumed.
measure_consume() {
    local fill n
    spawn_tool "$RUN_DIR/fill.log" Producer -s "$MSG_SIZE" -w 16 -q "$BACKLOG" -ri 1000
    fill=$LAST_PID
    local fill_limit=$((BACKLOG / 200 + 120))
    for _ in $(seq 1 $((fill_limit * 5))); do
        kill -0 "$fill" 2>/dev/null || break
        sleep 0.2
    done
    stop_pid "$fill"
    n=$(stored_messages)
    ((n >= BACKLOG)) || echo "  backlog short: $n of $BACKLOG stored (log: $RUN_DIR/fill.log)"
    spawn_tool "$RUN_DIR/tool.log" Consumer -g "$GROUP" -w 20 -ri 1000
    local consumer=$LAST_PID
    RATE="-" CPU100K="-"
    if wait_drain "$consumer" "$n" $((BACKLOG / 500 + 120)); then
        local drain_ms=$((T_LAST - T_FIRST))
        ((drain_ms > 0)) || drain_ms=1
        RATE=$(awk -v n="$n" -v ms="$drain_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
        CPU100K=$(cpu_per_100k $((C_LAST - C_FIRST)) "$n")
        echo "  pulled $n messages in $((drain_ms / 1000)).$(((drain_ms % 1000) / 100)) s"
    else
        echo "  the consumer did not drain the backlog (log: $RUN_DIR/tool.log)"
    fi
    RSS=$(rss_mb "$BROKER_PID")
    # The client commits its offsets every 5 s.
    for _ in $(seq 1 50); do
        MESSAGES=$(consumed_messages)
        ((MESSAGES >= n)) && break
        sleep 0.2
    done
    ((MESSAGES >= n)) || echo "  only $MESSAGES of $n messages committed by the group"
    stop_pid "$consumer"
    FIRST10="-"
    FAILED=$(tool_failures "$RUN_DIR/tool.log" "Consume Fail")
    PER_FLUSH="-"
}

# One run: a fresh store for one broker and one case, a line of figures, and the store removed.
run_case() {
    local broker=$1 case=$2 round=$3
    RUN_DIR="$BENCH_DIR/$case-$broker-$round"
    mkdir -p "$RUN_DIR/home"
    local flush=ASYNC_FLUSH
    [[ "$case" == sync16 ]] && flush=SYNC_FLUSH
    wait_ports_free
    local load
    load=$(load_avg)
    if ! "start_$broker" "$RUN_DIR" "$flush"; then
        # A broker that did not come up costs this run only; the others go on.
        stop_brokers
        echo "$case $broker round $round: the broker did not start; run skipped (KEEP=1 keeps the logs in $RUN_DIR)"
        return 0
    fi
    case "$case" in
        consume) measure_consume ;;
        restart16) measure_restart "$broker" "$flush" ;;
        *) measure_send "$case" ;;
    esac
    stop_brokers
    printf '%-8s %-9s round %s  msgs/s %-8s first10s %-8s failed %-5s cpu_s/100k %-6s rss_MB %-5s route_ms %-6s msgs/flush %-6s messages %-8s load %s\n' \
        "$case" "$broker" "$round" "$RATE" "$FIRST10" "$FAILED" "$CPU100K" "$RSS" "$ROUTE_MS" "$PER_FLUSH" "$MESSAGES" "$load"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$broker" "$round" "$RATE" "$FIRST10" "$FAILED" \
        "$CPU100K" "$RSS" "$ROUTE_MS" "$PER_FLUSH" >> "$RESULTS"
    [[ "$KEEP" == 1 ]] || rm -rf "$RUN_DIR/store"
}

# Medians per case and broker, and ferrocket/Apache ratios of the medians.
summarize() {
    echo
    echo "Medians over $ROUNDS round(s), failed summed over them; ratio = ferrocket / Apache" \
        "(msgs/s: higher is better; cpu, rss, route: lower is better)"
    awk -F'\t' '
        function median(list,    n, v, i, j, t) {
            n = split(list, v, " ")
            if (n == 0) return "-"
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function add(key, value) { if (value != "-" && value != "") vals[key] = vals[key] " " value }
        function ratio(f, a) { return (f == "-" || a == "-" || a + 0 == 0) ? "-" : sprintf("%.3g", f / a) }
        {
            if (!($1 in seen)) { seen[$1] = 1; order[++cases] = $1 }
            for (c = 4; c <= 10; c++) add($1 SUBSEP $2 SUBSEP c, $c)
            failed[$1 SUBSEP $2] += ($6 == "-" ? 0 : $6)
        }
        END {
            fmt = "%-8s %-9s %9s %9s %7s %10s %7s %9s %10s\n"
            printf fmt, "case", "broker", "msgs/s", "first10s", "failed", "cpu_s/100k", "rss_MB", "route_ms", "msgs/flush"
            for (i = 1; i <= cases; i++) {
                k = order[i]
                for (b = 1; b <= 2; b++) {
                    br = (b == 1) ? "apache" : "ferrocket"
                    for (c = 4; c <= 10; c++) m[br, c] = median(vals[k SUBSEP br SUBSEP c])
                    printf fmt, k, br, m[br, 4], m[br, 5], failed[k SUBSEP br] + 0, m[br, 7], m[br, 8], m[br, 9], m[br, 10]
                }
                printf fmt, k, "ratio", ratio(m["ferrocket", 4], m["apache", 4]), ratio(m["ferrocket", 5], m["apache", 5]), "",
                    ratio(m["ferrocket", 7], m["apache", 7]), ratio(m["ferrocket", 8], m["apache", 8]),
                    ratio(m["ferrocket", 9], m["apache", 9]), ""
            }
        }' "$RESULTS"
}

# Builds ferrocket (release) unless FERROCKET_BIN is given, and resolves both Apache classpaths.
prepare() {
    require java mvn awk ss timeout getconf
    if [[ -n "${FERROCKET_BIN:-}" ]]; then
        BIN=$FERROCKET_BIN
    else
        require cargo
        echo "building ferrocket (release)..."
        (cd "$ROOT" && cargo build --release -q -p ferrocket) || die "cargo build --release -p ferrocket failed"
        BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrocket
        [[ "$BIN" == /* ]] || BIN="$ROOT/$BIN"
    fi
    [[ -x "$BIN" ]] || die "no ferrocket binary at $BIN"
    echo "resolving Apache RocketMQ $APACHE_VERSION (broker, name server) and rocketmq-example $TOOLS_VERSION..."
    local pom="$ROOT/scripts/bench-vs-apache/pom.xml"
    mvn -B -q -f "$pom" -P servers dependency:build-classpath -Dapache.version="$APACHE_VERSION" \
        -Dmdep.outputFile="$BENCH_DIR/servers.cp" > "$BENCH_DIR/mvn-servers.log" 2>&1 \
        || { tail -20 "$BENCH_DIR/mvn-servers.log" >&2; die "Maven could not resolve rocketmq-broker $APACHE_VERSION"; }
    mvn -B -q -f "$pom" -P tools dependency:build-classpath -Dtools.version="$TOOLS_VERSION" \
        -Dmdep.outputFile="$BENCH_DIR/tools.cp" > "$BENCH_DIR/mvn-tools.log" 2>&1 \
        || { tail -20 "$BENCH_DIR/mvn-tools.log" >&2; die "Maven could not resolve rocketmq-example $TOOLS_VERSION"; }
    SERVERS_CP=$(cat "$BENCH_DIR/servers.cp")
    TOOLS_CP=$(cat "$BENCH_DIR/tools.cp")
}

# Every round of every case, then the table.
run_all() {
    local round first second case broker
    for round in $(seq 1 "$ROUNDS"); do
        # Alternate which broker goes first so neither always runs on a warmer page cache.
        if ((round % 2)); then first=apache second=ferrocket; else first=ferrocket second=apache; fi
        for case in $CASES; do
            for broker in "$first" "$second"; do
                [[ " $BROKERS " == *" $broker "* ]] && run_case "$broker" "$case" "$round"
            done
        done
    done
    summarize
}

# Runs run_all in a private network namespace with only loopback up when possible (root, unshare and ip
# present, NETNS not 0): the Apache broker binds its HA listener on every interface whatever bindAddress
# says, and in the namespace no listener of either broker is reachable from outside the machine.
run_isolated() {
    if [[ "${NETNS:-1}" != 0 && "$(id -u)" == 0 ]] && command -v unshare > /dev/null && command -v ip > /dev/null \
        && unshare --net true 2>/dev/null; then
        echo "brokers run in a private network namespace (loopback only)"
        export ROUNDS DURATION BACKLOG FSYNC_PROBE BATCH_SIZE WARMUP CASES BROKERS APACHE_VERSION TOOLS_VERSION HEAP CLIENT_HEAP \
            PORT_BASE KEEP QUICK BENCH_DIR BIN SERVERS_CP TOOLS_CP
        # shellcheck disable=SC2016 # expanded by the inner shell
        BENCH_STAGE=runs unshare --net -- bash -c 'ip link set lo up && exec "$0"' "$SELF" &
        local child=$!
        STARTED_PIDS+=("$child")
        wait "$child" || die "the runs failed"
    else
        echo "note: not isolated in a network namespace (needs root, unshare and ip); the Apache broker's HA" \
            "listener on port $((BROKER_PORT + 1)) binds every interface"
        run_all
    fi
}

main() {
    if [[ "${BENCH_STAGE:-}" == runs ]]; then
        run_all
        return
    fi
    local case
    for case in $CASES; do
        [[ " send1 send16 send64 sync16 batch consume restart16 " == *" $case "* ]] || die "unknown case '$case'"
    done
    local broker
    for broker in $BROKERS; do
        [[ "$broker" == apache || "$broker" == ferrocket ]] || die "unknown broker '$broker'"
    done
    mkdir -p "$BENCH_DIR"
    : > "$RESULTS"
    prepare
    echo "ferrocket: $BIN ($("$BIN" --version))"
    echo "Apache RocketMQ $APACHE_VERSION broker (-Xms$HEAP -Xmx$HEAP, name server 256m), tools $TOOLS_VERSION, $(java -version 2>&1 | head -1)"
    echo "cases: $CASES; rounds $ROUNDS; $DURATION s per send case; backlog $BACKLOG; ${MSG_SIZE}-byte messages;" \
        "$(nproc) cores; scratch $BENCH_DIR"
    echo "load average at start: $(load_avg)"
    run_isolated
    echo "load average at end: $(load_avg)"
}

main
