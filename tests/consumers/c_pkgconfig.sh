#!/bin/sh
# The C consumer through pkg-config, as a user's build would do it, against an installed tree:
#   1. shared: cc ... $(pkg-config --cflags --libs tp), run with the installed libtp.so;
#   2. static: cc ... $(pkg-config --static --cflags --libs tp) against a prefix that holds
#      libtp.a and no libtp.so, and check that the program does not need libtp.so.
# It also checks that the four versions agree: tp.pc's, the CMake project's (PROJECT_VERSION), the
# TP_VERSION_* macros and tp_version() (the last two inside quick_start.c).
# Usage: c_pkgconfig.sh SOURCE_DIR PREFIX STATIC_PREFIX WORK_DIR PROJECT_VERSION
set -eu
source_dir=$1 prefix=$2 static_prefix=$3 work=$4 project_version=$5
mkdir -p "$work"
cc=${CC:-cc}

version=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion tp)
if [ "$version" != "$project_version" ]; then
  echo "tp.pc says $version, the CMake project $project_version" >&2
  exit 1
fi
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tp)
echo "pkg-config --cflags --libs tp: $flags"
$cc -std=c11 -DEXPECTED_VERSION="\"$version\"" "$source_dir/quick_start.c" -o "$work/quick_start" \
  $flags -Wl,-rpath,"$prefix/lib"
"$work/quick_start"

static_flags=$(PKG_CONFIG_PATH="$static_prefix/lib/pkgconfig" pkg-config --static --cflags --libs tp)
echo "pkg-config --static --cflags --libs tp: $static_flags"
$cc -std=c11 -DEXPECTED_VERSION="\"$version\"" "$source_dir/quick_start.c" \
  -o "$work/quick_start_static" $static_flags
if readelf -d "$work/quick_start_static" | grep -q 'libtp\.so'; then
  echo "the static build still needs libtp.so" >&2
  exit 1
fi
"$work/quick_start_static"
