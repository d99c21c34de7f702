# Debian packages, built from an ordinary build folder with `cpack -G DEB`:
#   libtp0     the runtime: libtp.so.0 -> libtp.so.0.MINOR.PATCH (install component `runtime`), with
#              its Depends computed from the library's own dependencies (dpkg-shlibdeps) and a
#              shlibs file, so that packages linked against it depend on it in turn;
#   libtp-dev  what a developer needs: headers, libtp.so, libtp.a, tp.pc and the CMake package
#              (components `shared`, `static`, `development`), depending on libtp0 of the same
#              version and on libhwloc-dev (tp.pc's Requires.private, and libtp.a's link line).
# Files go under /usr, in the folders the build was configured with (GNUInstallDirs).
set(CPACK_PACKAGE_NAME tp)
set(CPACK_PACKAGE_VENDOR "libtp")
set(CPACK_PACKAGE_CONTACT "libtp maintainers <libtp@users.noreply.github.com>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL runtime shared static development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # name_version_arch.deb
# A shlibs file for each package that holds a shared library (libtp0 alone: libtp-dev's libtp.so
# is a link), so that a package built against libtp depends on libtp0 of at least this version;
# CPack adds the ldconfig calls to that package's postinst and postrm.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libtp0)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIB_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_LIB_DESCRIPTION
    "The runtime library, libtp.so.0. libtp runs jobs on worker threads that steal work\nfrom each other: fork-join, groups, parallel loops, serial queues and priority\nlevels, behind a small C ABI (tp_pool_*).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libtp-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libtp0 (= ${PROJECT_VERSION}), libhwloc-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "The development files: headers (tp/tp.h, the C++ wrapper tp/tp.hpp), libtp.so,\nthe static libtp.a, tp.pc for pkg-config and the CMake package (find_package(tp)).")

include(CPack)
# One package per group: `lib` is libtp0, `dev` is libtp-dev (the variables above by group name).
cpack_add_component_group(lib)
cpack_add_component_group(dev)
cpack_add_component(runtime GROUP lib)
cpack_add_component(shared GROUP dev)
cpack_add_component(static GROUP dev)
cpack_add_component(development GROUP dev)
