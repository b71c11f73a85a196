#!/usr/bin/env bash
# Usage: scripts/gpu/unpack_debs.sh [--help] [--all] [DIR] [PREFIX]
#
# Run on the GPU machine (no apt, no registry). Unpacks every .deb in DIR (default .debs, made
# by scripts/gpu/pack_debs.sh) with `dpkg -x` into PREFIX (default .deps-prefix), never into /.
# Then writes PREFIX/env.sh, which puts PREFIX first on CMAKE_PREFIX_PATH, CPATH, LIBRARY_PATH,
# LD_LIBRARY_PATH and PKG_CONFIG_PATH, and prints it. Use it with: . PREFIX/env.sh
#
# libssl3, libzstd1 and libpcre2-8-0 are left out when the machine already has their libraries (the -dev
# links then point at the machine's copy): on LD_LIBRARY_PATH they would shadow the machine's
# own OpenSSL/zstd/PCRE2 for every program, python included. --all unpacks them regardless.
# PREFIX is rebuilt only when the .deb files or options change.
set -euo pipefail

die() { echo "unpack_debs: error: $*" >&2; exit 1; }

all=false
args=()
for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --all) all=true ;;
    -*) die "unknown option '$arg' (see --help)" ;;
    *) args+=("$arg") ;;
  esac
done
(( ${#args[@]} <= 2 )) || die "expected at most DIR and PREFIX (see --help)"
dir=${args[0]:-.debs}
prefix=$(realpath -m "${args[1]:-.deps-prefix}")
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (it is needed for dpkg -x)"
debs=("$dir"/*.deb)
[[ -f ${debs[0]} ]] || die "no .deb files in '$dir' (make them with scripts/gpu/pack_debs.sh and carry them)"

arch=x86_64-linux-gnu
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
# The machine's x86-64 libraries, as "soname path" lines (empty if ldconfig is missing).
system_libs=$("$ldconfig" -p 2>/dev/null | awk '$2 ~ /x86-64/ {print $1, $NF}' || true)
has_lib() { awk -v n="$1" '$1 == n {found = 1} END {exit !found}' <<<"$system_libs"; }

stamp="all=$all ${debs[*]##*/}"
if [[ -f $prefix/.stamp && $(<"$prefix/.stamp") == "$stamp" && -f $prefix/env.sh ]]; then
  echo "unpack_debs: $prefix is up to date" >&2
  cat "$prefix/env.sh"
  exit 0
fi

# Build in a staging folder next to PREFIX and rename it into place, so an interrupted run
# never leaves a half-filled prefix behind that looks complete.
mkdir -p "$(dirname "$prefix")"
stage=$(mktemp -d "$prefix.tmp.XXXXXX")
trap 'rm -rf "$stage"' EXIT
unpacked=0
for deb in "${debs[@]}"; do
  pkg=$(dpkg-deb -f "$deb" Package)
  if [[ $pkg == libssl3 || $pkg == libzstd1 || $pkg == libpcre2-8-0 ]] && ! $all; then
    # Sonames from the package's shlibs file, e.g. "libcrypto 3 ..." -> libcrypto.so.3.
    sonames=$(dpkg-deb -I "$deb" shlibs 2>/dev/null | awk 'NF >= 2 && $1 !~ /:$/ {print $1 ".so." $2}')
    missing=false
    for so in $sonames; do has_lib "$so" || missing=true; done
    if [[ -n $sonames ]] && ! $missing; then
      echo "unpack_debs: $pkg: using the machine's ${sonames//$'\n'/ }" >&2
      continue
    fi
  fi
  dpkg -x "$deb" "$stage"
  unpacked=$((unpacked + 1))
done
# libgtest-dev links /usr/src/gtest to the googletest sources, which are not packed.
rm -f "$stage/usr/src/gtest"

libdir=$stage/usr/lib/$arch
# Absolute links (to /usr/...) would escape the prefix: make them relative inside it.
while IFS= read -r link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m -s --relative-to="$(dirname "$link")" "$stage$target")" "$link"
done < <(find "$stage" -type l -lname '/*')
# Development links left dangling by a runtime package we skipped point at the machine's copy.
while IFS= read -r link; do
  sys=$(awk -v n="$(basename "$link")." 'index($1, n) == 1 {print $2; exit}' <<<"$system_libs")
  [[ -n $sys ]] && ln -sfn "$sys" "$link"
done < <(find "$libdir" -maxdepth 1 -xtype l -name 'lib*.so')
# pkg-config files say prefix=/usr (some spell out /usr/include too): point them at PREFIX.
find "$stage" -name '*.pc' -path '*/pkgconfig/*' \
  -exec sed -i -E "s#^([A-Za-z_]+)=/usr(/|\$)#\\1=$prefix/usr\\2#" {} +

p=$prefix
cat >"$stage/env.sh" <<EOF
# Written by scripts/gpu/unpack_debs.sh. Source it: . $p/env.sh
if [ "\${COLLAPSE_DEPS_PREFIX:-}" != "$p" ]; then
  export COLLAPSE_DEPS_PREFIX="$p"
  export CMAKE_PREFIX_PATH="$p/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
  export CPATH="$p/usr/include:$p/usr/include/$arch\${CPATH:+:\$CPATH}"
  export LIBRARY_PATH="$p/usr/lib/$arch\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
  export LD_LIBRARY_PATH="$p/usr/lib/$arch\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
  export PKG_CONFIG_PATH="$p/usr/lib/$arch/pkgconfig:$p/usr/share/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}"
  if [ -d "$p/usr/bin" ]; then export PATH="$p/usr/bin:\$PATH"; fi
fi
EOF
echo "$stamp" >"$stage/.stamp"

rm -rf "$prefix"
mv "$stage" "$prefix"
trap - EXIT
echo "unpack_debs: unpacked $unpacked of ${#debs[@]} .deb files into $prefix" >&2
cat "$prefix/env.sh"
