# The version lives in one place, include/tp/tp.h; read it from there (as zstd's
# GetZstdLibraryVersion.cmake does) so that CMake, tp.pc and tp_version() cannot disagree.
function(tp_read_version header out_var)
  file(STRINGS "${header}" lines REGEX "^#define TP_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
  foreach(part MAJOR MINOR PATCH)
    string(REGEX MATCH "TP_VERSION_${part} ([0-9]+)" _ "${lines}")
    set(${part} "${CMAKE_MATCH_1}")
    if("${${part}}" STREQUAL "")
      message(FATAL_ERROR "could not read TP_VERSION_${part} from ${header}")
    endif()
  endforeach()
  set(${out_var} "${MAJOR}.${MINOR}.${PATCH}" PARENT_SCOPE)
endfunction()
