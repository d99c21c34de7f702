#!/bin/sh
# The C++ consumer: a separate CMake project that finds the installed libtp with
# find_package(tp CONFIG REQUIRED), builds against tp::tp and tp::tp_static, and runs both.
# Usage: cmake_consumer.sh SOURCE_DIR PREFIX WORK_DIR
set -eu
source_dir=$1 prefix=$2 work=$3
rm -rf "$work"
cmake -S "$source_dir/cmake" -B "$work" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_RPATH="$prefix/lib"
cmake --build "$work"
"$work/app"
"$work/app_static"
