#!/usr/bin/env bash
# FastProxy end-to-end L4 load bench: direct / FastProxy / HAProxy / HAProxy+splice
# / nginx stream, interleaved rounds, loopback only. See README.md.
#
#   bash bench/loadtest/run.sh            # defaults: 3 rounds, wrk 5 s, iperf3 5 s
#   bash bench/loadtest/run.sh --quick    # smoke run, about 1 minute
#   bash bench/loadtest/run.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

usage() {
    cat <<EOF
Usage: $0 [options]   (every option also has an environment variable)

  --quick                 smoke run: 1 round, wrk 1 s, iperf3 1 s, warm-up 1 s, 2000 idle conns,
                          results-quick.md / results-quick.csv
  --rounds N              ROUNDS          interleaved rounds (default 3)
  --duration S            WRK_DURATION    seconds per wrk run (default 5)
  --iperf-duration S      IPERF_DURATION  seconds per iperf3 run (default 5)
  --warmup S              WARMUP          unrecorded wrk warm-up after each proxy start (default 2, 0 = none)
  --idle-conns N          IDLE_CONNS      idle connections for the memory scenario (default 10000,
                                          clamped to what the fd hard limit allows)
  --proxy-cores N         PROXY_CORES     cores given to the proxy (default 1): HAProxy nbthread,
                                          nginx worker_processes, taskset CPU list for all proxies
  --targets "LIST"        TARGETS         default "direct fastproxy haproxy haproxy-splice haproxy-splice-force nginx"
  --scenarios "LIST"      SCENARIOS       groups, default "ka close mem bulk"
  --out DIR               OUT_DIR         where results.md / results.csv go (default: this folder)
  --no-install            NO_INSTALL=1    never call apt-get; fail if a tool is missing
  Other env: PROXY_CPUS, LOADGEN_CPUS (explicit taskset lists), WRK_THREADS (1), KA_CONNS ("50 200"),
  CLOSE_CONNS (50), BACKEND_WORKERS (1), SETTLE (1 s between runs; 0.5 with --quick), MEM_SETTLE (2 s
  wait after opening the idle connections; 1 with --quick), START_TIMEOUT (30 s),
  DISTURB_LIMIT (10) / DISTURB_RETRIES (2; 0 with --quick): a wrk/iperf3 run during which processes
  outside the bench used more than DISTURB_LIMIT % of the machine's CPU is repeated up to DISTURB_RETRIES times,
  QUIET_WAIT (60 s; 0 with --quick): before each round, wait up to this long for the machine to be
  under 10 % busy with the bench idle,
  KEEP_TMP=1 (keep the temp dir with configs and logs),
  FASTPROXY_CMD (default: dotnet <repo>/bench/FastProxy.LoadTest/bin/Release/net10.0/FastProxy.LoadTest.dll proxy)
  FASTPROXY_VARIANTS ("NAME=ARGS ...", e.g. "pipes=--pipes"): extra FastProxy targets fastproxy-NAME run with
  ARGS appended (commas become spaces; VAR=VALUE words set environment variables instead, e.g.
  "notier=DOTNET_TieredCompilation=0"), each on its own VIP, to measure a technique before/after in one run
EOF
}

# ---------------------------------------------------------------- options
QUICK=0
declare -A FLAG=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) FLAG[ROUNDS]=$2; shift ;;
        --duration) FLAG[WRK_DURATION]=$2; shift ;;
        --iperf-duration) FLAG[IPERF_DURATION]=$2; shift ;;
        --warmup) FLAG[WARMUP]=$2; shift ;;
        --idle-conns) FLAG[IDLE_CONNS]=$2; shift ;;
        --proxy-cores) FLAG[PROXY_CORES]=$2; shift ;;
        --targets) FLAG[TARGETS]=$2; shift ;;
        --scenarios) FLAG[SCENARIOS]=$2; shift ;;
        --out) FLAG[OUT_DIR]=$2; shift ;;
        --no-install) FLAG[NO_INSTALL]=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
# precedence: flag > environment > --quick default > default
pick() { # VAR quick_default default
    local var=$1
    if [ -n "${FLAG[$var]+x}" ]; then printf -v "$var" '%s' "${FLAG[$var]}"
    elif [ -n "${!var+x}" ]; then :
    elif [ "$QUICK" = 1 ]; then printf -v "$var" '%s' "$2"
    else printf -v "$var" '%s' "$3"; fi
}
pick ROUNDS 1 3
pick WRK_DURATION 1 5
pick IPERF_DURATION 1 5
pick WARMUP 1 2
pick IDLE_CONNS 2000 10000
pick PROXY_CORES 1 1
pick FASTPROXY_VARIANTS "" ""
# FASTPROXY_VARIANTS="pipes=--pipes inline=--inline-completions,--io-queues,0": each NAME=ARGS adds a target
# fastproxy-NAME that runs FASTPROXY_CMD with ARGS (commas become spaces) appended, on its own VIP, so a
# technique is measured before and after in the same interleaved run.
declare -A FP_VARIANT_ARGS=()
FP_VARIANTS=""
for v in $FASTPROXY_VARIANTS; do
    [[ "$v" == *=* ]] || { echo "FASTPROXY_VARIANTS: '$v' is not NAME=ARGS" >&2; exit 1; }
    FP_VARIANT_ARGS[fastproxy-${v%%=*}]=${v#*=}
    FP_VARIANTS+=" fastproxy-${v%%=*}"
done
ALL_TARGETS="direct fastproxy$FP_VARIANTS haproxy haproxy-splice haproxy-splice-force nginx"
pick TARGETS "$ALL_TARGETS" "$ALL_TARGETS"
pick SCENARIOS "ka close mem bulk" "ka close mem bulk"
pick OUT_DIR "$HERE" "$HERE"
pick NO_INSTALL 0 0
pick WRK_THREADS 1 1
pick KA_CONNS "50 200" "50 200"
pick CLOSE_CONNS 50 50
pick BACKEND_WORKERS 1 1
pick SETTLE 0.5 1
pick MEM_SETTLE 1 2
pick DISTURB_LIMIT 10 10
pick DISTURB_RETRIES 0 2
pick QUIET_WAIT 0 60
pick START_TIMEOUT 30 30
pick KEEP_TMP 0 0
pick PROXY_CPUS "" ""
pick LOADGEN_CPUS "" ""
pick FASTPROXY_CMD "" ""
[ -n "$FASTPROXY_CMD" ] || FASTPROXY_CMD="dotnet $REPO/bench/FastProxy.LoadTest/bin/Release/net10.0/FastProxy.LoadTest.dll proxy"
RESULTS_BASE=results
[ "$QUICK" = 1 ] && RESULTS_BASE=results-quick

# ---------------------------------------------------------------- addresses (loopback only)
BACKENDS_HTTP=(127.0.2.1:8080 127.0.2.2:8080 127.0.2.3:8080)
BACKEND_STATUS=127.0.2.1:8081        # nginx stub_status of the HTTP backend
IPERF_BACKEND=127.0.3.1:5201
declare -A VIP=([fastproxy]=127.96.0.1 [haproxy]=127.96.0.2 [nginx]=127.96.0.3 [haproxy-splice]=127.96.0.4
                [haproxy-splice-force]=127.96.0.5)
vip_index=16
for t in $FP_VARIANTS; do VIP[$t]=127.96.0.$vip_index; vip_index=$((vip_index + 1)); done
HTTP_PORT=80
BULK_PORT=5201
DIRECT_HTTP=${BACKENDS_HTTP[0]}      # direct = wrk straight to one backend address
REGISTRY=/tmp/fastproxy-loadtest.pids  # "pid starttime" of everything we start, for stale cleanup
LOCK=/tmp/fastproxy-loadtest.lock      # one run at a time (flock on fd 9, closed in every child)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- process bookkeeping
PIDS=()
WORK=""
RC_OK=0
HAVE_LOCK=0
starttime_of() { # field 22 of /proc/PID/stat
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    set -- $s
    echo "${20}"
}
register() { PIDS+=("$1"); echo "$1 $(starttime_of "$1" || echo 0)" >>"$REGISTRY"; }
stop_pid() { # PID: TERM, up to 5 s, then KILL; then any child it left behind (nginx workers)
    local pid=$1 i kids k
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on TERM, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for k in $kids; do
        for i in $(seq 20); do kill -0 "$k" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$k" 2>/dev/null && log "killed leftover child $k of $pid" || true
    done
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
    [ "$HAVE_LOCK" = 0 ] || rm -f "$REGISTRY"
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$KEEP_TMP" = 1 ] || [ "$RC_OK" != 1 ]; then log "configs and logs kept in $WORK"
        else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

stale_cleanup() { # processes left by a previous run that was SIGKILLed
    [ -f "$REGISTRY" ] || return 0
    local pid st
    while read -r pid st; do
        if [ "$pid" = dir ]; then   # temp dir of that run
            case "$st" in /tmp/fastproxy-loadtest.??????) rm -rf "$st" ;; esac
            continue
        fi
        if [ -n "$pid" ] && [ "$(starttime_of "$pid" 2>/dev/null || true)" = "$st" ]; then
            log "stopping pid $pid left over from an earlier run"
            stop_pid "$pid"
        fi
    done <"$REGISTRY"
    rm -f "$REGISTRY"
}

# ---------------------------------------------------------------- tools
ensure_tools() {
    local need=()
    command -v haproxy >/dev/null || need+=(haproxy)
    command -v nginx >/dev/null || need+=(nginx)
    command -v wrk >/dev/null || need+=(wrk)
    command -v iperf3 >/dev/null || need+=(iperf3)
    command -v python3 >/dev/null || need+=(python3)
    command -v taskset >/dev/null || need+=(util-linux)
    command -v ss >/dev/null || need+=(iproute2)
    install_pkgs "${need[@]+"${need[@]}"}"
    # nginx stream module: static, or dynamic (Debian: libnginx-mod-stream)
    STREAM_LOAD=""
    local v moddir
    v=$(nginx -V 2>&1)
    if grep -q -- '--with-stream=dynamic' <<<"$v"; then
        moddir=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$v"); moddir=${moddir:-/usr/lib/nginx/modules}
        [ -f "$moddir/ngx_stream_module.so" ] || install_pkgs libnginx-mod-stream
        [ -f "$moddir/ngx_stream_module.so" ] || die "nginx stream module not found in $moddir"
        STREAM_LOAD="load_module $moddir/ngx_stream_module.so;"
    elif grep -q -- '--with-stream\b' <<<"$v"; then
        STREAM_LOAD="# stream module is built in"
    else
        die "this nginx has no stream module (nginx -V); install Debian's nginx + libnginx-mod-stream"
    fi
}
install_pkgs() {
    [ $# -gt 0 ] || return 0
    [ "$NO_INSTALL" = 1 ] && die "missing packages: $* (and --no-install given)"
    log "installing: $*"
    # keep Debian's postinst from starting the system-wide nginx/haproxy services
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
    fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } \
        >"${WORK:-/tmp}/apt.log" 2>&1 || rc=$?
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || { tail -20 "${WORK:-/tmp}/apt.log" >&2; die "apt-get install $* failed"; }
}

fastproxy_available() { # sets FASTPROXY_MISSING when not runnable
    local words
    read -r -a words <<<"$FASTPROXY_CMD"
    FASTPROXY_MISSING=""
    if [ ${#words[@]} -eq 0 ]; then FASTPROXY_MISSING="FASTPROXY_CMD is empty"; return 1; fi
    if ! command -v "${words[0]}" >/dev/null 2>&1; then FASTPROXY_MISSING="${words[0]} not found"; return 1; fi
    local w
    for w in "${words[@]:1}"; do
        case "$w" in
            *.dll|*.exe) [ -f "$w" ] || { FASTPROXY_MISSING="$w does not exist"; return 1; } ;;
        esac
    done
    return 0
}

# ---------------------------------------------------------------- helpers
port_in_use() { ss -Htln "src $1 and sport = :$2" 2>/dev/null | grep -q .; }
wait_port() { # IP PORT PID TIMEOUT: poll until IP:PORT accepts a connection
    local ip=$1 port=$2 pid=$3 t=$4 end
    end=$(( $(date +%s) + t ))
    while :; do
        kill -0 "$pid" 2>/dev/null || return 1
        if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then return 0; fi
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}
cpu_ticks() { # PID: utime+stime of PID and its children (nginx master+workers)
    local p s total=0 pids
    [ -n "$1" ] || { echo 0; return; }
    pids="$1 $(pgrep -P "$1" 2>/dev/null | tr '\n' ' ')"
    for p in $pids; do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        set -- $s
        total=$(( total + ${12} + ${13} ))
    done
    echo "$total"
}
cpuset_ticks() { # CPULIST (e.g. 0 or 1-3,5) -> "busy total" jiffies from /proc/stat (busy includes irq/softirq/steal)
    awk -v list="$1" '
    BEGIN { n = split(list, parts, ",")
            for (i = 1; i <= n; i++) {
                if (split(parts[i], r, "-") == 2) { for (c = r[1]; c <= r[2]; c++) want["cpu" c] = 1 }
                else want["cpu" parts[i]] = 1 } }
    ($1 in want) { tot = 0; for (i = 2; i <= 9; i++) tot += $i; busy += tot - $5 - $6; total += tot }
    END { print busy + 0, total + 0 }' /proc/stat
}
CLK_TCK=$(getconf CLK_TCK)
bench_ticks() { # CPU used by the bench itself: this script + everything it has reaped (wrk, iperf3,
    local s p total # python, ...: cutime/cstime) + the live processes it started (proxy, backends, children)
    s=$(cat "/proc/$$/stat"); s=${s##*) }; set -- $s
    total=$(( ${12} + ${13} + ${14} + ${15} ))
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do total=$(( total + $(cpu_ticks "$p") )); done
    echo "$total"
}
# meas_begin / meas_end bracket a measured run and set M_CPU (proxy processes' user+sys in %
# of one core), M_PX / M_LG (how busy the proxy / load-generator CPU sets were, in %) and
# M_OTHER (CPU used by processes that are not part of the bench, in % of the whole machine)
meas_begin() {
    M_C0=$(cpu_ticks "$PROXY_PID"); M_PX0=$(cpuset_ticks "$PROXY_CPUS"); M_LG0=$(cpuset_ticks "$LOADGEN_CPUS")
    M_ALL0=$(cpuset_ticks "0-$((NCPU-1))"); M_B0=$(bench_ticks)
    M_T0=$(date +%s.%N); M_CPU=""; M_PX=""; M_LG=""; M_OTHER=""
}
meas_end() {
    local t1 c1 px1 lg1 all1 b1
    t1=$(date +%s.%N); c1=$(cpu_ticks "$PROXY_PID"); px1=$(cpuset_ticks "$PROXY_CPUS"); lg1=$(cpuset_ticks "$LOADGEN_CPUS")
    all1=$(cpuset_ticks "0-$((NCPU-1))"); b1=$(bench_ticks)
    [ -z "$PROXY_PID" ] || M_CPU=$(awk -v a="$M_C0" -v b="$c1" -v t0="$M_T0" -v t1="$t1" -v hz="$CLK_TCK" \
        'BEGIN{ s = t1 - t0; if (s > 0) printf "%.1f", (b - a) / hz / s * 100 }')
    M_PX=$(awk -v a="$M_PX0" -v b="$px1" 'BEGIN{ split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; if (d > 0) printf "%.1f", (y[1] - x[1]) / d * 100 }')
    M_LG=$(awk -v a="$M_LG0" -v b="$lg1" 'BEGIN{ split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; if (d > 0) printf "%.1f", (y[1] - x[1]) / d * 100 }')
    M_OTHER=$(awk -v a="$M_ALL0" -v b="$all1" -v b0="$M_B0" -v b1="$b1" 'BEGIN{ split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; o = d > 0 ? ((y[1] - x[1]) - (b1 - b0)) / d * 100 : 0; printf "%.0f", (o < 0 ? 0 : o) }')
}
meas_reset() { M_CPU=""; M_PX=""; M_LG=""; M_OTHER=""; }
disturbed_retry() { # TRY: 0 if the run should be repeated because other load disturbed it
    [ -n "$M_OTHER" ] || return 1
    [ "$M_OTHER" -gt "$DISTURB_LIMIT" ] || return 1
    if [ "$1" -lt "$DISTURB_RETRIES" ]; then
        log "  $CUR_TARGET $CUR_SC: other processes used $M_OTHER% of the machine (> $DISTURB_LIMIT%): repeating"
        sleep 3; return 0
    fi
    [ "$DISTURB_RETRIES" = 0 ] || log "  $CUR_TARGET $CUR_SC: other processes still used $M_OTHER% of the machine after $DISTURB_RETRIES repeats: keeping it"
    return 1
}
CSV_HEADER="round,seq,target,scenario,metric,value,unit,proxy_cpu_pct,proxy_cores_busy_pct,load_cores_busy_pct,other_load_pct,errors,note"
csv_row() { # round target scenario metric value unit errors note   (+ M_CPU M_PX M_LG M_OTHER)
    local note=${8//,/;}
    echo "$1,$SEQ,$2,$3,$4,$5,$6,${M_CPU:-},${M_PX:-},${M_LG:-},${M_OTHER:-},$7,${note//$'\n'/ }" >>"$RAW_CSV"
}

render() { # TEMPLATE OUT KEY=VALUE...
    local t k v
    t=$(<"$1"); local out=$2; shift 2
    for kv in "$@"; do k=${kv%%=*}; v=${kv#*=}; t=${t//@$k@/$v}; done
    printf '%s\n' "$t" >"$out"
}

# ---------------------------------------------------------------- backends
start_backends() {
    local d=$WORK/backend listens="" b
    mkdir -p "$d/tmp"
    for b in "${BACKENDS_HTTP[@]}"; do listens+="        listen $b backlog=4096;"$'\n'; done
    render "$HERE/nginx-backend.conf.tmpl" "$d/nginx.conf" \
        WORKERS="$BACKEND_WORKERS" RLIMIT="$FD_HARD" WORKER_CONNS=$(( FD_HARD - 100 )) \
        LISTENS="${listens%$'\n'}" STATUS_LISTEN="$BACKEND_STATUS"
    nginx -t -q -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" || die "backend nginx config invalid ($d)"
    taskset -c "$LOADGEN_CPUS" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>&1 9>&- &
    BACKEND_PID=$!; register "$BACKEND_PID"
    for b in "${BACKENDS_HTTP[@]}" "$BACKEND_STATUS"; do
        wait_port "${b%:*}" "${b#*:}" "$BACKEND_PID" 10 || die "HTTP backend $b did not come up ($d/error.log)"
    done
    taskset -c "$LOADGEN_CPUS" iperf3 -s -B "${IPERF_BACKEND%:*}" -p "${IPERF_BACKEND#*:}" \
        --logfile "$WORK/iperf3-server.log" 9>&- &
    IPERF_PID=$!; register "$IPERF_PID"
    local i
    for i in $(seq 100); do port_in_use "${IPERF_BACKEND%:*}" "${IPERF_BACKEND#*:}" && break; sleep 0.1; done
    port_in_use "${IPERF_BACKEND%:*}" "${IPERF_BACKEND#*:}" || die "iperf3 server did not come up"
    log "backends up: nginx HTTP pid $BACKEND_PID on ${BACKENDS_HTTP[*]}, iperf3 pid $IPERF_PID on $IPERF_BACKEND"
}

# ---------------------------------------------------------------- proxies
# start_proxy TARGET SERVICE(http|bulk) -> sets PROXY_PID, TARGET_ADDR (ip:port); 1 on failure
start_proxy() {
    local target=$1 service=$2 port backends=() d
    if [ "$service" = http ]; then port=$HTTP_PORT; backends=("${BACKENDS_HTTP[@]}")
    else port=$BULK_PORT; backends=("$IPERF_BACKEND"); fi
    PROXY_PID=""; PROXY_DIR=""
    if [ "$target" = direct ]; then
        if [ "$service" = http ]; then TARGET_ADDR=$DIRECT_HTTP; else TARGET_ADDR=$IPERF_BACKEND; fi
        return 0
    fi
    local ip=${VIP[$target]}
    TARGET_ADDR=$ip:$port
    d=$WORK/$target-$service-r$ROUND; mkdir -p "$d"; PROXY_DIR=$d
    if port_in_use "$ip" "$port"; then log "$ip:$port is already in use"; return 1; fi
    local servers="" i=1 b
    case "$target" in
        haproxy|haproxy-splice|haproxy-splice-force)
            for b in "${backends[@]}"; do servers+="    server b$i $b"$'\n'; i=$((i+1)); done
            local splice="    # no splice"
            [ "$target" = haproxy-splice ] && splice="    option splice-auto"
            [ "$target" = haproxy-splice-force ] && splice="    option splice-request"$'\n'"    option splice-response"
            render "$HERE/haproxy.cfg.tmpl" "$d/haproxy.cfg" NBTHREAD="$PROXY_CORES" \
                MAXCONN="$HAPROXY_MAXCONN" MAXPIPES="$HAPROXY_MAXPIPES" SPLICE="$splice" BIND="$ip:$port" \
                STATS_SOCKET="$d/stats.sock" \
                SERVERS="${servers%$'\n'}"
            haproxy -c -q -f "$d/haproxy.cfg" >"$d/check.log" 2>&1 || { cat "$d/check.log" >&2; return 1; }
            taskset -c "$PROXY_CPUS" haproxy -db -f "$d/haproxy.cfg" >"$d/haproxy.log" 2>&1 9>&- &
            PROXY_PID=$! ;;
        nginx)
            for b in "${backends[@]}"; do servers+="        server $b;"$'\n'; done
            render "$HERE/nginx-stream.conf.tmpl" "$d/nginx.conf" LOAD_MODULE="$STREAM_LOAD" \
                WORKERS="$PROXY_CORES" RLIMIT="$FD_HARD" WORKER_CONNS=$(( FD_HARD - 100 )) \
                LISTEN="$ip:$port" SERVERS="${servers%$'\n'}"
            nginx -t -q -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/check.log" 2>&1 \
                || { cat "$d/check.log" >&2; return 1; }
            taskset -c "$PROXY_CPUS" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>&1 9>&- &
            PROXY_PID=$! ;;
        fastproxy|fastproxy-*)
            local cmd args=() extra
            read -r -a cmd <<<"$FASTPROXY_CMD"
            args=(--listen "$ip:$port")
            if [ "$target" != fastproxy ]; then
                read -r -a extra <<<"${FP_VARIANT_ARGS[$target]//,/ }"
                local w envs=()
                for w in "${extra[@]}"; do  # NAME=VALUE words are environment variables, the rest options
                    if [[ "$w" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then envs+=("$w"); else args+=("$w"); fi
                done
                [ ${#envs[@]} -eq 0 ] || cmd=(env "${envs[@]}" "${cmd[@]}")
            fi
            for b in "${backends[@]}"; do args+=(--backend "$b"); done
            echo "${cmd[*]} ${args[*]}" >"$d/cmdline"
            taskset -c "$PROXY_CPUS" "${cmd[@]}" "${args[@]}" >"$d/fastproxy.log" 2>&1 9>&- &
            PROXY_PID=$! ;;
        *) log "unknown target $target"; return 1 ;;
    esac
    register "$PROXY_PID"
    if ! wait_port "$ip" "$port" "$PROXY_PID" "$START_TIMEOUT"; then
        if kill -0 "$PROXY_PID" 2>/dev/null; then
            log "$target ($service) did not accept connections on $ip:$port within ${START_TIMEOUT}s; logs in $d"
        else
            log "$target ($service) exited before accepting connections on $ip:$port; logs in $d"
        fi
        tail -n 5 "$d"/*.log >&2 || true
        stop_pid "$PROXY_PID"; PROXY_PID=""
        return 1
    fi
    sleep 0.3   # let the readiness probe's connection finish on the backend side
}
stop_proxy() { [ -z "${PROXY_PID:-}" ] || stop_pid "$PROXY_PID"; PROXY_PID=""; sleep "$SETTLE"; }
proxy_alive() { [ -z "${PROXY_PID:-}" ] || kill -0 "$PROXY_PID" 2>/dev/null; }

# ---------------------------------------------------------------- scenarios
# wrk output -> "rps p50_ms p99_ms errors requests"
parse_wrk() {
    awk '
    function ms(v) {
        if (v ~ /us$/) return substr(v, 1, length(v)-2) / 1000
        if (v ~ /ms$/) return substr(v, 1, length(v)-2) + 0
        if (v ~ /m$/)  return substr(v, 1, length(v)-1) * 60000
        if (v ~ /s$/)  return substr(v, 1, length(v)-1) * 1000
        return v + 0
    }
    /Requests\/sec:/ { rps = $2 }
    /^[ \t]+50%/ { p50 = ms($2) }
    /^[ \t]+99%/ { p99 = ms($2) }
    /requests in/ { reqs = $1 }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { err += $5 }
    END { if (rps == "") exit 1; printf "%s %.3f %.3f %d %s\n", rps, p50, p99, err, reqs }' "$1"
}
run_wrk() { # SCENARIO CONNS [EXTRA_HEADER] ; records rows
    local sc=$1 c=$2 hdr=${3:-} out args r threads=$WRK_THREADS try
    CUR_SC=$sc
    out=$WORK/wrk-$SEQ-$CUR_TARGET-$sc.txt
    [ "$threads" -le "$c" ] || threads=$c
    args=(-t"$threads" -c"$c" -d"${WRK_DURATION}s" --timeout 5s --latency)
    [ -z "$hdr" ] || args+=(-H "$hdr")
    for (( try = 0; ; try++ )); do
        meas_begin
        if ! timeout $(( WRK_DURATION + 30 )) 9>&- taskset -c "$LOADGEN_CPUS" wrk "${args[@]}" "http://$TARGET_ADDR/" >"$out" 2>&1; then
            meas_reset; csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "" req/s "" "wrk failed: $(tail -1 "$out")"; return 1
        fi
        meas_end
        disturbed_retry "$try" || break
        [ "$sc" != close ] || wait_client_tw
    done
    if ! r=$(parse_wrk "$out"); then
        meas_reset; csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "" req/s "" "cannot parse wrk output"; return 1
    fi
    set -- $r
    local note="$5 requests"
    if [ "$sc" = close ]; then
        note+="; client-side TIME_WAIT to $TARGET_ADDR after run: $(ss -Htan state time-wait "dst $TARGET_ADDR" | wc -l); all TIME_WAIT: $(ss -Htan state time-wait | wc -l)"
        csv_row "$ROUND" "$CUR_TARGET" "$sc" cps "$1" conn/s "$4" "$note"
    else
        csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "$1" req/s "$4" "$note"
        csv_row "$ROUND" "$CUR_TARGET" "$sc" p50_ms "$2" ms "$4" ""
    fi
    csv_row "$ROUND" "$CUR_TARGET" "$sc" p99_ms "$3" ms "$4" ""
    log "  $CUR_TARGET $sc: $1 req/s  p50 $2 ms  p99 $3 ms  errors $4  proxy CPU ${M_CPU:-n/a}%  busy: proxy cores $M_PX%, load cores $M_LG%, other processes $M_OTHER% of the machine"
}
wait_client_tw() { # before a Connection: close run: bounded wait while client-side TIME_WAIT
    local i n limit lo hi # to the target would eat most of the ephemeral port range
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    limit=$(( (hi - lo) / 2 ))
    for i in $(seq 60); do
        n=$(ss -Htan state time-wait "dst $TARGET_ADDR" | wc -l)
        [ "$n" -gt "$limit" ] || return 0
        [ "$i" -gt 1 ] || log "  $n client-side TIME_WAIT sockets to $TARGET_ADDR (> $limit): waiting up to 60 s"
        sleep 1
    done
}
haproxy_spliced() { # bytes HAProxy has spliced so far (show info on the stats socket), "" if n/a
    case "$CUR_TARGET" in haproxy*) ;; *) return 0 ;; esac
    python3 - "$PROXY_DIR/stats.sock" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(b"show info\n")
d = b""
while chunk := s.recv(65536):
    d += chunk
for line in d.decode().splitlines():
    if line.startswith("TotalSplic"):   # "TotalSplicdedBytesOut" (sic) in HAProxy 2.6
        print(line.split(":")[1].strip())
PY
}
run_iperf() { # SCENARIO STREAMS
    local sc=$1 p=$2 out g sp0 sp1
    CUR_SC=$sc
    out=$WORK/iperf-$SEQ-$CUR_TARGET-$sc.json
    local fails=0 try=0
    while :; do
        sp0=$(haproxy_spliced)
        meas_begin
        if timeout $(( IPERF_DURATION + 30 )) 9>&- taskset -c "$LOADGEN_CPUS" iperf3 -c "${TARGET_ADDR%:*}" \
            -p "${TARGET_ADDR#*:}" -t "$IPERF_DURATION" -P "$p" -J --connect-timeout 5000 >"$out" 2>&1; then
            meas_end
            disturbed_retry "$try" || break
            try=$((try + 1)); continue
        fi
        fails=$((fails + 1))
        log "  iperf3 attempt $fails failed: $(grep -o '"error":.*' "$out" | head -1)"
        sleep 1
        [ "$fails" -lt 3 ] || { meas_reset; csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "" Gbit/s "" "iperf3 failed"; return 1; }
    done
    if ! g=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' "$out" 2>/dev/null); then
        meas_reset; csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "" Gbit/s "" "cannot parse iperf3 JSON"; return 1
    fi
    csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "$g" Gbit/s 0 "-P $p -t $IPERF_DURATION"
    local spl=""
    sp1=$(haproxy_spliced)
    if [ -n "$sp0" ] && [ -n "$sp1" ]; then
        spl=$(awk -v a="$sp0" -v b="$sp1" 'BEGIN{printf "%.3f", (b - a) / 2^30}')
        csv_row "$ROUND" "$CUR_TARGET" "$sc" spliced_gib "$spl" GiB 0 "HAProxy TotalSplicedBytesOut delta"
        spl=", HAProxy spliced $spl GiB"
    fi
    log "  $CUR_TARGET $sc: $g Gbit/s  proxy CPU ${M_CPU:-n/a}%  busy: proxy cores $M_PX%, load cores $M_LG%, other processes $M_OTHER% of the machine$spl"
}
run_mem() {
    local out r idle with per n
    out=$WORK/mem-$SEQ-$CUR_TARGET.txt
    meas_reset
    sleep 1   # let the fresh proxy settle before the idle reading
    if ! timeout 180 9>&- taskset -c "$LOADGEN_CPUS" python3 "$HERE/idleconns.py" --target "$TARGET_ADDR" \
        -n "$IDLE_CONNS" --status-url "http://$BACKEND_STATUS/status" --pids "$PROXY_PID" --settle "$MEM_SETTLE" --timeout 120 >"$out" 2>&1; then
        csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "" KiB "" "idleconns failed: $(tail -1 "$out")"; return 1
    fi
    r=$(grep '^ok=1' "$out") || { csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "" KiB "" "no result line"; return 1; }
    idle=$(sed -n 's/.*rss_idle_kib=\([0-9]*\).*/\1/p' <<<"$r")
    with=$(sed -n 's/.*rss_with_kib=\([0-9]*\).*/\1/p' <<<"$r")
    per=$(sed -n 's/.*kib_per_conn=\([-0-9.]*\).*/\1/p' <<<"$r")
    n=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<<"$r")
    csv_row "$ROUND" "$CUR_TARGET" mem rss_idle_mib "$(awk -v k="$idle" 'BEGIN{printf "%.2f", k/1024}')" MiB 0 "$r"
    csv_row "$ROUND" "$CUR_TARGET" mem rss_with_mib "$(awk -v k="$with" 'BEGIN{printf "%.2f", k/1024}')" MiB 0 "n=$n"
    csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "$per" KiB 0 "n=$n"
    log "  $CUR_TARGET mem: idle $idle KiB, with $n conns $with KiB -> $per KiB/conn"
}
warmup() {
    [ "$WARMUP" -gt 0 ] || return 0
    timeout $(( WARMUP + 30 )) 9>&- taskset -c "$LOADGEN_CPUS" wrk -t1 -c50 -d"${WARMUP}s" "http://$TARGET_ADDR/" \
        >"$WORK/warmup-$SEQ-$CUR_TARGET.txt" 2>&1 || log "  warm-up wrk failed (ignored)"
    sleep "$SETTLE"
}

idle_check() { # before a round: wait (up to QUIET_WAIT s) for the machine to be quiet; other load skews every number
    local a b busy waited=0
    while :; do
        a=$(cpuset_ticks "0-$((NCPU-1))"); sleep 1; b=$(cpuset_ticks "0-$((NCPU-1))")
        busy=$(awk -v a="$a" -v b="$b" 'BEGIN{ split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? (y[1] - x[1]) / d * 100 : 0) }')
        busy=${busy:-0}
        [ "$busy" -gt 10 ] && [ "$waited" -lt "$QUIET_WAIT" ] || break
        [ "$waited" -gt 0 ] || log "machine ${busy}% busy with the bench idle: waiting up to ${QUIET_WAIT}s for it to calm down"
        waited=$((waited + 1))
    done
    if [ "$busy" -gt 10 ]; then
        log "WARNING: machine ${busy}% busy before round $ROUND with the bench idle: other load will skew the numbers"
        NOTES+=("round $ROUND: the machine was ${busy}% busy (all CPUs) with the bench idle just before the round; other processes were running")
    fi
}

run_target() { # TARGET
    CUR_TARGET=$1
    local sc c
    if [[ " $SCENARIOS " == *" ka "* || " $SCENARIOS " == *" close "* ]]; then
        SEQ=$((SEQ+1))
        if start_proxy "$CUR_TARGET" http; then
            warmup
            if [[ " $SCENARIOS " == *" ka "* ]]; then
                for c in $KA_CONNS; do
                    proxy_alive || break
                    run_wrk "ka$c" "$c" || true; sleep "$SETTLE"
                done
            fi
            if [[ " $SCENARIOS " == *" close "* ]] && proxy_alive; then
                wait_client_tw
                run_wrk close "$CLOSE_CONNS" "Connection: close" || true
            fi
            proxy_alive || { log "  $CUR_TARGET died during the HTTP scenarios"; NOTES+=("round $ROUND: $CUR_TARGET exited during the HTTP scenarios"); }
            stop_proxy
        else
            NOTES+=("round $ROUND: $CUR_TARGET (http) did not start")
        fi
    fi
    if [[ " $SCENARIOS " == *" mem "* ]] && [ "$CUR_TARGET" != direct ]; then
        SEQ=$((SEQ+1))
        if start_proxy "$CUR_TARGET" http; then
            run_mem || true
            stop_proxy
        else
            NOTES+=("round $ROUND: $CUR_TARGET (mem) did not start")
        fi
    fi
    if [[ " $SCENARIOS " == *" bulk "* ]]; then
        SEQ=$((SEQ+1))
        if start_proxy "$CUR_TARGET" bulk; then
            run_iperf bulk1 1 || true; sleep "$SETTLE"
            proxy_alive && { run_iperf bulk4 4 || true; }
            stop_proxy
        else
            NOTES+=("round $ROUND: $CUR_TARGET (bulk) did not start")
        fi
    fi
}

# ================================================================ main
T_START=$(date +%s)
[ "$(id -u)" = 0 ] || die "run as root (apt-get, binding 127.96.0.x:80)"
exec 9>"$LOCK"
flock -w 15 9 || die "another run.sh is running (lock $LOCK held)"
HAVE_LOCK=1
stale_cleanup
mkdir -p "$OUT_DIR"; OUT_DIR=$(cd "$OUT_DIR" && pwd)   # absolute: the script works from $WORK
WORK=$(mktemp -d /tmp/fastproxy-loadtest.XXXXXX)
echo "dir $WORK" >>"$REGISTRY"
cd "$WORK"
ensure_tools

# fd limits: the proxy holds 2 fds per proxied connection
FD_HARD=$(ulimit -Hn)
[ "$FD_HARD" = unlimited ] && FD_HARD=1048576
ulimit -Sn "$FD_HARD"
MAX_IDLE=$(( (FD_HARD - 300) / 2 / 100 * 100 ))
NOTES=()
if [ "$IDLE_CONNS" -gt "$MAX_IDLE" ]; then
    NOTES+=("idle connections clamped from $IDLE_CONNS to $MAX_IDLE: fd hard limit is $FD_HARD (raising it needs CAP_SYS_RESOURCE) and the proxy needs 2 fds per connection")
    log "NOTE: ${NOTES[-1]}"
    IDLE_CONNS=$MAX_IDLE
fi

# HAProxy: maxconn for the idle-connection scenario, and with what is left of the fd
# limit the pipes for splicing (each pipe is 2 fds; the default maxconn/4 does not fit)
HAPROXY_MAXCONN=$(( IDLE_CONNS + 50 ))
HAPROXY_MAXPIPES=$(( (FD_HARD - 2 * HAPROXY_MAXCONN - 64) / 2 ))
[ "$HAPROXY_MAXPIPES" -le $(( HAPROXY_MAXCONN / 4 )) ] || HAPROXY_MAXPIPES=$(( HAPROXY_MAXCONN / 4 ))

# CPU pinning
NCPU=$(nproc)
if [ -z "$PROXY_CPUS" ]; then
    [ "$PROXY_CORES" -le "$NCPU" ] || die "PROXY_CORES=$PROXY_CORES > $NCPU CPUs"
    PROXY_CPUS=0; [ "$PROXY_CORES" = 1 ] || PROXY_CPUS="0-$((PROXY_CORES-1))"
fi
if [ -z "$LOADGEN_CPUS" ]; then
    if [ "$PROXY_CORES" -lt "$NCPU" ]; then
        LOADGEN_CPUS=$PROXY_CORES; [ "$PROXY_CORES" = $((NCPU-1)) ] || LOADGEN_CPUS="$PROXY_CORES-$((NCPU-1))"
    else
        LOADGEN_CPUS="0-$((NCPU-1))"
        NOTES+=("proxy and load generators share all $NCPU CPUs (PROXY_CORES=$PROXY_CORES)")
    fi
fi

# targets
RUN_TARGETS=()
for t in $TARGETS; do
    if [[ "$t" == fastproxy* ]] && ! fastproxy_available; then
        log "fastproxy: not built ($FASTPROXY_MISSING) -- skipping FastProxy rows"
        NOTES+=("FastProxy: not built ($FASTPROXY_MISSING); FASTPROXY_CMD=\`$FASTPROXY_CMD\`; rows skipped")
        continue
    fi
    [ "$t" = direct ] || [ -n "${VIP[$t]+x}" ] || die "unknown target '$t'"
    RUN_TARGETS+=("$t")
done
[ ${#RUN_TARGETS[@]} -gt 0 ] || { RC_OK=1; die "no target to run"; }

# nothing else may own our addresses
for a in "${BACKENDS_HTTP[@]}" "$BACKEND_STATUS" "$IPERF_BACKEND"; do
    port_in_use "${a%:*}" "${a#*:}" && die "$a is already in use (a leftover run? check: ss -tlnp)"
done
for t in "${RUN_TARGETS[@]}"; do
    [ "$t" = direct ] && continue
    for p in $HTTP_PORT $BULK_PORT; do
        port_in_use "${VIP[$t]}" "$p" && die "${VIP[$t]}:$p is already in use"
    done
done

RAW_CSV=$WORK/raw.csv
echo "$CSV_HEADER" >"$RAW_CSV"
SEQ=0

log "work dir $WORK; targets: ${RUN_TARGETS[*]}; rounds $ROUNDS; wrk ${WRK_DURATION}s; iperf3 ${IPERF_DURATION}s; idle conns $IDLE_CONNS"
log "pinning: proxy CPUs $PROXY_CPUS, backends + load generators CPUs $LOADGEN_CPUS"
start_backends

for (( ROUND=1; ROUND<=ROUNDS; ROUND++ )); do
    n=${#RUN_TARGETS[@]}; off=$(( (ROUND-1) % n ))
    ORDER=("${RUN_TARGETS[@]:off}" "${RUN_TARGETS[@]:0:off}")
    log "round $ROUND/$ROUNDS: order ${ORDER[*]}"
    idle_check
    for t in "${ORDER[@]}"; do run_target "$t"; done
done

stop_pid "$IPERF_PID"; stop_pid "$BACKEND_PID"

# ---------------------------------------------------------------- report
T_END=$(date +%s)
META=$WORK/meta.txt
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "kernel=$(uname -r)"
    echo "CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1), $NCPU CPUs"
    echo "pinning=proxy under test on CPU(s) $PROXY_CPUS (taskset); HTTP backend nginx, iperf3 server, wrk, iperf3 client and idleconns.py on CPU(s) $LOADGEN_CPUS"
    echo "workers=HAProxy nbthread $PROXY_CORES (maxconn $HAPROXY_MAXCONN, maxpipes $HAPROXY_MAXPIPES); nginx stream worker_processes $PROXY_CORES; FastProxy: taskset to $PROXY_CORES core(s) (.NET sees ProcessorCount=$PROXY_CORES); HTTP backend nginx worker_processes $BACKEND_WORKERS; wrk -t$WRK_THREADS"
    echo "durations=wrk ${WRK_DURATION}s (+${WARMUP}s unrecorded warm-up per proxy start), iperf3 ${IPERF_DURATION}s, settle ${SETTLE}s between runs, ${MEM_SETTLE}s after opening the idle connections"
    echo "rounds=$ROUNDS, interleaved (target order rotated each round); the table shows medians over rounds"
    echo "scenarios=keep-alive wrk -c$(echo $KA_CONNS | sed 's/ /, -c/g'); Connection: close wrk -c$CLOSE_CONNS; iperf3 -P 1 and -P 4; $IDLE_CONNS idle connections"
    echo "addresses=backends ${BACKENDS_HTTP[*]} (HTTP, stub_status on $BACKEND_STATUS) and $IPERF_BACKEND (iperf3); VIPs FastProxy ${VIP[fastproxy]}, HAProxy ${VIP[haproxy]}, HAProxy+splice ${VIP[haproxy-splice]}, HAProxy+splice (forced) ${VIP[haproxy-splice-force]}, nginx ${VIP[nginx]} $(for t in $FP_VARIANTS; do printf ', %s %s (args %s)' "$t" "${VIP[$t]}" "${FP_VARIANT_ARGS[$t]//,/ }"; done) (port $HTTP_PORT HTTP service with 3 backends, port $BULK_PORT bulk service with 1 backend); direct = wrk to $DIRECT_HTTP, iperf3 to $IPERF_BACKEND"
    echo "versions=$(haproxy -v | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | sed 's/nginx version: //'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(iperf3 --version | head -1 | cut -d' ' -f1-2); $(python3 --version)"
    echo "FastProxy command=\`$FASTPROXY_CMD\` + --listen IP:PORT --backend IP:PORT..."
    echo "fd limit=$FD_HARD (soft raised to hard)"
    echo "runtime=$(( T_END - T_START )) s"
    echo "raw data=$RESULTS_BASE.csv"
    echo "disturbance check=a wrk/iperf3 run is repeated (up to $DISTURB_RETRIES times) when processes outside the bench used more than $DISTURB_LIMIT % of the machine's CPU during it"
    echo "_disturb_limit=$DISTURB_LIMIT"
    for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "note=$n"; done
} >"$META"
cp "$RAW_CSV" "$OUT_DIR/$RESULTS_BASE.csv"
python3 "$HERE/summarize.py" "$RAW_CSV" "$META" "$OUT_DIR/$RESULTS_BASE.md"
cat "$OUT_DIR/$RESULTS_BASE.md"
log "wrote $OUT_DIR/$RESULTS_BASE.md and $OUT_DIR/$RESULTS_BASE.csv in $(( T_END - T_START )) s"
# exit 3 when a measurement failed or a proxy did not start (FastProxy "not built" is not a failure)
FAILED=$(awk -F, 'NR > 1 && $6 == ""' "$RAW_CSV" | wc -l)
STARTFAIL=$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}" | grep -c 'did not start\|exited during' || true)
if [ "$FAILED" -gt 0 ] || [ "$STARTFAIL" -gt 0 ]; then
    log "$FAILED failed measurement(s), $STARTFAIL proxy start failure(s): see Notes in $RESULTS_BASE.md"
    exit 3
fi
RC_OK=1
