#!/usr/bin/env bash
# Usage: benchmarks/generate_vs_hf.sh MODEL_FOLDER [BATCH ...]     (default batches: 1 64)
#
# Generation throughput of collapse (generate_bench, eager decoding) and of transformers'
# generate() (generate_hf.py) on the same exported model (`collapse export`), the same machine
# and settings: documents from BOS, exactly min(128, context - 1) new tokens each, top-p 0.9,
# fp32 on the CPU. The two alternate, ROUNDS times per batch size, so drift of the machine
# reaches both; each line gives every round's tokens/s and the ratio of the medians.
#
# Environment: ROUNDS [2], BUILD [build], PYTHON [.venv/bin/python, else python3],
# OMP_NUM_THREADS [the number of cores]. Results: benchmarks/RESULTS.md.
set -euo pipefail
die() { echo "generate_vs_hf: error: $*" >&2; exit 1; }
case ${1:-} in -h|--help|"") sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
model=$1; shift
batches=("$@"); [[ ${#batches[@]} -gt 0 ]] || batches=(1 64)
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}; ROUNDS=${ROUNDS:-2}
PYTHON=${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
[[ -f $model/config.json ]] || die "$model has no config.json (an export folder: collapse export)"
[[ -x $BUILD/bin/generate_bench ]] || die "$BUILD/bin/generate_bench not built (make)"
context=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_position_embeddings"])' "$model/config.json")
new_tokens=$(( context - 1 < 128 ? context - 1 : 128 ))
echo "model $model, $new_tokens new tokens, top-p 0.9, $OMP_NUM_THREADS threads, $ROUNDS rounds"
for b in "${batches[@]}"; do
  ours=() hf=()
  for ((r = 0; r < ROUNDS; ++r)); do
    ours+=("$(COLLAPSE_BENCH_DEVICE=cpu COLLAPSE_BENCH_MODEL=$model "$BUILD/bin/generate_bench" \
      --benchmark_filter="generate/batch:$b/decode:1/" --benchmark_format=json 2>/dev/null |
      "$PYTHON" -c 'import json,sys; print(round(json.load(sys.stdin)["benchmarks"][0]["tokens/s"]))')")
    hf+=("$("$PYTHON" benchmarks/generate_hf.py --model "$model" --batch "$b" --new-tokens "$new_tokens" \
      --device cpu --repeats 2 2>/dev/null | "$PYTHON" -c 'import json,sys; print(round(json.loads(sys.stdin.readline())["tokens_per_s"]))')")
  done
  "$PYTHON" - "$b" "${ours[*]}" "${hf[*]}" <<'PY'
import statistics, sys
b, ours, hf = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
print(f"batch {b}: collapse {' '.join(f'{x:.0f}' for x in ours)} tokens/s | transformers "
      f"{' '.join(f'{x:.0f}' for x in hf)} tokens/s | ratio of medians {statistics.median(ours) / statistics.median(hf):.2f}x")
PY
done
