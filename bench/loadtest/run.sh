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

  --quick                 smoke run: 1 round, wrk 2 s, iperf3 2 s, warm-up 1 s, 2000 idle conns
  --rounds N              ROUNDS          interleaved rounds (default 3)
  --duration S            WRK_DURATION    seconds per wrk run (default 5)
  --iperf-duration S      IPERF_DURATION  seconds per iperf3 run (default 5)
  --warmup S              WARMUP          unrecorded wrk warm-up after each proxy start (default 2, 0 = none)
  --idle-conns N          IDLE_CONNS      idle connections for the memory scenario (default 10000,
                                          clamped to what the fd hard limit allows)
  --proxy-cores N         PROXY_CORES     cores given to the proxy (default 1): HAProxy nbthread,
                                          nginx worker_processes, taskset CPU list for all proxies
  --targets "LIST"        TARGETS         default "direct fastproxy haproxy haproxy-splice nginx"
  --scenarios "LIST"      SCENARIOS       groups, default "ka close mem bulk"
  --out DIR               OUT_DIR         where results.md / results.csv go (default: this folder)
  --no-install            NO_INSTALL=1    never call apt-get; fail if a tool is missing
  Other env: PROXY_CPUS, LOADGEN_CPUS (explicit taskset lists), WRK_THREADS (1), KA_CONNS ("50 200"),
  CLOSE_CONNS (50), BACKEND_WORKERS (1), SETTLE (1 s between runs), START_TIMEOUT (30 s),
  KEEP_TMP=1 (keep the temp dir with configs and logs),
  FASTPROXY_CMD (default: dotnet <repo>/bench/FastProxy.LoadTest/bin/Release/net10.0/FastProxy.LoadTest.dll proxy)
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
pick WRK_DURATION 2 5
pick IPERF_DURATION 2 5
pick WARMUP 1 2
pick IDLE_CONNS 2000 10000
pick PROXY_CORES 1 1
pick TARGETS "direct fastproxy haproxy haproxy-splice nginx" "direct fastproxy haproxy haproxy-splice nginx"
pick SCENARIOS "ka close mem bulk" "ka close mem bulk"
pick OUT_DIR "$HERE" "$HERE"
pick NO_INSTALL 0 0
pick WRK_THREADS 1 1
pick KA_CONNS "50 200" "50 200"
pick CLOSE_CONNS 50 50
pick BACKEND_WORKERS 1 1
pick SETTLE 1 1
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
declare -A VIP=([fastproxy]=127.96.0.1 [haproxy]=127.96.0.2 [nginx]=127.96.0.3 [haproxy-splice]=127.96.0.4)
HTTP_PORT=80
BULK_PORT=5201
DIRECT_HTTP=${BACKENDS_HTTP[0]}      # direct = wrk straight to one backend address
REGISTRY=/tmp/fastproxy-loadtest.pids  # "pid starttime" of everything we start, for stale cleanup

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- process bookkeeping
PIDS=()
WORK=""
RC_OK=0
starttime_of() { # field 22 of /proc/PID/stat
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    set -- $s
    echo "${20}"
}
register() { PIDS+=("$1"); echo "$1 $(starttime_of "$1" || echo 0)" >>"$REGISTRY"; }
stop_pid() { # PID: TERM, up to 5 s, then KILL
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on TERM, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
    rm -f "$REGISTRY"
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
        if [ -n "$pid" ] && [ "$(starttime_of "$pid" 2>/dev/null || true)" = "$st" ]; then
            log "stopping pid $pid left over from an earlier run"
            kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; kill -KILL "$pid" 2>/dev/null || true
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
CLK_TCK=$(getconf CLK_TCK)
cpu_pct() { # ticks_before ticks_after seconds
    awk -v a="$1" -v b="$2" -v s="$3" -v hz="$CLK_TCK" 'BEGIN{ if (s>0) printf "%.1f", (b-a)/hz/s*100 }'
}
csv_row() { # round target scenario metric value unit cpu errors note
    local note=${9//,/;}
    echo "$1,$SEQ,$2,$3,$4,$5,$6,$7,$8,${note//$'\n'/ }" >>"$RAW_CSV"
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
    taskset -c "$LOADGEN_CPUS" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>&1 &
    BACKEND_PID=$!; register "$BACKEND_PID"
    for b in "${BACKENDS_HTTP[@]}" "$BACKEND_STATUS"; do
        wait_port "${b%:*}" "${b#*:}" "$BACKEND_PID" 10 || die "HTTP backend $b did not come up ($d/error.log)"
    done
    taskset -c "$LOADGEN_CPUS" iperf3 -s -B "${IPERF_BACKEND%:*}" -p "${IPERF_BACKEND#*:}" \
        --logfile "$WORK/iperf3-server.log" &
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
    PROXY_PID=""
    if [ "$target" = direct ]; then
        if [ "$service" = http ]; then TARGET_ADDR=$DIRECT_HTTP; else TARGET_ADDR=$IPERF_BACKEND; fi
        return 0
    fi
    local ip=${VIP[$target]}
    TARGET_ADDR=$ip:$port
    d=$WORK/$target-$service-r$ROUND; mkdir -p "$d"
    if port_in_use "$ip" "$port"; then log "$ip:$port is already in use"; return 1; fi
    local servers="" i=1 b
    case "$target" in
        haproxy|haproxy-splice)
            for b in "${backends[@]}"; do servers+="    server b$i $b"$'\n'; i=$((i+1)); done
            local splice="    # no splice"
            [ "$target" = haproxy-splice ] && splice="    option splice-auto"
            render "$HERE/haproxy.cfg.tmpl" "$d/haproxy.cfg" NBTHREAD="$PROXY_CORES" \
                MAXCONN="$HAPROXY_MAXCONN" MAXPIPES="$HAPROXY_MAXPIPES" SPLICE="$splice" BIND="$ip:$port" \
                SERVERS="${servers%$'\n'}"
            haproxy -c -q -f "$d/haproxy.cfg" >"$d/check.log" 2>&1 || { cat "$d/check.log" >&2; return 1; }
            taskset -c "$PROXY_CPUS" haproxy -db -f "$d/haproxy.cfg" >"$d/haproxy.log" 2>&1 &
            PROXY_PID=$! ;;
        nginx)
            for b in "${backends[@]}"; do servers+="        server $b;"$'\n'; done
            render "$HERE/nginx-stream.conf.tmpl" "$d/nginx.conf" LOAD_MODULE="$STREAM_LOAD" \
                WORKERS="$PROXY_CORES" RLIMIT="$FD_HARD" WORKER_CONNS=$(( FD_HARD - 100 )) \
                LISTEN="$ip:$port" SERVERS="${servers%$'\n'}"
            nginx -t -q -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/check.log" 2>&1 \
                || { cat "$d/check.log" >&2; return 1; }
            taskset -c "$PROXY_CPUS" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>&1 &
            PROXY_PID=$! ;;
        fastproxy)
            local cmd args=()
            read -r -a cmd <<<"$FASTPROXY_CMD"
            args=(--listen "$ip:$port")
            for b in "${backends[@]}"; do args+=(--backend "$b"); done
            echo "${cmd[*]} ${args[*]}" >"$d/cmdline"
            taskset -c "$PROXY_CPUS" "${cmd[@]}" "${args[@]}" >"$d/fastproxy.log" 2>&1 &
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
run_wrk() { # SCENARIO CONNS EXTRA_HEADER(optional) ; records rows
    local sc=$1 c=$2 hdr=${3:-} out args t0 t1 c0 c1 el cpu r
    out=$WORK/wrk-$SEQ-$CUR_TARGET-$sc.txt
    local threads=$WRK_THREADS; [ "$threads" -le "$c" ] || threads=$c
    args=(-t"$threads" -c"$c" -d"${WRK_DURATION}s" --timeout 5s --latency)
    [ -z "$hdr" ] || args+=(-H "$hdr")
    c0=$(cpu_ticks "$PROXY_PID"); t0=$(date +%s.%N)
    if ! timeout $(( WRK_DURATION + 30 )) taskset -c "$LOADGEN_CPUS" wrk "${args[@]}" "http://$TARGET_ADDR/" >"$out" 2>&1; then
        csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "" req/s "" "" "wrk failed: $(tail -1 "$out")"; return 1
    fi
    t1=$(date +%s.%N); c1=$(cpu_ticks "$PROXY_PID")
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
    cpu=""; [ -z "$PROXY_PID" ] || cpu=$(cpu_pct "$c0" "$c1" "$el")
    if ! r=$(parse_wrk "$out"); then
        csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "" req/s "" "" "cannot parse wrk output"; return 1
    fi
    set -- $r
    local note="$5 requests"
    if [ "$sc" = close ]; then
        note+="; TIME_WAIT after run: $(ss -Htan state time-wait | wc -l)"
        csv_row "$ROUND" "$CUR_TARGET" "$sc" cps "$1" conn/s "$cpu" "$4" "$note"
    else
        csv_row "$ROUND" "$CUR_TARGET" "$sc" rps "$1" req/s "$cpu" "$4" "$note"
        csv_row "$ROUND" "$CUR_TARGET" "$sc" p50_ms "$2" ms "$cpu" "$4" ""
    fi
    csv_row "$ROUND" "$CUR_TARGET" "$sc" p99_ms "$3" ms "$cpu" "$4" ""
    log "  $CUR_TARGET $sc: $1 req/s  p50 $2 ms  p99 $3 ms  errors $4  proxy CPU ${cpu:-n/a}%"
}
run_iperf() { # SCENARIO STREAMS
    local sc=$1 p=$2 out c0 c1 t0 t1 el cpu g attempt
    out=$WORK/iperf-$SEQ-$CUR_TARGET-$sc.json
    for attempt in 1 2 3; do
        c0=$(cpu_ticks "$PROXY_PID"); t0=$(date +%s.%N)
        if timeout $(( IPERF_DURATION + 30 )) taskset -c "$LOADGEN_CPUS" iperf3 -c "${TARGET_ADDR%:*}" \
            -p "${TARGET_ADDR#*:}" -t "$IPERF_DURATION" -P "$p" -J --connect-timeout 5000 >"$out" 2>&1; then
            break
        fi
        log "  iperf3 attempt $attempt failed: $(grep -o '"error":.*' "$out" | head -1)"
        sleep 1
        [ "$attempt" -lt 3 ] || { csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "" Gbit/s "" "" "iperf3 failed"; return 1; }
    done
    t1=$(date +%s.%N); c1=$(cpu_ticks "$PROXY_PID")
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
    cpu=""; [ -z "$PROXY_PID" ] || cpu=$(cpu_pct "$c0" "$c1" "$el")
    if ! g=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' "$out" 2>/dev/null); then
        csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "" Gbit/s "" "" "cannot parse iperf3 JSON"; return 1
    fi
    csv_row "$ROUND" "$CUR_TARGET" "$sc" gbps "$g" Gbit/s "$cpu" 0 "-P $p -t $IPERF_DURATION"
    log "  $CUR_TARGET $sc: $g Gbit/s  proxy CPU ${cpu:-n/a}%"
}
run_mem() {
    local out=$WORK/mem-$SEQ-$CUR_TARGET.txt r
    sleep 1   # let the fresh proxy settle before the idle reading
    if ! timeout 180 taskset -c "$LOADGEN_CPUS" python3 "$HERE/idleconns.py" --target "$TARGET_ADDR" \
        -n "$IDLE_CONNS" --status-url "http://$BACKEND_STATUS/status" --pids "$PROXY_PID" --timeout 120 >"$out" 2>&1; then
        csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "" KiB "" "" "idleconns failed: $(tail -1 "$out")"; return 1
    fi
    r=$(grep '^ok=1' "$out") || { csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "" KiB "" "" "no result line"; return 1; }
    local idle with per n
    idle=$(sed -n 's/.*rss_idle_kib=\([0-9]*\).*/\1/p' <<<"$r")
    with=$(sed -n 's/.*rss_with_kib=\([0-9]*\).*/\1/p' <<<"$r")
    per=$(sed -n 's/.*kib_per_conn=\([-0-9.]*\).*/\1/p' <<<"$r")
    n=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<<"$r")
    csv_row "$ROUND" "$CUR_TARGET" mem rss_idle_mib "$(awk -v k="$idle" 'BEGIN{printf "%.2f", k/1024}')" MiB "" 0 "$r"
    csv_row "$ROUND" "$CUR_TARGET" mem rss_with_mib "$(awk -v k="$with" 'BEGIN{printf "%.2f", k/1024}')" MiB "" 0 "n=$n"
    csv_row "$ROUND" "$CUR_TARGET" mem kib_per_conn "$per" KiB "" 0 "n=$n"
    log "  $CUR_TARGET mem: idle $idle KiB, with $n conns $with KiB -> $per KiB/conn"
}
warmup() {
    [ "$WARMUP" -gt 0 ] || return 0
    timeout $(( WARMUP + 30 )) taskset -c "$LOADGEN_CPUS" wrk -t1 -c50 -d"${WARMUP}s" "http://$TARGET_ADDR/" \
        >"$WORK/warmup-$SEQ-$CUR_TARGET.txt" 2>&1 || log "  warm-up wrk failed (ignored)"
    sleep "$SETTLE"
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
stale_cleanup
WORK=$(mktemp -d /tmp/fastproxy-loadtest.XXXXXX)
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
    if [ "$t" = fastproxy ] && ! fastproxy_available; then
        log "fastproxy: not built ($FASTPROXY_MISSING) -- skipping FastProxy rows"
        NOTES+=("FastProxy: not built ($FASTPROXY_MISSING); FASTPROXY_CMD=\`$FASTPROXY_CMD\`; rows skipped")
        continue
    fi
    [ "$t" = direct ] || [ -n "${VIP[$t]+x}" ] || die "unknown target '$t'"
    RUN_TARGETS+=("$t")
done
[ ${#RUN_TARGETS[@]} -gt 0 ] || die "no target to run"

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

mkdir -p "$OUT_DIR"
RAW_CSV=$WORK/raw.csv
echo "round,seq,target,scenario,metric,value,unit,proxy_cpu_pct,errors,note" >"$RAW_CSV"
SEQ=0

log "work dir $WORK; targets: ${RUN_TARGETS[*]}; rounds $ROUNDS; wrk ${WRK_DURATION}s; iperf3 ${IPERF_DURATION}s; idle conns $IDLE_CONNS"
log "pinning: proxy CPUs $PROXY_CPUS, backends + load generators CPUs $LOADGEN_CPUS"
start_backends

for (( ROUND=1; ROUND<=ROUNDS; ROUND++ )); do
    n=${#RUN_TARGETS[@]}; off=$(( (ROUND-1) % n ))
    ORDER=("${RUN_TARGETS[@]:off}" "${RUN_TARGETS[@]:0:off}")
    log "round $ROUND/$ROUNDS: order ${ORDER[*]}"
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
    echo "durations=wrk ${WRK_DURATION}s (+${WARMUP}s unrecorded warm-up per proxy start), iperf3 ${IPERF_DURATION}s, settle ${SETTLE}s"
    echo "rounds=$ROUNDS, interleaved (target order rotated each round); the table shows medians over rounds"
    echo "scenarios=keep-alive wrk -c$(echo $KA_CONNS | sed 's/ /, -c/g'); Connection: close wrk -c$CLOSE_CONNS; iperf3 -P 1 and -P 4; $IDLE_CONNS idle connections"
    echo "addresses=backends ${BACKENDS_HTTP[*]} (HTTP, stub_status on $BACKEND_STATUS) and $IPERF_BACKEND (iperf3); VIPs FastProxy ${VIP[fastproxy]}, HAProxy ${VIP[haproxy]}, HAProxy+splice ${VIP[haproxy-splice]}, nginx ${VIP[nginx]} (port $HTTP_PORT HTTP service with 3 backends, port $BULK_PORT bulk service with 1 backend); direct = wrk to $DIRECT_HTTP, iperf3 to $IPERF_BACKEND"
    echo "versions=$(haproxy -v | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | sed 's/nginx version: //'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(iperf3 --version | head -1 | cut -d' ' -f1-2); $(python3 --version)"
    echo "FastProxy command=\`$FASTPROXY_CMD\` + --listen IP:PORT --backend IP:PORT..."
    echo "fd limit=$FD_HARD (soft raised to hard)"
    echo "runtime=$(( T_END - T_START )) s"
    echo "raw data=$RESULTS_BASE.csv"
    for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "note=$n"; done
} >"$META"
cp "$RAW_CSV" "$OUT_DIR/$RESULTS_BASE.csv"
python3 "$HERE/summarize.py" "$RAW_CSV" "$META" "$OUT_DIR/$RESULTS_BASE.md"
cat "$OUT_DIR/$RESULTS_BASE.md"
log "wrote $OUT_DIR/$RESULTS_BASE.md and $OUT_DIR/$RESULTS_BASE.csv in $(( T_END - T_START )) s"
RC_OK=1
