#!/usr/bin/env bash
# Measures the HTTP server candidates for `magma serve` and writes results.md next to this script.
#
#   ./run.sh              build every candidate (mvn -B -q clean package), then measure
#   ./run.sh --no-build   measure what is already built
#   RUNS=7                startup runs per candidate (default 7), taken round-robin across candidates
#
# Per candidate: runtime jars (count, bytes), startup (launch of `java` until GET /health first answers,
# polled every 10 ms), RSS after start (/proc/PID/status VmRSS), SSE delivered incrementally,
# and how long the server takes to notice a client that goes away mid-stream.
# Needs bash >= 5, curl, Maven, and a JDK >= 25 (JAVA_HOME when it is one, else the newest under /usr/lib/jvm).
set -euo pipefail
shopt -s nullglob
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")"
RUNS=${RUNS:-7}
BUILD=1
[ "${1:-}" = "--no-build" ] && BUILD=0

# ---- JDK >= 25 --------------------------------------------------------------------------------------------
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 \
  | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1; }
find_jdk() {
  local best="" best_v=0 d v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$(java_major "$JAVA_HOME"); [ -n "$v" ] && [ "$v" -ge 25 ] && { echo "$JAVA_HOME"; return; }
  fi
  for d in /usr/lib/jvm/*/; do
    d=${d%/}
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
    v=$(java_major "$d")
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ "$v" -gt "$best_v" ]; then best=$d; best_v=$v; fi
  done
  [ -n "$best" ] || { echo "run.sh: no JDK >= 25 under /usr/lib/jvm (or in JAVA_HOME)" >&2; exit 1; }
  echo "$best"
}
JAVA_HOME=$(find_jdk)
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"

# ---- candidates -------------------------------------------------------------------------------------------
# dir | library | artifact whose jar gives the version ("" = the JDK) | main class | port | virtual threads (how) | notes
CANDIDATES=(
  "jetty|Jetty 12 core|jetty-server|bench.JettyBench|18081|QueuedThreadPool.setVirtualThreadsExecutor(newVirtualThreadPerTaskExecutor()): blocking handlers run on a virtual thread|core Handler API, no servlets; no SSE helper (writes data: lines to Content.Sink.asOutputStream); write throws EofException/IOException on disconnect; slf4j-api only (NOP warning)"
  "helidon|Helidon SE 4|helidon-webserver|bench.HelidonBench|18082|built in: every request runs on its own virtual thread (nothing to configure)|SSE helper: SseSink/SseEvent (helidon-webserver-sse), writes data: without a space; disconnect = ServerConnectionException (unchecked); requires Java 21+; logs via JUL"
  "javalin|Javalin 7|javalin|bench.JavalinBench|18083|config.concurrency.useVirtualThreads = true (Jetty pool + ctx.async on virtual threads)|SSE helper: SseClient (needs Accept: text/event-stream; sets Connection: close); disconnect = client.terminated(); runs on Jetty 12 ee10 servlets + websocket + Kotlin stdlib; loud SLF4J banner without a provider"
  "undertow|Undertow core|undertow-core|bench.UndertowBench|18084|manual: handlers run on XNIO I/O/worker threads; the SSE producer is Thread.startVirtualThread (or exchange.dispatch(virtualExecutor, ...))|SSE helper: ServerSentEventHandler (async send queue, no backpressure by default), writes data: without a space; disconnect = close task; XNIO + jboss-logging"
  "jdk|JDK com.sun.net.httpserver||bench.JdkBench|18085|HttpServer.setExecutor(Executors.newVirtualThreadPerTaskExecutor())|no dependency; supported JDK API (module jdk.httpserver) but minimal: HTTP/1.1 only, no SSE helper (hand-written data: lines, flush per event), prefix-only contexts, no request/response helpers; write throws IOException on disconnect"
)

LOGDIR=$(mktemp -d)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$LOGDIR"; }
trap cleanup EXIT

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minimum() { sort -n | head -n1; }

field() { local IFS='|'; read -r -a f <<<"$1"; echo "${f[$2]}"; }
classpath() { echo "$1/target/http-$1.jar:$1/target/lib/*"; }

start_server() { # dir main port -> SERVER_PID; stderr to $LOGDIR/dir.err (appended)
  "$JAVA" -cp "$(classpath "$1")" "$2" "$3" >>"$LOGDIR/$1.out" 2>>"$LOGDIR/$1.err" &
  SERVER_PID=$!
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
wait_health() { # port t0_us -> elapsed ms on stdout, or fails after 30 s
  local deadline=$(( $2 + 30000000 ))
  until curl -sf -o /dev/null -m 1 "http://127.0.0.1:$1/health"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died" >&2; return 1; }
    [ "$(now_us)" -lt "$deadline" ] || { echo "no /health after 30 s" >&2; return 1; }
    sleep 0.01
  done
  echo $(( ($(now_us) - $2) / 1000 ))
}

# ---- build ------------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  for c in "${CANDIDATES[@]}"; do
    d=$(field "$c" 0)
    echo "building $d" >&2
    (cd "$d" && MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q clean package)
  done
fi

# ---- startup + RSS, round-robin (round 0 is a warm-up and is not counted) ---------------------------------
HZ=$(getconf CLK_TCK)
declare -A STARTUP RSS CPU
for r in $(seq 0 "$RUNS"); do
  for c in "${CANDIDATES[@]}"; do
    d=$(field "$c" 0); main=$(field "$c" 3); port=$(field "$c" 4)
    t0=$(now_us)
    start_server "$d" "$main" "$port"
    ms=$(wait_health "$port" "$t0")
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    cpu=$(awk -v hz="$HZ" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$SERVER_PID/stat")
    stop_server
    if [ "$r" -gt 0 ]; then
      STARTUP[$d]="${STARTUP[$d]:-} $ms"; RSS[$d]="${RSS[$d]:-} $rss"; CPU[$d]="${CPU[$d]:-} $cpu"
      echo "run $r $d: ${ms} ms, RSS ${rss} kB, CPU ${cpu} ms" >&2
    fi
    sleep 0.3
  done
done

# ---- SSE + disconnect ------------------------------------------------------------------------------------
sse_check() { # port -> "content-type first_ms total_ms spread_ms events last_line"
  local hdr="$LOGDIR/headers" t0 first="" lastt="" n=0 last="" line t1 ctype
  t0=$(now_us)
  while IFS= read -r line; do
    line=${line%$'\r'}
    [[ $line == data:* ]] || continue
    lastt=${EPOCHREALTIME/./} # no fork per line: keeps the timestamps honest
    [ -n "$first" ] || first=$lastt
    n=$((n + 1)); last=$line
  done < <(curl -sN -m 10 -D "$hdr" -H 'Accept: text/event-stream' "http://127.0.0.1:$1/sse")
  t1=$(now_us)
  ctype=$(tr -d '\r' <"$hdr" | awk 'tolower($1) == "content-type:" {split($2, a, ";"); print a[1]}')
  echo "${ctype:-none} $(( (${first:-$t1} - t0) / 1000 )) $(( (t1 - t0) / 1000 )) $(( (${lastt:-$t1} - ${first:-$t1}) / 1000 )) $n ${last// /_}"
}
disconnect_check() { # port errfile -> "ms N" or "no -"
  local fd cpid tk t line
  exec {fd}< <(exec timeout 5 tail -n0 -f "$2") # follows the server's stderr (inotify, no polling)
  curl -sN -H 'Accept: text/event-stream' "http://127.0.0.1:$1/sse" >/dev/null &
  cpid=$!
  sleep 0.2
  kill "$cpid"; tk=${EPOCHREALTIME/./}
  while IFS= read -r -t 2 -u "$fd" line; do
    t=${EPOCHREALTIME/./}
    [ $((t - tk)) -lt 2000000 ] || break
    if [[ $line == "disconnected after "* ]]; then
      exec {fd}<&-; wait "$cpid" 2>/dev/null || true
      echo "$(( (t - tk) / 1000 )) ${line##* }"; return
    fi
  done
  exec {fd}<&-; wait "$cpid" 2>/dev/null || true
  echo "no -"
}

declare -A SSE SSE_COLD DISC VT CLASSES
for c in "${CANDIDATES[@]}"; do
  d=$(field "$c" 0); main=$(field "$c" 3); port=$(field "$c" 4)
  : >"$LOGDIR/$d.err"
  t0=$(now_us); start_server "$d" "$main" "$port"; wait_health "$port" "$t0" >/dev/null
  CLASSES[$d]=$("$JAVA_HOME/bin/jstat" -class "$SERVER_PID" 2>/dev/null | awk 'NR == 2 {print $1}' || true)
  SSE_COLD[$d]=$(sse_check "$port") # first request after start: includes class loading
  SSE[$d]=$(sse_check "$port")
  sleep 0.2
  spurious=$(grep -c 'disconnected after' "$LOGDIR/$d.err" || true)
  [ "$spurious" = 0 ] || SSE[$d]="${SSE[$d]} spurious-disconnect"
  DISC[$d]=""
  for k in 1 2 3; do DISC[$d]="${DISC[$d]}$(disconnect_check "$port" "$LOGDIR/$d.err");"; sleep 0.3; done
  if grep -q '^sse on VirtualThread' "$LOGDIR/$d.err"; then VT[$d]=yes; else VT[$d]=no; fi
  stop_server
  echo "$d: sse=${SSE[$d]} disconnect=${DISC[$d]} virtual=${VT[$d]}" >&2
done

# ---- report -----------------------------------------------------------------------------------------------
{
  echo "# HTTP server candidates for \`magma serve\`"
  echo
  echo "Generated by \`run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo '```'
  echo "\$ $JAVA -version"
  "$JAVA" -version 2>&1
  echo '```'
  echo
  echo "| library | version | jars | MB | startup median ms | startup min ms | RSS MB | SSE incremental | disconnect noticed | virtual threads (how) | notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for c in "${CANDIDATES[@]}"; do
    d=$(field "$c" 0); lib=$(field "$c" 1); art=$(field "$c" 2); how=$(field "$c" 5); notes=$(field "$c" 6)
    if [ -n "$art" ]; then
      version=$(ls "$d/target/lib" | sed -n "s/^$art-\([0-9].*\)\.jar\$/\1/p" | head -n1)
    else
      version="JDK $("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.runtime\.version = //p')"
    fi
    jars=("$d/target/http-$d.jar" "$d"/target/lib/*.jar)
    bytes=$(cat "${jars[@]}" | wc -c)
    mb=$(awk -v b="$bytes" 'BEGIN {printf "%.2f", b / 1e6}')
    smed=$(echo "${STARTUP[$d]}" | tr ' ' '\n' | grep . | median)
    smin=$(echo "${STARTUP[$d]}" | tr ' ' '\n' | grep . | minimum)
    rss=$(echo "${RSS[$d]}" | tr ' ' '\n' | grep . | median)
    rssmb=$(awk -v k="$rss" 'BEGIN {printf "%.0f", k * 1024 / 1e6}')
    read -r ctype first total spread events last extra <<<"${SSE[$d]}"
    incremental=no
    if [ "$ctype" = "text/event-stream" ] && [ "$events" = 51 ] && [[ $last =~ ^data:_?\[DONE\]$ ]] \
       && [ "$first" -lt 500 ] && [ "$spread" -ge 800 ] && [ -z "${extra:-}" ]; then incremental=yes; fi
    disc_ms=$(echo "${DISC[$d]}" | tr ';' '\n' | grep . | awk '$1 != "no" {print $1}' | median)
    disc_fail=$(echo "${DISC[$d]}" | tr ';' '\n' | grep -c '^no' || true)
    if [ -n "$disc_ms" ] && [ "$disc_fail" = 0 ]; then disc="$disc_ms ms"; elif [ -n "$disc_ms" ]; then disc="$disc_ms ms ($disc_fail/3 missed)"; else disc=no; fi
    if [ "${VT[$d]}" = yes ]; then vt="yes: $how"; else vt="NOT seen: $how"; fi
    echo "| $lib | $version | ${#jars[@]} | $mb | $smed | $smin | $rssmb | $incremental | $disc | $vt | $notes |"
  done
  echo
  echo "Method (see run.sh):"
  echo
  echo "- jars / MB: the candidate's own jar plus \`target/lib\` (maven-dependency-plugin copy-dependencies, runtime scope); MB = 10^6 bytes."
  echo "- startup: from launching \`java -cp ...\` (no JVM flags) until \`curl /health\` first succeeds, polled every 10 ms; $RUNS runs each after one"
  echo "  uncounted warm-up round, candidates interleaved round-robin. RSS: VmRSS right after /health first answered (median of the same runs)."
  echo "- SSE incremental: Content-Type text/event-stream, 51 \`data:\` events ending in \`[DONE]\`, first event < 500 ms after the request, >= 800 ms"
  echo "  between the first and the last event (50 events 20 ms apart; a buffered response arrives in one piece), and no \`disconnected\` line for a"
  echo "  complete stream. Uses the second request after start (the first, cold one is in the details). 500 ms rather than 200 ms so that load"
  echo "  spikes on a shared machine cannot fail a stream that is plainly incremental; the measured times are in the details."
  echo "- disconnect noticed: \`curl -N /sse\` killed after 200 ms; time until the server printed \`disconnected after N\` (its stderr followed"
  echo "  with \`tail -f\`, 2 s limit); median of 3."
  echo "- virtual threads: the SSE handler printed \`sse on VirtualThread[...]\`."
  echo "- every SSE request sends \`Accept: text/event-stream\` (Javalin refuses SSE without it)."
  echo "- details: process CPU at ready = user+sys of the server (all threads, JIT and GC included) from /proc/PID/stat when /health first"
  echo "  answered, less sensitive than wall time to other load on the machine; classes loaded at ready = \`jstat -class\` right after /health"
  echo "  first answered (a separate start, after the timed runs)."
  echo "- wall times depend on the machine's load (load average above); compare candidates within one run of this script."
  echo
  echo "## Details"
  echo
  echo "| library | startup runs ms | process CPU at ready, ms (median; runs) | classes loaded at ready | RSS runs kB | SSE first event ms (cold / warm) | SSE first-to-last event ms / total ms | SSE last line | disconnect tries (ms after kill / events sent) | runtime jars |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for c in "${CANDIDATES[@]}"; do
    d=$(field "$c" 0); lib=$(field "$c" 1)
    read -r ctype first total spread events last extra <<<"${SSE[$d]}"
    read -r _ cold_first _ <<<"${SSE_COLD[$d]}"
    cpumed=$(echo "${CPU[$d]}" | tr ' ' '\n' | grep . | median)
    tries=$(echo "${DISC[$d]}" | tr ';' '\n' | grep . | awk '{printf "%s%s ms / %s", (NR > 1 ? "; " : ""), $1, $2}')
    libs=$(for j in "$d/target/http-$d.jar" "$d"/target/lib/*.jar; do basename "$j"; done | paste -sd, - | sed 's/,/, /g')
    echo "| $lib |${STARTUP[$d]} | $cpumed;${CPU[$d]} | ${CLASSES[$d]:-?} |${RSS[$d]} | $cold_first / $first | $spread / $total | \`${last//_/ }\` ($events data lines) | $tries | $libs |"
  done
} >results.md
sed -n '/^| library | version/,/^$/p' results.md
