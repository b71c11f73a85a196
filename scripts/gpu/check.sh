#!/usr/bin/env bash
# Usage: scripts/gpu/check.sh [--help] [--cpu] [--build-dir DIR] [--no-compile] [--all-tests]
#                             [--skip STAGE[,STAGE...]] [--list-stages] OUTDIR
#
# The one command for the lent GPU machine (scripts/gpu/README.md): from a copy of the repository
# that carries .debs (and .cache/corpora), it checks everything in one go and writes the results
# to OUTDIR (and, when $OUT is set, to $OUT/<OUTDIR's name> too, unless OUTDIR is inside $OUT):
#   machine                 GPU, driver, torch, nvcc, cores, date: machine.txt, machine.json
#   deps                    unpack .debs into .deps-prefix (scripts/gpu/unpack_debs.sh)
#   configure, build        build-gpu/ with -DCOLLAPSE_CUDA=ON -DCOLLAPSE_CUDA_ARCHITECTURES=90,
#                           the torch of python3, every core; only the targets the stages below
#                           run (all targets with --all-tests); incremental on a rerun
#   gpu-tests               ctest -L gpu
#   all-tests               the whole ctest suite, with --all-tests only
#   bench-sampling          fused sampling kernel vs the LibTorch pipeline, batch 256 x vocab 32k
#   bench-nll               NLL kernel vs cross_entropy and log_softmax+gather, N 65536 x vocab
#                           32k; the chunked path over 10M tokens
#   bench-ngram             distinct-1..4 over 10M tokens, self-BLEU-4 of 10k documents
#   bench-train             train_throughput_bench, small preset, batch 64
#   baseline-train-eager    the same model in PyTorch eager (benchmarks/train_throughput_hf.py)
#   bench-generate          generate_bench, small preset, batch 256: eager, fixed, CUDA graph
#   baseline-generate-hf    transformers generate() on the same shape (benchmarks/generate_hf.py)
#   quickstart              scripts/quickstart.sh (experiments/quickstart.toml) on the GPU
#   baseline-train-compile  the training baseline under torch.compile (last: it compiles for
#                           a minute or more; --no-compile skips it)
# Each stage prints its elapsed time and has a time limit; a failing stage does not stop the
# ones after it, but a failed build skips those that need its programs. OUTDIR gets
# logs/<stage>.log, bench/ (benchmark JSON, baselines' JSON lines), quickstart/ (metrics.csv,
# report.html) and summary.md + summary.json (every stage's status, seconds and headline
# numbers), rewritten after every stage so a run cut off at the device's limit still reports;
# a rerun into the same OUTDIR replaces those (and nothing else there). Exit status: 0 when no
# stage failed.
#
# --cpu         check the script itself on a machine without a GPU, against an existing CPU
#               build (--build-dir, default build/): no unpack, no configure or build when the
#               build exists; tiny benchmark sizes on COLLAPSE_BENCH_DEVICE=cpu; bin/gpu_tests
#               run directly (every test skips without a device: no nested ctest, so this can
#               run as a ctest test itself); the quick start shrunk to seconds on a CPU; the
#               python baselines with .venv/bin/python or python3 where one imports torch and
#               transformers (else skipped), torch.compile with its trace-only "eager" backend;
#               OMP_NUM_THREADS=1 unless set. About a minute on 2 cores.
# --build-dir   the build folder (default build-gpu/, or build/ with --cpu)
# --no-compile  skip the torch.compile baseline
# --all-tests   build every target and run the whole ctest suite after the gpu tests
# --skip        skip these stages (e.g. --skip quickstart,baseline-train-compile on a rerun)
# --list-stages print the stage names and exit
#
# Environment: OUT (the folder the device tool brings back), CMAKE_ARGS (extra configure
# arguments, split on spaces).
set -euo pipefail

STAGES=(machine deps configure build gpu-tests all-tests bench-sampling bench-nll bench-ngram
        bench-train baseline-train-eager bench-generate baseline-generate-hf quickstart
        baseline-train-compile)
# Seconds a stage may run before it is killed (with everything it started). A hung kernel then
# costs minutes, not the whole device session.
declare -A LIMIT=([machine]=60 [deps]=120 [configure]=180 [build]=420 [gpu-tests]=240
                  [all-tests]=1200 [bench-sampling]=120 [bench-nll]=180 [bench-ngram]=120
                  [bench-train]=120 [baseline-train-eager]=180 [bench-generate]=180
                  [baseline-generate-hf]=180 [quickstart]=240 [baseline-train-compile]=300)
# The programs the stages run (the CMake target cuda_glue: the command, the GPU tests, the
# benchmarks); the build makes only these unless --all-tests.
TARGETS=(cuda_glue)

die() { echo "check: error: $*" >&2; exit 1; }

# --- One stage, run in its own process ----------------------------------------------------
# The parent runs `timeout LIMIT bash check.sh --stage NAME` so that each stage has errexit in
# force (a function called from an `if` would silently lose it) and can be killed with all its
# children. The configuration comes from the CHECK_* variables the parent exports.

gpu_mode() { [[ $CHECK_MODE == gpu ]]; }

# note TEXT: a one-line remark for this stage's row in the summary.
note() { echo "$*" >"$CHECK_OUT/logs/$CHECK_STAGE.note"; }

stage_machine() {
  local py=${CHECK_PY:-python3}
  "$py" - "$CHECK_OUT/machine" "$CHECK_MODE" <<'EOF'
import json, os, platform, shutil, subprocess, sys, datetime
out, mode = sys.argv[1], sys.argv[2]
def run(*cmd):
    if not shutil.which(cmd[0]):
        return None
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None
m = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
     "host": f"{platform.system()} {platform.release()} {platform.machine()}",
     "cores": os.cpu_count()}
with open("/proc/meminfo") as f:
    m["memory_GiB"] = round(int(f.readline().split()[1]) / 2**20)
smi = run("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader")
m["nvidia_smi"] = smi.splitlines()[0] if smi else "not found"
nvcc = run("nvcc", "--version")
m["nvcc"] = nvcc.splitlines()[-1] if nvcc else "not found"
cmake = run("cmake", "--version")
m["cmake"] = cmake.splitlines()[0] if cmake else "not found"
m["python"] = f"{sys.executable} {platform.python_version()}"
cuda = False
try:
    import torch
    m["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda})"
    cuda = torch.cuda.is_available()
    if cuda:
        p = torch.cuda.get_device_properties(0)
        m["gpu"] = f"{p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs"
        if getattr(p, "L2_cache_size", None):
            m["gpu_L2_MiB"] = round(p.L2_cache_size / 2**20, 1)
        clock, width = getattr(p, "memory_clock_rate", None), getattr(p, "memory_bus_width", None)
        if clock and width:  # kHz and bits: double data rate
            m["gpu_theoretical_bandwidth_GBps"] = round(2 * clock * 1e3 * width / 8 / 1e9)
except Exception as e:
    m["torch"] = f"not importable ({type(e).__name__}: {e})"
try:
    import transformers
    m["transformers"] = transformers.__version__
except Exception:
    m["transformers"] = "not importable"
m["torch_sees_cuda"] = cuda
text = "".join(f"{k}: {v}\n" for k, v in m.items())
print(text, end="")
with open(out + ".txt", "w") as f:
    f.write(text)
with open(out + ".json", "w") as f:
    json.dump(m, f, indent=1)
if mode == "gpu" and not cuda:
    sys.exit("check: error: torch sees no CUDA device: the GPU stages below will fail")
EOF
}

stage_deps() {
  scripts/gpu/unpack_debs.sh .debs .deps-prefix
}

stage_configure() {
  local args=(-S . -B "$CHECK_BUILD" -DCMAKE_BUILD_TYPE=Release) py=${CHECK_PY:-python3} torch_dir
  if gpu_mode; then
    command -v nvcc >/dev/null || die "nvcc not found (looked on PATH and in /usr/local/cuda/bin)"
    torch_dir=$("$py" -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))') \
      || die "$py cannot import torch"
    args+=(-DCOLLAPSE_CUDA=ON -DCOLLAPSE_CUDA_ARCHITECTURES=90 -DTorch_DIR="$torch_dir")
  fi
  local out
  out=$(mktemp)
  # shellcheck disable=SC2064  # the path is fixed now
  trap "rm -f '$out'" EXIT
  # CMAKE_ARGS is split on spaces on purpose, like make's.
  # shellcheck disable=SC2086
  cmake "${args[@]}" ${CMAKE_ARGS:-} 2>&1 | tee "$out"
  if gpu_mode && ! grep -q 'torch-cuda-glue=ON' "$out"; then
    die "configured without the CUDA glue (torch without CUDA, or no kernels): nothing would run on the GPU"
  fi
}

stage_build() {
  if [[ $CHECK_ALL_TESTS == 1 ]]; then
    cmake --build "$CHECK_BUILD" -j "$(nproc)"
  else
    cmake --build "$CHECK_BUILD" -j "$(nproc)" --target "${TARGETS[@]}"
  fi
}

stage_gpu_tests() {
  local log skipped
  log=$(mktemp)
  # shellcheck disable=SC2064  # the path is fixed now
  trap "rm -f '$log'" EXIT
  if gpu_mode; then
    local status=0
    ctest --test-dir "$CHECK_BUILD" -L gpu --output-on-failure 2>&1 | tee "$log" || status=$?
    cp "$CHECK_BUILD"/Testing/Temporary/LastTest*.log "$CHECK_OUT/logs/" 2>/dev/null || true
    skipped=$(grep -c '(Skipped)' "$log" || true)
    note "$(grep -m1 'tests passed' "$log" || echo 'no ctest summary'); $skipped skipped"
    return "$status"
  fi
  # CPU mode: the program itself, not ctest: this may run inside ctest, where a nested ctest on
  # the same build would rerun the outer run's fixtures under its tests.
  [[ -x $CHECK_BUILD/bin/gpu_tests ]] || die "no $CHECK_BUILD/bin/gpu_tests (build the gpu_tests target)"
  "$CHECK_BUILD/bin/gpu_tests" 2>&1 | tee "$log"
  skipped=$(grep -Eo 'SKIPPED \] [0-9]+ test' "$log" | grep -Eo '[0-9]+' || echo 0)
  note "bin/gpu_tests run directly: $skipped tests skipped (no CUDA device)"
}

stage_all_tests() {
  local status=0
  ctest --test-dir "$CHECK_BUILD" --output-on-failure -j "$(nproc)" || status=$?
  cp "$CHECK_BUILD"/Testing/Temporary/LastTest*.log "$CHECK_OUT/logs/" 2>/dev/null || true
  return "$status"
}

# run_bench NAME PROGRAM FILTER MIN_TIME: one Google Benchmark program at the sizes of FILTER;
# console to the stage log, JSON to bench/NAME.json. Fails when a benchmark reported an error
# (SkipWithError leaves the exit status 0) or the filter matched nothing.
run_bench() {
  local name=$1 program=$CHECK_BUILD/bin/$2 filter=$3 min_time=$4
  local json=$CHECK_OUT/bench/$name.json
  [[ -x $program ]] || die "no $program (build the $2 target)"
  rm -f "$json"
  echo "check: COLLAPSE_BENCH_DEVICE=$COLLAPSE_BENCH_DEVICE $2 --benchmark_filter='$filter' --benchmark_min_time=$min_time"
  "$program" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
    --benchmark_out="$json" --benchmark_out_format=json
  [[ -s $json ]] || die "$2 wrote no $json"
  grep -q '"run_name"' "$json" || die "--benchmark_filter='$filter' matched no benchmark of $2"
  if grep -q '"error_occurred": true' "$json"; then
    grep '"error_message"' "$json" | sed 's/^ */  /' >&2
    die "$2: a benchmark reported an error (above)"
  fi
}

# run_python NAME SCRIPT ARGS...: a python baseline; its JSON lines (stdout) to bench/NAME.jsonl.
run_python() {
  local name=$1 jsonl=$CHECK_OUT/bench/$1.jsonl
  shift
  [[ -n $CHECK_PY ]] || die "no python that imports torch and transformers (.venv/bin/python or python3)"
  echo "check: $CHECK_PY $*"
  "$CHECK_PY" "$@" | tee "$jsonl"
  grep -q '^{' "$jsonl" || die "$1 printed no JSON line"
}

bench_device() { gpu_mode && echo cuda || echo cpu; }

stage_bench_sampling() {
  COLLAPSE_BENCH_DEVICE=$(bench_device)
  export COLLAPSE_BENCH_DEVICE
  if gpu_mode; then
    run_bench sampling sampling_bench '/256/32768/' 0.2   # the target: >= 5x LibTorch, >= 60% of HBM
  else
    run_bench sampling sampling_bench '/1/8192/' 0.01
  fi
}

stage_bench_nll() {
  COLLAPSE_BENCH_DEVICE=$(bench_device)
  export COLLAPSE_BENCH_DEVICE
  if gpu_mode; then  # targets: >= 80% of HBM, >= 2x LibTorch on bf16; chunked peak < 2 GiB
    run_bench nll nll_bench 'logits_to_nll/method:[0-2]/vocab:32768/|chunked_corpus' 0.1
  else
    run_bench nll nll_bench 'logits_to_nll/method:[0-2]/vocab:8192/bf16:0' 0.01
  fi
}

stage_bench_ngram() {
  COLLAPSE_BENCH_DEVICE=$(bench_device)
  export COLLAPSE_BENCH_DEVICE
  if gpu_mode; then  # targets: distinct over 10M tokens < 100 ms; self-BLEU of 10k documents
    run_bench ngram ngram_bench 'Distinct1to4/10000000|SelfBleu/10000/' 0.1
  else
    run_bench ngram ngram_bench 'SelfBleu/1000/' 0.01
  fi
}

stage_bench_train() {
  COLLAPSE_BENCH_DEVICE=$(bench_device)
  export COLLAPSE_BENCH_DEVICE
  if gpu_mode; then
    run_bench train train_throughput_bench 'train_steps/small/64' 0.5
  else
    run_bench train train_throughput_bench 'train_steps/tiny' 0.01
  fi
}

stage_baseline_train_eager() {
  if gpu_mode; then
    run_python train-eager benchmarks/train_throughput_hf.py --preset small --batch 64 --device cuda --steps 20
  else
    run_python train-eager benchmarks/train_throughput_hf.py --preset tiny --batch 16 --device cpu --steps 2
  fi
}

stage_baseline_train_compile() {
  if gpu_mode; then
    run_python train-compile benchmarks/train_throughput_hf.py --preset small --batch 64 --device cuda \
      --steps 20 --compile
  else  # inductor would compile for minutes on 2 cores; "eager" traces the same path in seconds
    run_python train-compile benchmarks/train_throughput_hf.py --preset tiny --batch 16 --device cpu \
      --steps 2 --compile --compile-backend eager
  fi
}

stage_bench_generate() {
  COLLAPSE_BENCH_DEVICE=$(bench_device)
  export COLLAPSE_BENCH_DEVICE
  if gpu_mode; then  # the target: >= 10x HF generate() at batch 256; graphs vs fixed shapes
    export COLLAPSE_BENCH_PRESET=small
    run_bench generate generate_bench 'generate/batch:256/decode:[123]' 0.1
  else
    export COLLAPSE_BENCH_PRESET=tiny
    run_bench generate generate_bench 'generate/batch:1/decode:[12]' 0.01
  fi
}

stage_baseline_generate_hf() {
  if gpu_mode; then
    run_python generate-hf benchmarks/generate_hf.py --preset small --batch 256 --new-tokens 128 \
      --repeats 2 --device cuda
  else  # generate_bench's tiny preset: 127 new tokens (its context is 128)
    run_python generate-hf benchmarks/generate_hf.py --preset tiny --batch 1 --new-tokens 127 \
      --repeats 1 --device cpu
  fi
}

# shrink_quickstart OUT: experiments/quickstart.toml cut to seconds on a CPU (2 generations,
# 6 steps, vocab 512, small valid/test splits); everything else, the arms included, unchanged.
# Fails when a key it rewrites is no longer there exactly once, rather than run the full size.
shrink_quickstart() {
  local out=$1 src=experiments/quickstart.toml key
  local -a edits=(
    's/^generations = .*/generations = 2/'
    's/^device = .*/device = "cpu"/'
    's/^vocab_size = .*/vocab_size = 512\nvalid_fraction = 0.02\ntest_fraction = 0.02/'
    's/^steps = .*/steps = 6/'
    's/^warmup_steps = .*/warmup_steps = 2/'
    's/^eval_every = .*/eval_every = 6/'
    's/^self_bleu_hypotheses = .*/self_bleu_hypotheses = 10/'
    's/^self_bleu_references = .*/self_bleu_references = 10/')
  for key in generations device vocab_size steps warmup_steps eval_every self_bleu_hypotheses \
             self_bleu_references; do
    [[ $(grep -c "^$key = " "$src") == 1 ]] || die "$src: expected one '$key = ' line to shrink for CPU mode"
  done
  ! grep -Eq '^(valid|test)_fraction = ' "$src" || die "$src now sets valid/test_fraction: update shrink_quickstart"
  local args=()
  for key in "${edits[@]}"; do args+=(-e "$key"); done
  sed "${args[@]}" "$src" >"$out"
}

stage_quickstart() {
  local run config=experiments/quickstart.toml want=cpu
  # Beside the build, not in OUTDIR: the run folder holds checkpoints the device tool should not
  # carry back; one per OUTDIR so two checks on one build do not share it.
  run=$CHECK_BUILD/check-quickstart-$(basename "$CHECK_OUT")
  gpu_mode && want=cuda
  if ! gpu_mode; then
    config=$CHECK_OUT/quickstart/quickstart-cpu.toml
    mkdir -p "$(dirname "$config")"
    shrink_quickstart "$config"
  fi
  rm -rf "$run"  # a fresh run: quickstart.sh would otherwise reuse finished generations
  RUN=$run BIN=$CHECK_BUILD/bin/collapse CONFIG=$config scripts/quickstart.sh
  # device = "auto" in experiments/quickstart.toml: prove the run used the GPU.
  local provenance
  provenance=$(find "$run" -name provenance.json -print -quit)
  [[ -n $provenance ]] || die "the quick start left no provenance.json under $run"
  grep -q "\"device\": \"$want" "$provenance" \
    || die "the quick start ran on $(grep -o '"device": "[^"]*"' "$provenance"), not $want"
  mkdir -p "$CHECK_OUT/quickstart"
  cp "$run/metrics.csv" "$run/report.html" "$CHECK_OUT/quickstart/"
  note "run folder $run; device $want"
}

run_one_stage() {
  local name=$1
  [[ -n ${CHECK_OUT:-} && -n ${CHECK_MODE:-} ]] || die "--stage is internal to check.sh"
  export CHECK_STAGE=$name
  # The unpacked libraries, for every stage after deps.
  # shellcheck source=/dev/null
  if gpu_mode && [[ -f .deps-prefix/env.sh ]]; then . .deps-prefix/env.sh >/dev/null; fi
  "stage_${name//-/_}"
}

if [[ ${1:-} == --stage ]]; then
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  run_one_stage "${2:?}"
  exit 0
fi

# --- The whole check -------------------------------------------------------------------------

mode=gpu build_dir="" no_compile=0 all_tests=0 outdir="" skip=""
args=("$@")
while (($#)); do
  case $1 in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --cpu) mode=cpu ;;
    --build-dir) [[ $# -ge 2 ]] || die "--build-dir needs a folder"; build_dir=$2; shift ;;
    --build-dir=*) build_dir=${1#*=} ;;
    --no-compile) no_compile=1 ;;
    --all-tests) all_tests=1 ;;
    --skip) [[ $# -ge 2 ]] || die "--skip needs stage names"; skip+=" ${2//,/ }"; shift ;;
    --skip=*) skip+=" $(tr , ' ' <<<"${1#*=}")" ;;
    --list-stages) printf '%s\n' "${STAGES[@]}"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z $outdir ]] || die "one OUTDIR only (see --help)"; outdir=$1 ;;
  esac
  shift
done
[[ -n $outdir ]] || die "missing OUTDIR (see --help)"
for s in $skip; do
  [[ " ${STAGES[*]} " == *" $s "* ]] || die "--skip: no stage '$s' (see --list-stages)"
done

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$self")/../.." && pwd)
outdir=$(realpath -m "$outdir")
if [[ -n $build_dir ]]; then
  build_dir=$(realpath -m "$build_dir")
elif [[ $mode == gpu ]]; then
  build_dir=$root/build-gpu
else
  build_dir=$root/build
fi
cd "$root"
command -v python3 >/dev/null || die "python3 not found (the summary needs it)"
command -v timeout >/dev/null || die "timeout (coreutils) not found"
# CUDA images often keep nvcc outside PATH.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

# find_python: the first of .venv/bin/python and python3 that imports torch and transformers.
find_python() {
  local py
  for py in "$root/.venv/bin/python" python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import torch, transformers' 2>/dev/null; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}

# An existing build: configured to the end (a failed configure leaves a cache but no build files).
existing_build=0
if [[ $mode == cpu && -f $build_dir/CMakeCache.txt &&
      ( -f $build_dir/Makefile || -f $build_dir/build.ninja ) ]]; then
  existing_build=1
fi
# A rerun into the same OUTDIR starts clean: no log or number of an earlier run survives in it.
rm -rf "$outdir/logs" "$outdir/bench" "$outdir/quickstart" "$outdir"/machine.{txt,json} \
  "$outdir"/summary.{md,json} "$outdir/stages.tsv"
mkdir -p "$outdir/logs" "$outdir/bench"
: >"$outdir/stages.tsv"
export CHECK_MODE=$mode CHECK_BUILD=$build_dir CHECK_OUT=$outdir CHECK_ALL_TESTS=$all_tests
# CPU mode checks the script, not the speed: one torch thread (unless OMP_NUM_THREADS says
# otherwise), as a ctest test has, so a machine busy with builds does not stretch the quick
# start from seconds to minutes (two spinning OpenMP threads on two busy cores).
[[ $mode == cpu ]] && export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
CHECK_PY=$(find_python || true)
export CHECK_PY PYTHONUNBUFFERED=1
command_line="scripts/gpu/check.sh ${args[*]}"
started=$(date +%s.%N)
declare -A STATUS=()

seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# skip_reason NAME: prints why stage NAME does not run and succeeds, or fails when it runs.
skip_reason() {
  local name=$1
  [[ " $skip " == *" $name "* ]] && { echo "--skip"; return 0; }
  case $name in
    deps) [[ $mode == cpu ]] && { echo "CPU mode: the machine's own libraries"; return 0; } ;;
    configure|build)
      ((existing_build)) && { echo "CPU mode: the existing build in $build_dir"; return 0; }
      [[ $name == build && ${STATUS[configure]:-} == failed ]] && { echo "configure failed"; return 0; } ;;
    all-tests)
      [[ $mode == cpu ]] && { echo "CPU mode runs inside ctest: run ctest yourself"; return 0; }
      ((all_tests)) || { echo "not asked for (--all-tests)"; return 0; } ;;
    baseline-train-compile)
      ((no_compile)) && { echo "--no-compile"; return 0; } ;;
  esac
  case $name in
    gpu-tests|all-tests|bench-*|quickstart)
      if [[ ${STATUS[build]:-} == failed || ${STATUS[configure]:-} == failed ]]; then
        echo "the build failed: no programs to run"
        return 0
      fi ;;
  esac
  if [[ $name == baseline-* && -z $CHECK_PY && $mode == cpu ]]; then
    echo "no python that imports torch and transformers (.venv/bin/python or python3)"
    return 0
  fi
  return 1
}

# publish: the summary from what has run so far, copied to $OUT (the device tool brings $OUT
# back even when the command is killed at its time limit, so this happens after every stage).
publish() {
  python3 "$root/scripts/gpu/check_summary.py" "$outdir" --mode "$mode" --stages "${STAGES[*]}" \
    --seconds "$(seconds_since "$started")" --command "$command_line" \
    || echo "check: warning: the summary could not be written" >&2
  if [[ -n ${OUT:-} ]]; then
    local out
    out=$(realpath -m "$OUT")
    if [[ $outdir != "$out" && $outdir != "$out"/* ]]; then
      mkdir -p "$out/$(basename "$outdir")" && cp -r "$outdir/." "$out/$(basename "$outdir")/"
    fi
  fi
}

# record NAME STATUS SECONDS NOTE: one line of stages.tsv (tabs and newlines in NOTE flattened).
record() {
  local gpu_only=0
  [[ $1 == deps ]] && gpu_only=1
  STATUS[$1]=$2
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$gpu_only" "$(tr '\t\n' '  ' <<<"$4" | sed 's/ *$//')" \
    >>"$outdir/stages.tsv"
}

run_stage() {
  local name=$1 reason limit start rc seconds status note=""
  if reason=$(skip_reason "$name"); then
    echo "check: [$name] skipped: $reason"
    record "$name" skipped 0 "$reason"
    publish
    return 0
  fi
  limit=${LIMIT[$name]}
  # A whole CPU build on 2 cores takes far longer than a GPU machine's.
  [[ $mode == cpu && ($name == configure || $name == build) ]] && limit=7200
  echo "check: [$name] starts (limit ${limit} s, log logs/$name.log)"
  start=$(date +%s.%N)
  set +e
  timeout -k 10 "$limit" bash "$self" --stage "$name" </dev/null 2>&1 | tee "$outdir/logs/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  seconds=$(seconds_since "$start")
  status=ok
  if ((rc != 0)); then
    status=failed
    note="exit status $rc"
    ((rc == 124 || rc == 137)) && note="killed at its limit of ${limit} s"
    # The stage's own one-line error, else the first line that looks like the cause.
    local cause
    cause=$(grep -m1 '^check: error:' "$outdir/logs/$name.log" \
            || grep -m1 -E 'error:|Error|FAILED' "$outdir/logs/$name.log" || true)
    cause=${cause#"${cause%%[![:space:]]*}"}
    [[ -n $cause ]] && note+="; ${cause:0:200}"
  fi
  [[ -f $outdir/logs/$name.note ]] && note="$(<"$outdir/logs/$name.note")${note:+; $note}"
  echo "check: [$name] $status in $seconds s${note:+ ($note)}"
  record "$name" "$status" "$seconds" "$note"
  publish
}

echo "check: $mode mode, build $build_dir, results $outdir, python ${CHECK_PY:-none}"
for stage in "${STAGES[@]}"; do
  run_stage "$stage"
done
failed=()
for stage in "${STAGES[@]}"; do
  [[ ${STATUS[$stage]:-} == failed ]] && failed+=("$stage")
done
echo "check: done in $(seconds_since "$started") s: $( ((${#failed[@]} == 0)) && echo "every stage passed" \
  || echo "FAILED: ${failed[*]}"); summary in $outdir/summary.md"
((${#failed[@]} == 0))
