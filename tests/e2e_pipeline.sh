#!/usr/bin/env bash
# The user's path through the foundation, run once as a ctest fixture; end_to_end_test.cpp then
# checks what it produced. Usage: e2e_pipeline.sh COLLAPSE_BIN DATASET OUT
set -euo pipefail
bin=$1 data=$2 out=$3
rm -rf "$out"
"$bin" train --data "$data" --out "$out/gen-0" --preset tiny --context 64 --batch-size 16 \
  --steps 300 --eval-every 100 --device cpu --seed 1
"$bin" eval --model "$out/gen-0" --data "$data" --split test --device cpu --json >"$out/eval.json"
"$bin" export --model "$out/gen-0" --out "$out/gen-0-hf"
