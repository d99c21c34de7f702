#!/bin/sh
# The Rust consumer: examples/rust (no dependencies, offline) built against the installed libtp
# found through pkg-config; runs the seed's ported integration test and example. Exits 77
# (reported by ctest as skipped, never as passed) where cargo is not installed.
# Usage: rust_consumer.sh CRATE_DIR PREFIX TARGET_DIR
set -eu
crate=$1 prefix=$2 target=$3
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: skipping the Rust consumer"
  exit 77
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig" CARGO_TARGET_DIR="$target"
cd "$crate"
cargo test --offline --quiet
cargo run --offline --quiet --example basic
