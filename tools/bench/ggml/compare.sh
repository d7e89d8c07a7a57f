#!/usr/bin/env bash
# magma-java against ggml's GPT-J example (plain GPT-J 6B, no adapters, no image encoder) on this
# CPU: ggml f16, magma fp16, ggml q8_0, magma q8, one after another, for N rounds (the sides
# alternate so that drift on a shared machine spreads over all of them); summary: the median of
# the rounds per side, and every round.
#
#   tools/bench/ggml/compare.sh [--rounds N] [--new-tokens N] [--threads N] [--out DIR] [--sides "..."]
#
# Defaults: 5 rounds, 32 new tokens, 2 threads, 160 prompt positions (magma: 144 image + 16 prompt
# tokens; ggml: a 160-token text prompt), all four sides, results in
# tools/bench/results/<UTC date-time>-ggml/ (raw logs, runs.jsonl, summary.md, summary.json).
#
# Environment:
#   MAGMA       the magma command (default: $root/magma, which rebuilds and installs the CLI when the
#               sources changed); word-split, relative paths from the repository root, e.g.
#               MAGMA="tools/magma-java $(tools/find-jdk) -jar magma-cli/target/magma-cli.jar"
#   MAGMA_ARGS  extra bench options for both magma sides (e.g. "--checkpoint FILE")
#   GGML_BIN    ggml's gpt-j binary (default: the newest ~/.cache/magma-java/ggml/build-*/bin/gpt-j,
#               a -llamafile build first)
#   GGML_F16, GGML_Q8   the models (default: ~/.cache/magma-java/ggml/gptj-6b-random-seed0-{f16,q8_0}.bin)
#   PYTHON      default /usr/bin/python3 (numpy needed)
#
# Prepare once (see README.md): build.sh SRC_DIR; random_model.py --quantize .../gpt-j-quantize.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=$HOME/.cache/magma-java/ggml
python=${PYTHON:-/usr/bin/python3}

rounds=5 new_tokens=32 threads=2 out="" sides="ggml-f16 magma-fp16 ggml-q8_0 magma-q8"
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --new-tokens) new_tokens=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --sides) sides=$2; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
prompt_tokens=160 magma_prompt_tokens=16   # magma: 144 image positions + 16

ggml_bin=${GGML_BIN:-$({ ls -td "$cache"/build-*-llamafile/bin/gpt-j || ls -td "$cache"/build-*/bin/gpt-j; } 2>/dev/null | head -1)}
ggml_f16=${GGML_F16:-$cache/gptj-6b-random-seed0-f16.bin}
ggml_q8=${GGML_Q8:-$cache/gptj-6b-random-seed0-q8_0.bin}
read -r -a magma <<<"${MAGMA:-$root/magma}"
read -r -a magma_args <<<"${MAGMA_ARGS:-}"
for side in $sides; do
    case $side in
        ggml-f16) need=("$ggml_bin" "$ggml_f16") ;;
        ggml-q8_0) need=("$ggml_bin" "$ggml_q8") ;;
        magma-fp16|magma-q8) need=() ;;
        *) echo "unknown side $side (ggml-f16 magma-fp16 ggml-q8_0 magma-q8)" >&2; exit 2 ;;
    esac
    for f in "${need[@]}"; do
        [ -n "$f" ] && [ -e "$f" ] || { echo "$0: missing ${f:-the gpt-j binary} (see tools/bench/ggml/README.md)" >&2; exit 1; }
    done
done

out=${out:-$root/tools/bench/results/$(date -u +%Y-%m-%d-%H%M)-ggml}
mkdir -p "$out"
{
    echo "date: $(date -u '+%F %T') UTC"
    echo "magma-java commit: $(git -C "$root" rev-parse HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
    [ -n "$ggml_bin" ] && echo "ggml commit: $(cat "$(dirname "$(dirname "$ggml_bin")")/ggml-commit.txt" 2>/dev/null || echo unknown) ($ggml_bin)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
    echo "magma: ${magma[*]} ${magma_args[*]}"
    echo "environment: $(env | grep -E '^(OMP_|GOMP_|GGML_|MAGMA_|JAVA_TOOL_OPTIONS)' | tr '\n' ' ')"
    echo "rounds: $rounds, threads: $threads, prompt positions: $prompt_tokens, new tokens: $new_tokens, sides: $sides"
} >"$out/setup.txt"
cat "$out/setup.txt"
: >"$out/runs.jsonl"

for round in $(seq 1 "$rounds"); do
    for side in $sides; do
        base="$out/r$round-$side"
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        start=$(date -u '+%F %T')
        echo "[$start] round $round/$rounds: $side (load average $load_before)" >&2
        rc=0
        case $side in
            ggml-*)
                model=$ggml_f16; [ "$side" = ggml-q8_0 ] && model=$ggml_q8
                cmd=("$python" "$here/ggml_run.py" --bin "$ggml_bin" --model "$model" --threads "$threads"
                     --prompt-tokens "$prompt_tokens" --new-tokens "$new_tokens" --log "$base.log" --json "$base.json")
                "${cmd[@]}" >&2 || rc=$?
                ;;
            magma-*)
                weights=(); [ "$side" = magma-q8 ] && weights=(--weights q8)
                cmd=("${magma[@]}" bench --warmup 1 --runs 1 --threads "$threads" --prompt-tokens "$magma_prompt_tokens"
                     --new-tokens "$new_tokens" --json "${weights[@]}" "${magma_args[@]}")
                ( cd "$root" && "${cmd[@]}" ) >"$base.json" 2>"$base.log" || rc=$?
                ;;
        esac
        end=$(date -u '+%F %T')
        load_after=$(cut -d' ' -f1-3 /proc/loadavg)
        "$python" - "$round" "$side" "$start" "$end" "$load_before" "$load_after" "$rc" "$base.json" "${cmd[@]}" >>"$out/runs.jsonl" <<'PY'
import json, sys
a = sys.argv[1:]
print(json.dumps({"round": int(a[0]), "side": a[1], "start": a[2], "end": a[3], "loadBefore": a[4],
                  "loadAfter": a[5], "rc": int(a[6]), "json": a[7].rsplit("/", 1)[-1], "command": a[8:]}))
PY
        if [ "$rc" -ne 0 ]; then
            echo "$side failed (exit $rc); see $base.log" >&2
        fi
    done
done
"$python" "$here/summarize.py" "$out"
