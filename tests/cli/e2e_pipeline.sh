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
# Generation: the same seed with batch sizes 1 and 64 (checked byte-identical), prompts from real
# text as JSON lines with beam search, and the readable form of both.
gen=("$bin" generate --model "$out/gen-0" --data "$data" --documents 24 --max-tokens 20 --seed 3
     --top-p 0.9 --temperature 0.9 --device cpu)
"${gen[@]}" --out "$out/samples-b1" --batch-size 1
"${gen[@]}" --out "$out/samples-b64" --batch-size 64
# ...and the fixed-shape step of CUDA-graph decoding, run eagerly (checked identical too).
"${gen[@]}" --out "$out/samples-fixed" --batch-size 7 --decode fixed
# The fast CPU sampler against the chain's definition, in both CPU decode modes, for this chain
# and one with every other step on (checked byte-identical).
"${gen[@]}" --out "$out/samples-definition" --batch-size 64 --cpu-sampler definition
"${gen[@]}" --out "$out/samples-fixed-definition" --batch-size 7 --decode fixed --cpu-sampler definition
every=("${gen[@]}" --top-k 40 --min-p 0.02 --typical-p 0.95 --repetition-penalty 1.3
       --presence-penalty 0.2 --frequency-penalty 0.1)
for decode in eager fixed; do
  for sampler in fast definition; do
    "${every[@]}" --out "$out/every-$decode-$sampler" --batch-size 5 --decode "$decode" --cpu-sampler "$sampler"
  done
done
"$bin" generate --model "$out/gen-0" --data "$data" --out "$out/beams.jsonl" --prompt real-prefix:8 \
  --documents 6 --min-tokens 8 --max-tokens 8 --beams 3 --repetition-penalty 3 --keep-prompt \
  --device cpu
"$bin" show "$out/samples-b1" --limit 5 >"$out/show-b1.jsonl"
# Scoring: a samples folder with the reference model, a samples .jsonl, and plain text lines.
"$bin" score --samples "$out/samples-b1" --data "$data" --model "$out/gen-0" --device cpu --json \
  >"$out/score-samples.json"
"$bin" score --samples "$out/beams.jsonl" --data "$data" --device cpu --json >"$out/score-beams.json"
printf '%s\n' '{"text": "Call me Ishmael. Some years ago, never mind how long precisely."}' \
  '{"text": "It is a way I have of driving off the spleen and regulating the circulation."}' \
  '{"text": "Whenever I find myself growing grim about the mouth, I account it high time."}' \
  >"$out/text.jsonl"
"$bin" score --samples "$out/text.jsonl" --data "$data" --device cpu --json >"$out/score-text.json"
