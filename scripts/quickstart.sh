#!/usr/bin/env bash
# Usage: scripts/quickstart.sh [--help]
#
# The quickstart job behind `make run`: prepare the sotu corpus (tokenizer + token files),
# train a tiny generation-0 model on it, and evaluate it on the test split. Rerunning resumes:
# `prepare` reuses an identical dataset by itself and `train` continues from last.ckpt.
#
# Environment (defaults in brackets; relative paths are from the repository root):
#   RUN    run folder                        [runs/quickstart]
#   BIN    the collapse command              [build/bin/collapse]
#   VOCAB  tokenizer vocabulary size         [4096]
#   STEPS  training steps                    [600]
set -euo pipefail

die() { echo "quickstart: error: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN=${RUN:-runs/quickstart}
BIN=${BIN:-build/bin/collapse}
[[ -x $BIN ]] || die "$BIN not found or not executable (build it first: make)"

step() { echo "quickstart: $*"; "$@"; }

# prepare runs even when $RUN/data/manifest.json exists: it checks and reuses the dataset.
step "$BIN" prepare --corpus sotu --out "$RUN/data" --vocab-size "${VOCAB:-4096}"

resume=()
[[ -f $RUN/gen-0/last.ckpt ]] && resume=(--resume)
step "$BIN" train --data "$RUN/data" --out "$RUN/gen-0" --preset tiny --steps "${STEPS:-600}" \
  --device auto "${resume[@]}"

step "$BIN" eval --model "$RUN/gen-0" --data "$RUN/data" --split test

echo "quickstart: done"
echo "  dataset (tokenizer, token files): $RUN/data"
echo "  model and checkpoints:            $RUN/gen-0"
