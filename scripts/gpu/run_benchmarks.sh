#!/usr/bin/env bash
# Usage: scripts/gpu/run_benchmarks.sh [--help] [--quick]
#
# Run on the GPU machine after scripts/gpu/build_and_test.sh built build-gpu/ (same call or a
# later one while the machine is warm). Runs every benchmark on CUDA, each with its baseline in
# the same run, and writes one log per benchmark (console table; JSON next to it) to
# build-gpu/bench/, copied to $OUT:
#   sampling_bench    the fused sampling kernel vs the LibTorch pipeline (batch x vocab x dtype)
#   nll_bench         the fused NLL kernel vs cross_entropy / log_softmax+gather; chunked path
#   ngram_bench       distinct-n over 10M tokens, self-BLEU-4 over 10k documents
#   generate_bench    generate() of the small preset at batch 1/64/256, eager / fixed / graph
#   generate_hf.py    Hugging Face generate() on the same shape (the baseline of generate_bench)
#   train_throughput  training tokens/s of the presets, and train_throughput_hf.py
# --quick runs a reduced grid (minutes fewer; the batch-256 / vocab-32k points stay).
# The machine, torch and GPU go to machine.txt. Exits non-zero if a benchmark fails.
set -euo pipefail

die() { echo "run_benchmarks: error: $*" >&2; exit 1; }
quick=0
for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --quick) quick=1 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=build-gpu/bin
[[ -x $bin/generate_bench ]] || die "no $bin/generate_bench: run scripts/gpu/build_and_test.sh first"
[[ -f .deps-prefix/env.sh ]] && . .deps-prefix/env.sh
out=build-gpu/bench
mkdir -p "$out"
# shellcheck disable=SC2317  # called by the EXIT trap
save() { [[ -n ${OUT:-} ]] && mkdir -p "$OUT" && cp -r "$out/." "$OUT/"; return 0; }
trap save EXIT
{
  date -u +%Y-%m-%dT%H:%MZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv,noheader || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true
} 2>&1 | tee "$out/machine.txt"

export COLLAPSE_BENCH_DEVICE=cuda PYTHONUNBUFFERED=1
status=0
bench() {  # NAME COMMAND...: console to NAME.txt, JSON to NAME.json
  local name=$1; shift
  echo "== $name: $*"
  "$@" --benchmark_out="$out/$name.json" --benchmark_out_format=json 2>&1 | tee "$out/$name.txt" \
    || { echo "run_benchmarks: $name FAILED"; status=1; }
}
python_baseline() {  # NAME COMMAND...
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out/$name.txt" || { echo "run_benchmarks: $name FAILED"; status=1; }
}

if ((quick)); then
  bench sampling "$bin/sampling_bench" --benchmark_filter='/(64|256)/(32768|131072)/'
  bench nll "$bin/nll_bench" --benchmark_filter='32768'
else
  bench sampling "$bin/sampling_bench"
  bench nll "$bin/nll_bench"
fi
bench ngram "$bin/ngram_bench"
COLLAPSE_BENCH_PRESET=small bench generate "$bin/generate_bench"
python_baseline generate_hf python3 benchmarks/generate_hf.py --preset small --batch 1 64 256 --new-tokens 128
if ((!quick)); then
  bench train "$bin/train_throughput_bench"
  python_baseline train_hf python3 benchmarks/train_throughput_hf.py --preset small --batch 16 --device cuda --steps 20
fi
echo "run_benchmarks: $( ((status == 0)) && echo "done" || echo "FAILURES above"), logs in $out"
exit "$status"
