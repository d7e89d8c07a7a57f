#!/usr/bin/env bash
# caption-batch's throughput (docs/spark.md): N copies of the fixture images captioned with local[1],
# local[1] with 2 threads per task, and local[2], on a model; one JSON line per run on stdout.
#   tools/bench/spark-throughput.sh tiny 48
#   tools/bench/spark-throughput.sh ~/.cache/magma-java/synthetic-magma_v1_1024-seed0.safetensors 4 [extra options]
set -eu
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
model=$1
count=$2
shift 2
fixtures="$root/magma-core/src/test/resources/fixtures"
if [ "$model" = tiny ]; then
  model_args=(--checkpoint "$fixtures/magma/tiny_a/model.pt" --model-config "$fixtures/magma/tiny_a/config.json")
else
  model_args=(--checkpoint "$model" --config magma_v1_1024)
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/magma-spark-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/images"
sources=(rgb_430x400.png jpeg_rgb_83x64.jpg jpeg_444_50x70.jpg rgb_97x61.png)
for i in $(seq 1 "$count"); do
  src=${sources[$(( (i - 1) % ${#sources[@]} ))]}
  cp "$fixtures/image/src/$src" "$work/images/$(printf '%04d' "$i")-$src"
done
run() {
  local name=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$root/magma" caption-batch --quiet --input "$work/images" --output "$work/$name.jsonl" "${model_args[@]}" "$@" 2>"$work/$name.err"
  end=$(date +%s.%N)
  python3 - "$name" "$count" "$start" "$end" "$work/$name.jsonl" "$work/$name.err" "$*" <<'PY'
import json, sys, statistics, re
name, count, start, end, out, err, args = sys.argv[1:]
rows = [json.loads(l) for l in open(out)]
millis = [r["millis"] for r in rows if r["error"] is None]
summary = open(err).read().strip().splitlines()[-1]
job = float(re.search(r"errors, ([0-9.]+) s", summary).group(1))
print(json.dumps({"run": name, "options": args, "images": int(count), "answered": len(millis),
                  "wallSeconds": round(float(end) - float(start), 2), "sparkJobSeconds": job,
                  "imagesPerSecond": round(int(count) / job, 4),
                  "rowMillisMedian": statistics.median(millis), "rowMillisMin": min(millis), "rowMillisMax": max(millis)}))
PY
}
run local1 --master 'local[1]' "$@"
run local1-2threads --master 'local[1]' --threads-per-task 2 "$@"
run local2 --master 'local[2]' "$@"
