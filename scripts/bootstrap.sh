#!/usr/bin/env bash
# Usage: scripts/bootstrap.sh [--help]
#
# Installs what building and testing collapse needs, skipping whatever is already there:
#   1. Debian packages (compilers, cmake, SentencePiece, fmt, CLI11, toml++, nlohmann-json,
#      GoogleTest, Google Benchmark, OpenSSL, zstd, PCRE2, utf8proc, node/npm, python3-venv). As root they are
#      installed with apt-get; otherwise the exact `sudo apt-get install ...` line is printed.
#   2. A usable torch: `python3 -c 'import torch'` or `.venv/bin/python -c 'import torch'`.
#      If neither works, .venv is created and "${COLLAPSE_TORCH_SPEC:-torch==2.13.0}" is
#      pip-installed into it. On a CUDA machine the PyPI build of that version has CUDA; set
#      COLLAPSE_TORCH_SPEC to pick another build (e.g. a different version or an index's wheel).
#   3. Python test helpers (numpy, safetensors, transformers, tokenizers, sentencepiece, nltk) for
#      that same python, without letting them change its torch. If they cannot be installed, a
#      warning is printed and the tests that need them skip.
#   4. The corpora of data/corpora.lock (data/fetch_corpora.sh).
# It is safe to run again: a second run only reports that everything is present.
#
# Environment: COLLAPSE_TORCH_SPEC (see above), COLLAPSE_TORCH_INDEX (a pip index URL for torch,
# e.g. https://download.pytorch.org/whl/cpu for a CPU build on a machine without the CUDA
# toolkit), COLLAPSE_CACHE_DIR (see data/fetch_corpora.sh).
set -euo pipefail

say() { echo "bootstrap: $*"; }
warn() { echo "bootstrap: warning: $*" >&2; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# --- 1. Debian packages --------------------------------------------------------------------
packages=(build-essential cmake ccache pkg-config libsentencepiece-dev libfmt-dev libcli11-dev
          libtomlplusplus-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
          libssl-dev libzstd-dev zstd libpcre2-dev libutf8proc-dev nodejs npm python3-venv)
missing=()
for pkg in "${packages[@]}"; do
  # node, npm and python may come from elsewhere (nvm, pyenv, ...): then the Debian ones are
  # not needed. Debian's python3 has `venv` without python3-venv but cannot create a venv
  # (no ensurepip), hence the second check.
  case $pkg in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    python3-venv)
      python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null && continue ;;
  esac
  [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] || missing+=("$pkg")
done

if (( ${#missing[@]} == 0 )); then
  say "Debian packages: all present"
elif (( EUID != 0 )); then
  echo "bootstrap: missing Debian packages; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
else
  say "installing Debian packages: ${missing[*]}"
  # Refresh the package lists only when one of the packages is unknown to them; retry once
  # after an update if the install fails anyway (stale lists point at deleted files).
  updated=false
  for pkg in "${missing[@]}"; do
    if [[ ! $(apt-cache policy "$pkg" 2>/dev/null) =~ Candidate:\ [^\(] ]]; then
      apt-get update -q
      updated=true
      break
    fi
  done
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }
  if ! install; then
    $updated && die "apt-get install failed for: ${missing[*]}"
    apt-get update -q
    install || die "apt-get install failed for: ${missing[*]}"
  fi
fi

# Chromium is optional: the browser test of the report (tests/experiment/experiment_run_test.cpp, ReportRendersInAHeadlessBrowser)
# renders a page in it headless, and skips, saying so, where it is missing.
if ! command -v chromium >/dev/null 2>&1; then
  if (( EUID == 0 )); then
    say "installing chromium (the browser test of the report)"
    chromium_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
    chromium_install || { apt-get update -q >/dev/null && chromium_install; } ||
      warn "chromium could not be installed: the browser test of the report will skip"
  else
    warn "chromium is not installed (and this is not root): the browser test of the report will skip"
  fi
fi

# --- 2. torch ------------------------------------------------------------------------------
# .venv first: cmake/FindTorchFromPython.cmake prefers it too, so both agree on one torch.
torch_version() { "$1" -c 'import torch; print(torch.__version__)' 2>/dev/null; }
python=
for candidate in "$root/.venv/bin/python" python3; do
  if [[ $candidate == python3 || -x $candidate ]] && version=$(torch_version "$candidate"); then
    python=$candidate
    say "torch $version: already importable by $python"
    break
  fi
done
if [[ -z $python ]]; then
  spec=${COLLAPSE_TORCH_SPEC:-torch==2.13.0}
  [[ -x .venv/bin/python ]] || { say "creating .venv"; python3 -m venv .venv || die "python3 -m venv .venv failed"; }
  # COLLAPSE_TORCH_INDEX (e.g. https://download.pytorch.org/whl/cpu) picks a package index for
  # torch: PyPI's Linux wheels are CUDA builds, whose CMake files need the CUDA toolkit.
  index=()
  [[ -n ${COLLAPSE_TORCH_INDEX:-} ]] && index=(--index-url "$COLLAPSE_TORCH_INDEX")
  say "installing $spec into .venv${COLLAPSE_TORCH_INDEX:+ from $COLLAPSE_TORCH_INDEX}"
  .venv/bin/pip install -q "${index[@]}" "$spec" || die "pip install $spec into .venv failed"
  python=$root/.venv/bin/python
  version=$(torch_version "$python") || die "torch installed but 'import torch' fails in .venv"
fi
torch=$version

# --- 3. Python test helpers ----------------------------------------------------------------
# transformers does not need torch to install, but a resolver may still try to change it:
# the constraint pins torch to the installed version, so pip fails instead of replacing it.
# Then the fallback installs transformers without dependencies plus its real dependencies.
# nltk is pinned: tests/score/self_bleu_test.cpp holds our self-BLEU to its sentence_bleu.
# tokenizers and sentencepiece serve tests/data/hf_tokenizer_fixtures.py, the tokenizer reference.
# scipy serves tests/score/logistic_regression_scipy.py, the detector's reference, and with
# statsmodels tests/report/statistics_scipy.py, the report statistics' reference. tensorboard
# serves tests/util/event_file_tensorboard.py: its EventAccumulator reads our event files.
nltk_spec=nltk==3.10.4
helpers_ok() {
  "$python" -c 'import numpy, scipy, statsmodels, safetensors, transformers, tokenizers, sentencepiece, nltk, tensorboard' >/dev/null 2>&1
}
if helpers_ok; then
  say "python test helpers (numpy, scipy, statsmodels, safetensors, transformers, tokenizers, sentencepiece, nltk, tensorboard): already present"
else
  say "installing python test helpers (numpy, scipy, statsmodels, safetensors, transformers, tokenizers, sentencepiece, $nltk_spec, tensorboard) for $python"
  pin=$(mktemp)
  trap 'rm -f "$pin"' EXIT
  echo "torch==$torch" >"$pin"
  pip=("$python" -m pip install -q)
  if ! "${pip[@]}" -c "$pin" transformers tokenizers sentencepiece safetensors numpy scipy statsmodels "$nltk_spec" tensorboard; then
    warn "plain install of the helpers failed or would change torch; retrying transformers with --no-deps"
    if "${pip[@]}" -c "$pin" huggingface-hub tokenizers sentencepiece safetensors regex pyyaml packaging \
        requests tqdm filelock numpy scipy statsmodels "$nltk_spec" tensorboard; then
      "${pip[@]}" --no-deps transformers || true
    fi
  fi
  after=$(torch_version "$python") || die "torch no longer imports after installing the helpers"
  [[ $after == "$torch" ]] || die "installing the helpers changed torch from $torch to $after"
  if ! helpers_ok; then
    # In CI (CI set, as .ci/run does) a reference test that cannot run is a failure: say so here,
    # at its cause, instead of a dozen test failures later.
    missing="numpy/scipy/statsmodels/safetensors/transformers/tokenizers/sentencepiece/nltk/tensorboard not importable by $python"
    [[ -n ${CI:-} ]] && die "$missing (CI is set: the reference tests must run)"
    warn "$missing; tests that need them will skip"
  fi
fi

# --- 4. corpora ----------------------------------------------------------------------------
"$root/data/fetch_corpora.sh"

info=$("$python" -c 'import sys, torch; print(sys.executable + ", torch " + torch.__version__ + " (" + ("CUDA " + torch.version.cuda if torch.version.cuda else "CPU only") + ")")') \
  || die "$python can no longer import torch"
say "ready: python $info; corpora in ${COLLAPSE_CACHE_DIR:-$root/.cache}/corpora"
