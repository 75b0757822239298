#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with AFL++ (cargo-afl).
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--keep] [TARGET...]
#   scripts/fuzz.sh --list
#   scripts/fuzz.sh --report          # the table of the last runs, from AFL's stats
#
# Runs each target (all by default) for N seconds (default 600), J at a time (default 1), at
# nice 19 so it never slows a build or the show. Seeds: the project's own (`ling-fuzz --seeds`),
# the kept corpus in fuzz/corpus/TARGET, and the shared test data when ../shared/data is there
# (cut small: a fuzzer learns nothing more from a 1 MB file than from its first 20 frames).
# Fuzzing continues from the previous run's queue (`-i -` resumes). Every crash or hang found is
# copied to fuzz/regressions/TARGET/, which the normal test run replays: fix it, keep the file.
# --keep minimises the queue (afl-cmin) into fuzz/corpus/TARGET, for committing.
#
# Installs what it needs: cargo-afl, and the AFL++ it builds for this rustc (`cargo afl config
# --build`: afl-fuzz, afl-cmin and the runtime linked into the harness). Debian bookworm's afl++
# (4.04c) is too old for that runtime's fork server ("Unable to request new process from fork
# server"), so the afl-fuzz used is cargo-afl's own AFL++ build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ROOT=$PWD
WORK="$LING_CACHE/fuzz"
FUZZ_TARGET_DIR="$LING_CACHE/fuzz-target"
BIN="$FUZZ_TARGET_DIR/release/ling-fuzz"
SECONDS_EACH=600
JOBS=1
KEEP=0
REPORT_ONLY=0
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --report) REPORT_ONLY=1; shift ;;
        --list) LIST=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done

report() {
    printf '| target | executions | execs/s | fuzzing time | corpus | edges found | crashes | hangs |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
    for stats in "$WORK"/*/out/default/fuzzer_stats; do
        [ -f "$stats" ] || continue
        local t; t=$(basename "$(dirname "$(dirname "$(dirname "$stats")")")")
        val() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
        # run_time and execs_done add up over resumed runs.
        local secs; secs=$(val run_time)
        local execs; execs=$(val execs_done)
        local rate=$(( secs > 0 ? execs / secs : 0 ))
        printf '| %s | %s | %s | %s s | %s | %s of %s | %s | %s |\n' "$t" "$execs" "$rate" "$secs" \
            "$(val corpus_count)" "$(val edges_found)" "$(val total_edges)" \
            "$(val saved_crashes)" "$(val saved_hangs)"
    done
}

if [ "$REPORT_ONLY" = 1 ]; then
    report
    exit 0
fi

# --- tools -----------------------------------------------------------------------------------
if ! cargo afl --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-afl"
    cargo install cargo-afl --locked --quiet
fi
if ! ls "$HOME"/.local/share/afl.rs/rustc-"$(rustc --version | awk '{print $2}')"-*/afl.rs-*/afl/bin/afl-fuzz >/dev/null 2>&1; then
    echo "fuzz: building AFL's runtime for this rustc (cargo afl config --build)"
    cargo afl config --build --force >/dev/null
fi
AFL=$(ls -d "$HOME"/.local/share/afl.rs/rustc-"$(rustc --version | awk '{print $2}')"-*/afl.rs-*/afl/bin | head -1)

echo "fuzz: building the harness with AFL's instrumentation ($FUZZ_TARGET_DIR; the first build takes ~30 min)"
(cd fuzz && CARGO_TARGET_DIR="$FUZZ_TARGET_DIR" nice -n 5 cargo afl build --release --quiet)

if [ "${LIST:-0}" = 1 ]; then
    "$BIN" --list
    exit 0
fi
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <("$BIN" --list | cut -f1)
fi

# --- seeds -----------------------------------------------------------------------------------
seed() {
    local t="$1" in="$WORK/$1/in"
    rm -rf "$in"
    mkdir -p "$in"
    cp "$WORK/seeds/$t"/* "$in"/ 2>/dev/null || true
    cp "$ROOT/fuzz/corpus/$t"/* "$in"/ 2>/dev/null || true
    local shared="$ROOT/../shared/data"
    case "$t" in
        bvh)
            # The header and the first 20 frames of each clip, with the frame count fixed.
            for f in "$shared"/mocap/*.bvh; do
                [ -f "$f" ] || continue
                awk 'BEGIN{m=0} /^MOTION/{m=1} m==0{print; next} /^Frames:/{print "Frames: 20"; next} /^Frame Time:/{print; n=0; next} {if (m && n<20 && NF>3) {print; n++} else if (m && NF<=3) print}' \
                    "$f" > "$in/shared-$(basename "$f")"
            done ;;
        avatar)
            for f in "$shared"/avatars/*.vrm; do
                [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 100000 ] && cp "$f" "$in/shared-$(basename "$f")"
            done ;;
        wav)
            for f in "$shared"/audio/*.wav; do
                # 0.1 s of speech as a whole file (sox), and the first 4 kB cut short.
                [ -f "$f" ] || continue
                command -v sox >/dev/null && sox "$f" "$in/shared-$(basename "$f")" trim 0 0.1 2>/dev/null || true
                head -c 4096 "$f" > "$in/shared-cut-$(basename "$f")"
            done ;;
        audio)
            # Our own tiny FLAC, Ogg Vorbis and MP3: 0.2 s of a tone, by ffmpeg. The first byte of
            # an input picks the decoder's hint (0 flac, 1 ogg, 2 mp3).
            if command -v ffmpeg >/dev/null; then
                local i=0
                for ext in flac ogg mp3; do
                    ffmpeg -v error -y -f lavfi -i "sine=frequency=440:duration=0.2:sample_rate=8000" \
                        -ac 1 "$WORK/tone.$ext" && { printf "\\x$(printf %02x $i)"; cat "$WORK/tone.$ext"; } > "$in/tone.$ext"
                    i=$((i + 1))
                done
            fi ;;
    esac
    if [ -z "$(ls -A "$in")" ]; then
        printf 'seed\n' > "$in/empty"
    fi
}

# --- run -------------------------------------------------------------------------------------
run_one() {
    local t="$1" out="$WORK/$1/out"
    local dict="$ROOT/fuzz/dict/$t.dict" input
    seed "$t"
    input="$WORK/$t/in"
    # Resume from the last run's queue when there is one.
    [ -d "$out/default/queue" ] && input=-
    local dict_args=()
    [ -f "$dict" ] && dict_args=(-x "$dict")
    echo "fuzz: $t for ${SECONDS_EACH}s"
    AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    AFL_SKIP_CRASHES=1 AFL_AUTORESUME=1 \
        nice -n 19 "$AFL/afl-fuzz" -V "$SECONDS_EACH" -t 2000 -m none -i "$input" -o "$out" "${dict_args[@]}" \
        -- "$BIN" "$t" > "$WORK/$t/afl.log" 2>&1 || echo "fuzz: afl-fuzz on $t ended with an error; see $WORK/$t/afl.log" >&2
    # Crashes and hangs become regression inputs for the normal test run.
    for kind in crashes hangs; do
        for f in "$out"/default/"$kind"/id:*; do
            [ -f "$f" ] || continue
            mkdir -p "$ROOT/fuzz/regressions/$t"
            local name="$kind-$(sha1sum "$f" | cut -c1-12)"
            [ -f "$ROOT/fuzz/regressions/$t/$name" ] || { cp "$f" "$ROOT/fuzz/regressions/$t/$name"; echo "fuzz: $t: new $kind input fuzz/regressions/$t/$name"; }
        done
    done
    if [ "$KEEP" = 1 ]; then
        rm -rf "$WORK/$t/cmin"
        AFL_SKIP_CPUFREQ=1 nice -n 19 "$AFL/afl-cmin" -i "$out/default/queue" -o "$WORK/$t/cmin" -- "$BIN" "$t" >/dev/null 2>&1 || true
        mkdir -p "$ROOT/fuzz/corpus/$t"
        # Keep small inputs only; the seeds are made anew each run and not kept.
        find "$WORK/$t/cmin" -type f -size -16k ! -name '*orig:*' -exec cp {} "$ROOT/fuzz/corpus/$t/" \;
        # File names without ':' and ',' (AFL's names), so every checkout tool takes them.
        for f in "$ROOT/fuzz/corpus/$t"/id:*; do
            [ -f "$f" ] || continue
            mv "$f" "$ROOT/fuzz/corpus/$t/$(sha1sum "$f" | cut -c1-16)"
        done
    fi
}

mkdir -p "$WORK"
# `nice` only orders processes within one scheduling group; with autogroups (a session each) a
# nice-19 fuzzer still takes a whole core from a build in another terminal. Lower the group too.
[ -w /proc/self/autogroup ] && echo 19 > /proc/self/autogroup 2>/dev/null || true
rm -rf "$WORK/seeds"
"$BIN" --seeds "$WORK/seeds"
running=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/$t"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
report | tee "$WORK/report.md"
