# Installs the build tree twice, as the consumer tests need it:
#   PREFIX: everything (as `cmake --install` does);
#   STATIC_PREFIX: the development and static components only, so that -ltp finds libtp.a.
foreach(variable BUILD_DIR PREFIX STATIC_PREFIX)
  if(NOT ${variable})
    message(FATAL_ERROR "${variable} not set")
  endif()
endforeach()
file(REMOVE_RECURSE "${PREFIX}" "${STATIC_PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}"
                COMMAND_ERROR_IS_FATAL ANY)
foreach(component development static)
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${STATIC_PREFIX}"
                          --component ${component}
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
