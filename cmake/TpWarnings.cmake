# Warnings for libtp's own code only: an internal interface target that our targets link
# privately, so nothing here reaches users' builds.
include_guard(GLOBAL)

add_library(tp_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(tp_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    $<$<BOOL:${TP_WERROR}>:-Werror>)
endif()
