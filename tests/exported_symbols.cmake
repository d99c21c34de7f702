# Compares the shared library's dynamic symbols, with their versions, with the linker version
# script: every node of the map (TP_0, TP_0.2, ...) and the symbols it lists, read from the map
# itself, so that a release that adds a node needs no change here.
# Usage: cmake -DLIBRARY=libtp.so -DMAP=capi/tp.map -P exported_symbols.cmake
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY} OUTPUT_VARIABLE dynamic
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()

# The map: strip comments, then each node is `NAME { ... }` (optionally followed by the node it
# inherits and a semicolon).
file(READ ${MAP} map)
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" map "${map}")
string(REPLACE ";" "," map "${map}")  # a semicolon would split CMake's lists
string(REGEX MATCHALL "[A-Za-z0-9_.]+[ \t\r\n]*{[^}]*}" nodes "${map}")
if(NOT nodes)
  message(FATAL_ERROR "no version node found in ${MAP}")
endif()
set(listed "")
set(node_names "")
foreach(node IN LISTS nodes)
  string(REGEX MATCH "^[A-Za-z0-9_.]+" name "${node}")
  list(APPEND node_names "${name}")
  string(REGEX MATCHALL "tp_[a-z0-9_]+" symbols "${node}")
  foreach(symbol IN LISTS symbols)
    list(APPEND listed "${symbol}@${name}")
  endforeach()
endforeach()

# The library: `ADDRESS TYPE symbol@@VERSION` (the default version) or `symbol@VERSION`.
string(REGEX MATCHALL "[0-9a-f]+ [A-Za-z] [^\n]+" lines "${dynamic}")
set(exported "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-f]+ [A-Za-z] " "" symbol "${line}")
  string(REGEX REPLACE "@@?" "@" symbol "${symbol}")
  string(REGEX REPLACE "@.*$" "" bare "${symbol}")
  list(FIND node_names "${bare}" is_node)
  if(is_node EQUAL -1)  # the version nodes appear as absolute symbols of their own
    list(APPEND exported "${symbol}")
  endif()
endforeach()

list(SORT exported)
list(SORT listed)
if(NOT exported STREQUAL listed)
  message(FATAL_ERROR "exported symbols differ from ${MAP}\n  exported: ${exported}\n  listed:   ${listed}")
endif()
list(LENGTH exported count)
message(STATUS "${count} exported symbols match ${MAP} (nodes: ${node_names}): ${exported}")
