#!/usr/bin/env bash
# Usage: make_hf_tokenizer_fixtures.sh PYTHON OUT_DIR
# The ctest fixture behind tests/data/hf_tokenizer_test.cpp: runs hf_tokenizer_fixtures.py into
# OUT_DIR with GPT-2's real vocabulary from the corpus cache (data/fetch_corpora.sh gpt2-bpe).
# Where the Python reference libraries are missing it writes OUT_DIR/unavailable.txt and
# succeeds, so that the tests skip and say why instead of failing.
set -uo pipefail
python=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${COLLAPSE_CACHE_DIR:-$here/../../.cache}
rm -rf "$out"
mkdir -p "$out"
message=$("$python" "$here/hf_tokenizer_fixtures.py" "$out" --gpt2-dir "$cache/corpora/gpt2-bpe/package" 2>&1)
rc=$?
echo "$message"
if [[ $rc == 77 ]]; then
  echo "$message" >"$out/unavailable.txt"
  exit 0
fi
exit $rc
