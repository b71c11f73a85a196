#!/usr/bin/env bash
# Usage: make_hf_tokenizer_fixtures.sh PYTHON OUT_DIR
# The ctest fixture behind tests/data/hf_tokenizer_test.cpp: runs hf_tokenizer_fixtures.py into
# OUT_DIR with GPT-2's real vocabulary from the corpus cache (data/fetch_corpora.sh gpt2-bpe).
# Where the Python reference libraries are missing the tests skip (support/reference_fixture.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${COLLAPSE_CACHE_DIR:-$here/../../.cache}
exec "$here/../support/reference_fixture.sh" "$1" "$2" "$here/hf_tokenizer_fixtures.py" \
  --gpt2-dir "$cache/corpora/gpt2-bpe/package"
