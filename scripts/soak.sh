#!/usr/bin/env bash
# Soak test: the demo show broadcast headless for a long time, with everything a live show
# has going on, and its memory and frame time sampled every 10 s.
#
#   bash scripts/soak.sh [SECONDS] [OUT_DIR]            the soak (default 300 s)
#   bash scripts/soak.sh --switches [COUNT] [OUT_DIR]   COUNT avatar and COUNT motion switches
#
# The soak runs `ling-stage broadcast` (real time, no window) looping the demo show to a UDP
# output nobody listens to (ffmpeg encodes every frame, the packets go nowhere), with
#   - a VMC sender (scripts/vmc_client.py, python-osc) streaming the demo's own motion as VMC,
#   - a camera file (a generated ffmpeg test pattern: no ../shared data needed) as tracking input,
#   - the OSC remote firing effects, emotes, shots and light looks every few seconds
#     (scripts/remote_client.py),
# and every 10 s writes a CSV row: resident memory (VmRSS from /proc/PID/status) and the
# program's own `stats` line (`broadcast --stats-every 10`: frames, mean and longest frame
# time, output frames sent/repeated/dropped, VMC frames, remote commands, tracking fps). At the
# end it plots the CSV to a PNG (gnuplot) and prints memory growth per hour after warm-up
# (a least-squares line through the samples after the first 2 minutes on air), frame-time drift
# and the dropped total.
#
# --switches runs the same broadcast with a show whose manual cues switch the performer
# (Ling, the shared avatars if ../shared/data/avatars has them, nobody) and the motion (two BVH
# files exported from the demo, the demo, idle), fires them COUNT times each over the remote and
# compares resident memory before, after the first round and after the last switch.
#
# Everything runs under `nice -n 10` (the machine has other work). Environment: SOAK_SIZE
# (WxH of the program, default 320x180), SOAK_BIN (a ling-stage binary to run instead of
# building one), SOAK_FPS (output rate, default 30), SOAK_WARMUP
# (seconds on air excluded from the memory fit, default 120), SWITCH_WAIT (seconds after a
# switch to Ling or nobody, default 2; an avatar switch waits until its rig is bound, at most
# AVATAR_WAIT seconds, default 180: at nice 10 on a busy software renderer a new avatar's
# pipelines can take minutes to compile).
set -euo pipefail
# Bash reads a script while it runs it: run from a copy, so editing this file mid-soak is safe.
if [ -z "${SOAK_REPO:-}" ]; then
    copy="$(mktemp /tmp/ling-soak.XXXXXX)"
    cp "$0" "$copy"
    SOAK_REPO="$(cd "$(dirname "$0")/.." && pwd)" exec bash "$copy" "$@"
fi
cd "$SOAK_REPO"

MODE=soak
if [ "${1:-}" = "--switches" ]; then
    MODE=switches
    shift
    COUNT="${1:-100}"
    SECONDS_WANTED=0
else
    SECONDS_WANTED="${1:-300}"
fi
STAMP="$(date -u +%Y%m%d-%H%M%S)"
source scripts/env.sh
OUT="${2:-$LING_CACHE/$MODE-$STAMP}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SIZE="${SOAK_SIZE:-320x180}"
FPS="${SOAK_FPS:-30}"
WARMUP="${SOAK_WARMUP:-120}"
SWITCH_WAIT="${SWITCH_WAIT:-2}"
AVATAR_WAIT="${AVATAR_WAIT:-180}"

bash scripts/setup.sh
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "soak: installing gnuplot (Debian's gnuplot-nox) for the plot"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi
if [ -n "${SOAK_BIN:-}" ]; then
    echo "soak: running $SOAK_BIN (SOAK_BIN), not building"
else
    if ! cargo build --bin ling-stage; then
        [ -x "$CARGO_TARGET_DIR/debug/ling-stage" ] || exit 1
        echo "soak: the build failed (work in progress in the tree?); using the binary built before" >&2
    fi
    SOAK_BIN="$CARGO_TARGET_DIR/debug/ling-stage"
fi
# A copy of the binary: builds during a long soak must not change what runs.
cp "$SOAK_BIN" "$OUT/ling-stage"
BIN="$OUT/ling-stage"
export PYTHONPATH="$LING_CACHE/python${PYTHONPATH:+:$PYTHONPATH}"
PY="nice -n 10 python3"

free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
REMOTE_PORT="$(free_udp_port)"
VMC_PORT="$(free_udp_port)"
remote() { $PY scripts/remote_client.py 127.0.0.1 "$REMOTE_PORT" "$@" >/dev/null 2>&1 || true; }

# The show's folder: the show and every file it names (paths in a show stay inside its folder).
SHOW_DIR="$OUT/show"
mkdir -p "$SHOW_DIR"
"$BIN" mocap export scenes/demo.ron --out "$SHOW_DIR/demo.bvh" >/dev/null
"$BIN" mocap export scenes/demo.ron --out "$SHOW_DIR/demo-fast.bvh" --fps 60 --seconds 6 >/dev/null

PIDS=()
cleanup() {
    case "$0" in /tmp/ling-soak.*) rm -f "$0" ;; esac
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${SHOW_PID:-}" ]; then kill -TERM "$SHOW_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Waits until the broadcast prints its first stats line (it is on air), or fails.
wait_on_air() {
    local waited=0
    until grep -q '^stats ' "$LOG" 2>/dev/null; do
        if ! kill -0 "$SHOW_PID" 2>/dev/null; then
            echo "soak: the broadcast ended before going on air; its log:" >&2
            tail -n 30 "$LOG" >&2
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
        if [ "$waited" -gt 600 ]; then
            echo "soak: not on air after 600 s" >&2
            exit 1
        fi
    done
}

if [ "$MODE" = soak ]; then
    cp scenes/demo.ron "$SHOW_DIR/show.ron"
    CAMERA="$SHOW_DIR/camera.mp4"
    # A camera file made here (a moving test pattern, 10 fps): tracking decodes and searches
    # every frame for a face and hands (none are found in a test pattern).
    ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=640x480:rate=10" -t 20 \
        -pix_fmt yuv420p "$CAMERA"
    LOG="$OUT/broadcast.log"
    CSV="$OUT/soak.csv"
    echo "soak: $SECONDS_WANTED s on air at $SIZE, $FPS fps; output in $OUT"
    nice -n 10 "$BIN" broadcast "$SHOW_DIR/show.ron" --loop --seconds "$SECONDS_WANTED" \
        --width "${SIZE%x*}" --height "${SIZE#*x}" --fps "$FPS" \
        --out "udp://127.0.0.1:9?pkt_size=1316" \
        --remote "127.0.0.1:$REMOTE_PORT" --vmc "127.0.0.1:$VMC_PORT" \
        --camera-file "$CAMERA" --stats-every 10 >"$LOG" 2>&1 &
    SHOW_PID=$!
    echo "$SHOW_PID" >"$OUT/pid"
    STARTED=$(date +%s)

    # The VMC sender: the demo's motion at 30 frames/s, over and over.
    ( while true; do $PY scripts/vmc_client.py send "$SHOW_DIR/demo.bvh" 127.0.0.1 "$VMC_PORT" --fps 30 >/dev/null 2>&1 || sleep 1; done ) &
    PIDS+=($!)
    # The remote: an effect, an emote, a shot, a light look, in turn, every 5 s.
    (
        i=0
        while true; do
            case $((i % 8)) in
                0) remote "/ling/effect petal_rain seconds 3.0" ;;
                1) remote "/ling/emote joy 2" ;;
                2) remote "/ling/effect/lantern_burst" ;;
                3) remote "/ling/shot closeup 0.5" ;;
                4) remote "/ling/light turn 0.5" ;;
                5) remote "/ling/gesture wave" ;;
                6) remote "/ling/shot wide 1.0" ;;
                7) remote "/ling/cue 3" ;;
            esac
            i=$((i + 1))
            sleep 5
        done
    ) &
    PIDS+=($!)

    echo "t_s,rss_kb,on_air_s,frames,mean_ms,max_ms,sent,repeated,dropped,missed,vmc_frames,remote_applied,tracking_fps,load1" >"$CSV"
    # One row per stats line (every 10 s on air), with VmRSS read from /proc at that moment
    # and the machine's load average (frame times depend on what else runs).
    seen=0
    while kill -0 "$SHOW_PID" 2>/dev/null; do
        sleep 1
        count=$(grep -c '^stats ' "$LOG" || true)
        [ "$count" -gt "$seen" ] || continue
        seen=$count
        rss=$(rss_kb "$SHOW_PID")
        [ "${rss:-0}" -gt 0 ] || continue # the broadcast just ended
        now=$(($(date +%s) - STARTED))
        line=$(grep '^stats ' "$LOG" | tail -n 1)
        get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
        echo "$now,$rss,$(get t),$(get frames),$(get mean_ms),$(get max_ms),$(get sent),$(get repeated),$(get dropped),$(get missed),$(get vmc_frames),$(get remote_applied),$(get tracking_fps),$(cut -d' ' -f1 /proc/loadavg)" >>"$CSV"
    done
    wait "$SHOW_PID" || echo "soak: the broadcast exited with status $?" >&2
    SHOW_PID=""
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    grep -E '^(broadcast:|output |remote:)' "$LOG" || true

    # Summary: memory growth per hour after warm-up, frame-time drift, dropped frames.
    python3 - "$CSV" "$WARMUP" >"$OUT/summary.txt" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["on_air_s"] and r["rss_kb"] != "0"]
warm = float(sys.argv[2])
def fit(xs, ys):
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else float("nan")
late = [r for r in rows if float(r["on_air_s"]) >= warm]
if len(late) < 3:
    late = rows[len(rows) // 3:]
    print(f"note: fewer than 3 samples after {warm:.0f} s on air; fitting the last two thirds")
t = [float(r["on_air_s"]) / 3600 for r in late]
rss = [float(r["rss_kb"]) / 1024 for r in late]
mean = [float(r["mean_ms"]) for r in late]
hours = float(rows[-1]["on_air_s"]) / 3600 if rows else 0
print(f"on air: {hours * 60:.1f} min, {len(rows)} samples ({len(late)} after warm-up)")
if rows:
    print(f"resident memory: {float(rows[0]['rss_kb'])/1024:.1f} MB at the first sample, "
          f"{rss[0]:.1f} MB after warm-up, {float(rows[-1]['rss_kb'])/1024:.1f} MB at the end "
          f"(max {max(float(r['rss_kb']) for r in rows)/1024:.1f} MB)")
    print(f"memory growth after warm-up: {fit(t, rss):+.2f} MB/h (least-squares line; goal < 5 MB/h)")
    q = max(1, len(late) // 4)
    first, last = sum(mean[:q]) / q, sum(mean[-q:]) / q
    print(f"frame time: {first:.1f} ms mean over the first quarter after warm-up, {last:.1f} ms over the "
          f"last ({last - first:+.1f} ms); trend {fit(t, mean):+.1f} ms/h; longest frame "
          f"{max(float(r['max_ms']) for r in rows):.0f} ms")
    end = rows[-1]
    print(f"output: {end['sent']} frames sent, {end['repeated']} repeated (renderer slower than "
          f"the output rate), {end['dropped']} dropped, {end['missed']} ticks missed")
    print(f"inputs: {end['vmc_frames']} VMC frames, {end['remote_applied']} remote commands, "
          f"tracking {end['tracking_fps']} fps at the end")
    loads = [float(r["load1"]) for r in rows]
    print(f"machine load (1-min average): {min(loads):.1f} to {max(loads):.1f}, mean {sum(loads)/len(loads):.1f} on 2 cores")
EOF
    cat "$OUT/summary.txt"

    gnuplot <<EOF
set datafile separator ","
set terminal pngcairo size 1200,900 font ",10" noenhanced
set output "$OUT/soak.png"
set multiplot layout 3,1 title "Ling Stage soak: $(basename "$OUT") ($SIZE, $FPS fps, nice 10)"
set key top left
set xlabel "seconds on air"
set ylabel "resident memory (MB)"
set grid
plot "$CSV" using 3:(\$2/1024) skip 1 with linespoints pt 7 ps 0.5 title "VmRSS"
set ylabel "frame time (ms)"
set y2label "load average (1 min)"
set y2tics
plot "$CSV" using 3:5 skip 1 with linespoints pt 7 ps 0.5 title "mean per 10 s", \
     "$CSV" using 3:6 skip 1 with lines title "longest per 10 s", \
     "$CSV" using 3:14 skip 1 axes x1y2 with lines dt 2 title "machine load (right axis)"
unset y2tics
unset y2label
set ylabel "frames (cumulative)"
set yrange [0:1<*]
plot "$CSV" using 3:9 skip 1 with linespoints pt 7 ps 0.5 title "dropped", \
     "$CSV" using 3:10 skip 1 with lines title "output ticks missed"
unset multiplot
EOF
    echo "soak: CSV $CSV, plot $OUT/soak.png, summary $OUT/summary.txt, log $LOG"
    exit 0
fi

# --switches: COUNT avatar switches and COUNT motion switches, memory before and after.
AVATARS=()
for f in ../shared/data/avatars/*.vrm ../shared/data/avatars/*.glb; do
    [ -f "$f" ] || continue
    cp "$f" "$SHOW_DIR/"
    AVATARS+=("$(basename "$f")")
done
if [ ${#AVATARS[@]} -eq 0 ]; then
    echo "soak: no avatars in ../shared/data/avatars: the performer switches between Ling and nobody only"
fi
{
    echo '('
    # Long enough not to loop during the test.
    echo '    name: "Switches", duration: 3600.0, performer: BuiltIn, motion: BuiltInDemo,'
    echo '    lights: { "house": (key: 0.6, rim: 0.4, wash: 0.6, lanterns: 0.8, ambient: 0.5) },'
    echo '    cues: ['
    echo '        (at: 0.0, command: LightCue(name: "house")),'
    n=100
    for a in "${AVATARS[@]}"; do
        echo "        (number: \"$n\", command: SwitchPerformer(Avatar(path: \"$a\"))),"
        n=$((n + 1))
    done
    echo "        (number: \"$n\", command: SwitchPerformer(BuiltIn)),"
    n=$((n + 1))
    echo "        (number: \"$n\", command: SwitchPerformer(None)),"
    echo '        (number: "200", command: PlayMotion(motion: Bvh(path: "demo.bvh"), crossfade: 0.3)),'
    echo '        (number: "201", command: PlayMotion(motion: Bvh(path: "demo-fast.bvh", speed: 1.5), crossfade: 0.3)),'
    echo '        (number: "202", command: PlayMotion(motion: BuiltInDemo, crossfade: 0.3)),'
    echo '        (number: "203", command: PlayMotion(motion: Idle, crossfade: 0.3)),'
    echo '    ],'
    echo ')'
} >"$SHOW_DIR/switches.ron"
LOG="$OUT/broadcast.log"
CSV="$OUT/switches.csv"
echo "soak: $COUNT performer switches (${AVATARS[*]:-no avatar files}, Ling, nobody, in turn) and $COUNT motion switches; output in $OUT"
nice -n 10 "$BIN" broadcast "$SHOW_DIR/switches.ron" --loop \
    --width "${SIZE%x*}" --height "${SIZE#*x}" --fps "$FPS" \
    --out "udp://127.0.0.1:9?pkt_size=1316" \
    --remote "127.0.0.1:$REMOTE_PORT" --stats-every 10 >"$LOG" 2>&1 &
SHOW_PID=$!
echo "$SHOW_PID" >"$OUT/pid"
wait_on_air
echo "phase,switches,rss_kb" >"$CSV"
settle() { # seconds, phase, switches: waits, then the mean of 5 samples a second apart
    sleep "$1"
    local sum=0 i
    for i in 1 2 3 4 5; do sum=$((sum + $(rss_kb "$SHOW_PID"))); sleep 1; done
    echo "$2,$3,$((sum / 5))" >>"$CSV"
    echo $((sum / 5))
}
before=$(settle 30 before 0)
echo "soak: on air; resident memory before switching: $((before / 1024)) MB"
first=""
LING_CUE=$((100 + ${#AVATARS[@]}))
# An avatar switch is done when the log says its rig is bound (or that it failed); a later
# switch would otherwise replace one still loading.
bound() { grep -c "humanoid bones bound\|the current performer stays" "$LOG" || true; }
switch_to_avatar() { # cue, seconds to wait at most; true when it was bound in time
    local had waited=0
    had=$(bound)
    remote "/ling/cue $1"
    while [ "$(bound)" -le "$had" ] && [ "$waited" -lt "$2" ]; do sleep 1; waited=$((waited + 1)); done
    sleep 1
    [ "$waited" -lt "$2" ]
}
# Each avatar once first: those that never come on stage are left out of the cycle (and named).
CYCLE=()
SKIPPED=()
for k in "${!AVATARS[@]}"; do
    if switch_to_avatar $((100 + k)) "$AVATAR_WAIT"; then CYCLE+=($((100 + k))); else SKIPPED+=("${AVATARS[$k]}"); fi
done
if [ ${#SKIPPED[@]} -gt 0 ]; then
    echo "soak: these avatars never came on stage within $AVATAR_WAIT s and are left out: ${SKIPPED[*]}"
fi
CYCLE+=("$LING_CUE" $((LING_CUE + 1)))
remote "/ling/cue $LING_CUE"
sleep "$SWITCH_WAIT"
loaded=0
timeouts=0
for i in $(seq 1 "$COUNT"); do
    cue=${CYCLE[$(((i - 1) % ${#CYCLE[@]}))]}
    if [ "$cue" -lt "$LING_CUE" ]; then
        if switch_to_avatar "$cue" "$AVATAR_WAIT"; then loaded=$((loaded + 1)); else timeouts=$((timeouts + 1)); fi
    else
        remote "/ling/cue $cue"
        sleep "$SWITCH_WAIT"
    fi
    if [ "$i" -eq "${#CYCLE[@]}" ]; then
        first=$(settle 5 "after first round" "$i")
    fi
    if [ $((i % 10)) -eq 0 ]; then
        echo "switch,$i,$(rss_kb "$SHOW_PID")" >>"$CSV"
        echo "soak: $i performer switches, $(($(rss_kb "$SHOW_PID") / 1024)) MB"
    fi
done
remote "/ling/cue $LING_CUE"
after_avatars=$(settle 20 "after avatar switches" "$COUNT")
for i in $(seq 1 "$COUNT"); do
    remote "/ling/cue $((200 + (i - 1) % 4))"
    sleep 1
    if [ $((i % 10)) -eq 0 ]; then
        echo "motion,$i,$(rss_kb "$SHOW_PID")" >>"$CSV"
        echo "soak: $i motion switches, $(($(rss_kb "$SHOW_PID") / 1024)) MB"
    fi
done
remote "/ling/cue 202"
after=$(settle 20 "after motion switches" "$COUNT")
kill -TERM "$SHOW_PID" 2>/dev/null || true
wait "$SHOW_PID" 2>/dev/null || true
SHOW_PID=""
grep -E '^remote:' "$LOG" || true
{
    echo "performer switches: $COUNT in turn over ${#CYCLE[@]} performers (cues ${CYCLE[*]}: avatars, Ling, nobody); $loaded avatar switches bound, $timeouts not within $AVATAR_WAIT s"
    if [ ${#SKIPPED[@]} -gt 0 ]; then echo "left out (never came on stage): ${SKIPPED[*]}"; fi
    echo "resident memory before: $((before / 1024)) MB"
    echo "after the first round (each avatar tried once, then each performer of the cycle once): $((${first:-0} / 1024)) MB"
    echo "after $COUNT avatar switches (back on Ling): $((after_avatars / 1024)) MB ($(((after_avatars - ${first:-$before}) / 1024)) MB since the first round)"
    echo "after $COUNT motion switches: $((after / 1024)) MB ($(((after - after_avatars) / 1024)) MB over the motion switches)"
    grep -c "the current performer stays" "$LOG" | sed 's/^/avatar switches refused: /' || true
} | tee "$OUT/summary.txt"
echo "soak: CSV $CSV, summary $OUT/summary.txt, log $LOG"
