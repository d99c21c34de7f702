#!/bin/sh
# Builds the Debian packages from the build folder (cpack -G DEB) and inspects them as dpkg sees
# them: names, versions, sections, dependencies, the runtime's shlibs, and which files each holds.
#   deb_packages.sh BUILD_DIR OUT_DIR VERSION LIBDIR
# Exits 77 (skipped) without the Debian tools the packages are built with.
set -eu
build_dir=$1
out=$2
version=$3
libdir=$4

for tool in cpack dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null 2>&1 || { echo "no $tool: skipped"; exit 77; }
done

rm -rf "$out"
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$out" >"$out.log" 2>&1 ||
  { cat "$out.log"; exit 1; }
arch=$(dpkg --print-architecture)
runtime="$out/libtp0_${version}_${arch}.deb"
dev="$out/libtp-dev_${version}_${arch}.deb"

failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
field() { dpkg-deb --field "$1" "$2"; }
expect_field() {  # package, field, expected value
  [ "$(field "$1" "$2")" = "$3" ] || fail "$(basename "$1"): $2 is '$(field "$1" "$2")', not '$3'"
}
# Every file a package holds, as absolute paths (symbolic links too).
contents() { dpkg-deb --contents "$1" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$'; }
expect_file() {  # package, path
  contents "$1" | grep -qx "$2" || fail "$(basename "$1") lacks $2"
}
expect_no_file() {  # package, pattern
  if contents "$1" | grep -q "$2"; then fail "$(basename "$1") holds $(contents "$1" | grep "$2")"; fi
}

for package in "$runtime" "$dev"; do
  [ -f "$package" ] || { echo "FAILED: no $package; cpack made:"; ls "$out"; exit 1; }
  echo "== dpkg-deb --info $(basename "$package")"
  dpkg-deb --info "$package"
  echo "== dpkg-deb --contents $(basename "$package")"
  dpkg-deb --contents "$package"
done

# libtp0: the runtime library, with what it needs at run time and nothing for developers.
expect_field "$runtime" Package libtp0
expect_field "$runtime" Version "$version"
expect_field "$runtime" Section libs
expect_field "$runtime" Architecture "$arch"
depends=$(field "$runtime" Depends)
for needed in libc6 libstdc++6 libhwloc; do
  echo "$depends" | grep -q "$needed" || fail "libtp0 Depends ($depends) lacks $needed"
done
expect_file "$runtime" "/usr/$libdir/libtp.so.$version"
expect_file "$runtime" "/usr/$libdir/libtp.so.0"
expect_no_file "$runtime" '/include/'
expect_no_file "$runtime" 'libtp\.so$'
expect_no_file "$runtime" 'libtp\.a$'
# The shlibs file, so that a package built against libtp depends on libtp0, and ldconfig run on
# installation and removal.
shlibs=$(dpkg-deb --info "$runtime" shlibs 2>&1) || true
[ "$shlibs" = "libtp 0 libtp0 (>= $version)" ] || fail "libtp0's shlibs: $shlibs"
for script in postinst postrm; do
  dpkg-deb --info "$runtime" $script 2>/dev/null | grep -q ldconfig || fail "libtp0's $script: no ldconfig"
done
dpkg-deb --info "$dev" shlibs >/dev/null 2>&1 && fail "libtp-dev has a shlibs file"

# libtp-dev: headers, the link-time library, pkg-config and CMake files, on top of libtp0.
expect_field "$dev" Package libtp-dev
expect_field "$dev" Version "$version"
expect_field "$dev" Section libdevel
depends=$(field "$dev" Depends)
echo "$depends" | grep -q "libtp0 (= $version)" || fail "libtp-dev Depends ($depends) lacks libtp0 (= $version)"
echo "$depends" | grep -q "libhwloc-dev" || fail "libtp-dev Depends ($depends) lacks libhwloc-dev"
for file in /usr/include/tp/tp.h /usr/include/tp/tp.hpp "/usr/$libdir/libtp.so" \
  "/usr/$libdir/libtp.a" "/usr/$libdir/pkgconfig/tp.pc" "/usr/$libdir/cmake/tp/tpConfig.cmake" \
  "/usr/$libdir/cmake/tp/tpConfigVersion.cmake" "/usr/$libdir/cmake/tp/tpTargets.cmake" \
  "/usr/$libdir/cmake/tp/tpStaticTargets.cmake"; do
  expect_file "$dev" "$file"
done
expect_no_file "$dev" 'libtp\.so\.'  # the runtime files are libtp0's alone

[ "$failures" -eq 0 ] || exit 1
echo "both packages as expected"
