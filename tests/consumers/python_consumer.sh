#!/bin/sh
# The Python consumer: examples/python/tp.py over the installed libtp.so. Exits 77 (skipped) where
# python3 is not installed.
# Usage: python_consumer.sh SOURCE_DIR PREFIX
set -eu
source_dir=$1 prefix=$2
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: skipping the Python consumer"
  exit 77
fi
exec python3 "$source_dir/tests/consumers/python_test.py" "$prefix/lib/libtp.so" \
  "$source_dir/examples/python"
