# The deque's push and pop run once per job and twice per join: as calls, with the register saves
# they force, they cost a join a third of its instructions and a batch's job 11 more (callgrind).
# They are inline, and pop() always_inline, but GCC decides per call site: when Worker::main grew,
# pop() silently became a call there. An out-of-line copy of either in the library means some
# caller calls it: fail then.
# Usage: cmake -DLIBRARY=libtp.so -P hot_paths_inlined.cmake
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} -C ${LIBRARY} OUTPUT_VARIABLE symbols RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
foreach(function "StealingDeque::pop()" "StealingDeque::push(tp::detail::Job)")
  string(FIND "${symbols}" "${function}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${LIBRARY} has an out-of-line ${function}: a hot path calls it")
  endif()
endforeach()
message(STATUS "StealingDeque::push and pop are inlined wherever they are used")
