#!/bin/sh
# Installs the Debian packages libtp builds and tests with, skipping those already present.
# Uses sudo when not run as root. Safe to run again.
set -eu
# libudev-dev: hwloc.pc lists -ludev for static links (pkg-config --static tp)
# python3: the Python consumer test (skipped without it)
# libtbb-dev, gnuplot-nox: the benchmarks' oneTBB peer and the report's chart (both optional)
# lld: icf_test links with --icf=all (skipped without it)
# librust-rayon-dev: the rayon peer of the benchmark report (built offline with cargo; optional)
# dpkg-dev, file: the Debian packages' dependencies (dpkg-shlibdeps; cpack finds the ELF files with
# file), for `cpack -G DEB` and its test
# locales: the locale sources the trace's decimal-comma test builds de_DE from (localedef)
packages="g++ cmake ninja-build pkg-config libboost-dev libhwloc-dev libudev-dev libgtest-dev libbenchmark-dev python3 libtbb-dev gnuplot-nox lld librust-rayon-dev dpkg-dev file locales"
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $package"
done
# cargo: the Rust consumer test (skipped without it). Any cargo will do, so a rustup toolchain
# already on the PATH counts; otherwise Debian's.
command -v cargo >/dev/null 2>&1 || missing="$missing cargo"
[ -z "$missing" ] && exit 0
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
echo "installing:$missing"
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
