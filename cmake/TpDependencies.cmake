# Finds what libtp needs the ordinary way. A missing dependency stops configure with one line that
# names the Debian package to install (cmake/install-deps.sh installs all of them).
include_guard(GLOBAL)

function(tp_missing what package)
  message(FATAL_ERROR "libtp: ${what} not found: install the Debian package ${package} "
                      "(or run cmake/install-deps.sh)")
endfunction()

find_package(Boost 1.71 QUIET)
if(NOT Boost_FOUND)
  tp_missing("Boost headers (Boost.Lockfree)" libboost-dev)
endif()

find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  tp_missing("pkg-config (needed to find hwloc)" pkg-config)
endif()
pkg_check_modules(HWLOC QUIET IMPORTED_TARGET hwloc>=2.0)
if(NOT HWLOC_FOUND)
  tp_missing("hwloc >= 2.0 (hwloc.pc)" libhwloc-dev)
endif()

find_package(Threads REQUIRED)

if(TP_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    tp_missing("GoogleTest" libgtest-dev)
  endif()
endif()

if(TP_BUILD_BENCHMARKS)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    tp_missing("Google Benchmark" libbenchmark-dev)
  endif()
endif()
