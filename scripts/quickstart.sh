#!/usr/bin/env bash
# Usage: scripts/quickstart.sh [--help]
#
# The quickstart behind `make run`: the experiment experiments/quickstart.toml (SOTU, tiny model,
# 5 generations, two arms: fully synthetic vs 20% real data kept). `collapse run` prepares the
# data, runs every generation, writes RUN/metrics.csv and RUN/report.html, and prints the
# markdown summary. Rerunning continues an interrupted run and reuses finished generations.
#
# Environment (defaults in brackets; relative paths are from the repository root):
#   RUN     run folder                        [runs/quickstart]
#   BIN     the collapse command              [build/bin/collapse]
#   CONFIG  the experiment                    [experiments/quickstart.toml]
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
CONFIG=${CONFIG:-experiments/quickstart.toml}
[[ -x $BIN ]] || die "$BIN not found or not executable (build it first: make)"

echo "quickstart: $BIN run $CONFIG --out $RUN"
"$BIN" run "$CONFIG" --out "$RUN"
echo "quickstart: done"
echo "  open the report:   $RUN/report.html"
echo "  tidy metrics:      $RUN/metrics.csv"
echo "  samples of gen k:  $BIN show $RUN/<arm>/seed-0/gen-<k>/samples --limit 3"
