#!/usr/bin/env bash
# Usage: scripts/gpu/pack_debs.sh [--help] [--ccache] [DIR]
#
# Run HERE (Debian 12, with apt). Downloads into DIR (default .debs, git-ignored) the Debian
# .deb files that building collapse needs and a bare GPU machine lacks; the device tool carries
# DIR there and scripts/gpu/unpack_debs.sh unpacks them into a private prefix. Files already in
# DIR are kept. Prints the total size (it must stay well under the 64 MiB the device tool
# carries, together with anything else carried).
#
#   --ccache   also pack ccache (+ libhiredis0.14). Rarely worth it: the machine keeps build-gpu
#              between calls while it stays warm, and a fresh machine starts with an empty cache.
set -euo pipefail

die() { echo "pack_debs: error: $*" >&2; exit 1; }

# Runtime libraries come with their -dev packages. libsentencepiece0 on Debian 12 links
# protobuf-lite statically (`apt-cache depends libsentencepiece0`: only libc6, libgcc-s1,
# libstdc++6), so no libprotobuf-lite32. googletest (the sources libgtest-dev depends on) is
# left out: the static libgtest/libgmock and their CMake files are all the build uses.
# libpcre2-dev brings headers and links for all PCRE2 widths; only the 8-bit library is used.
# libssl3, libzstd1 and libpcre2-8-0 are usually on the machine already; they are packed anyway so that the
# libssl.so/libcrypto.so/libzstd.so/libpcre2-8.so links of the -dev packages always resolve inside the prefix.
packages=(libsentencepiece-dev libsentencepiece0
          libfmt-dev libfmt9 libcli11-dev libtomlplusplus-dev libtomlplusplus3 nlohmann-json3-dev
          libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
          libssl-dev libssl3 libzstd-dev libzstd1
          libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2)
dir=
for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --ccache) packages+=(ccache libhiredis0.14) ;;
    -*) die "unknown option '$arg' (see --help)" ;;
    *) [[ -z $dir ]] || die "only one DIR may be given"; dir=$arg ;;
  esac
done
command -v apt-get >/dev/null || die "apt-get not found: run this on the Debian machine, not the GPU one"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
dir=${dir:-.debs}
mkdir -p "$dir"

todo=()
for pkg in "${packages[@]}"; do
  compgen -G "$dir/${pkg}_*.deb" >/dev/null || todo+=("$pkg")
done
if (( ${#todo[@]} )); then
  echo "pack_debs: downloading ${todo[*]}"
  # apt-get download writes to the current folder; run it there in a subshell.
  # As root, apt would warn that its sandbox user cannot write here; it need not.
  sandbox=(); (( EUID == 0 )) && sandbox=(-o APT::Sandbox::User=root)
  (cd "$dir" && apt-get download -q "${sandbox[@]}" "${todo[@]}") || die "apt-get download failed (try: apt-get update)"
else
  echo "pack_debs: all ${#packages[@]} packages already in $dir"
fi

files=("$dir"/*.deb)
total=$(du -cb "${files[@]}" | tail -n1 | cut -f1)
echo "pack_debs: ${#files[@]} .deb files in $dir, $(numfmt --to=iec-i --suffix=B "$total") total"
(( total < 48 * 1024 * 1024 )) || die "$dir holds $total bytes: too much to carry (limit 64 MiB in all)"
