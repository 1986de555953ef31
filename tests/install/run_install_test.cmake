# cmake -P script behind the install_consumer test (see CMakeLists.txt).
# Inputs: KILN_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, GENERATOR, CXX_COMPILER, BUILD_TYPE.
foreach(var KILN_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_install_test.cmake: ${var} is not set")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${name} failed (${rc})\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# 1. Install the current build.
run_step("cmake --install" ${CMAKE_COMMAND} --install ${KILN_BUILD_DIR} --prefix ${prefix})
if(NOT EXISTS ${prefix}/include/kiln/kiln.h)
  message(FATAL_ERROR "install test: ${prefix}/include/kiln/kiln.h was not installed")
endif()

# 2. Configure and build the consumer against the prefix only.
set(configure_args -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -DCMAKE_PREFIX_PATH=${prefix}
                   -DKILN_CONSUMER_MAIN=${CONSUMER_MAIN})
if(GENERATOR)
  list(APPEND configure_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(BUILD_TYPE)
  list(APPEND configure_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()
run_step("configure consumer" ${CMAKE_COMMAND} ${configure_args})
run_step("build consumer" ${CMAKE_COMMAND} --build ${consumer_build})

# 3. Run it: it prints "loss <value>", which must be below 0.02.
find_program(app NAMES app PATHS ${consumer_build} ${consumer_build}/Release ${consumer_build}/Debug NO_DEFAULT_PATH)
if(NOT app)
  message(FATAL_ERROR "install test: the consumer executable was not built in ${consumer_build}")
endif()
run_step("run consumer" ${app})
string(REGEX MATCH "loss ([0-9.eE+-]+)" matched "${step_output}")
if(NOT matched)
  message(FATAL_ERROR "install test: consumer printed no loss:\n${step_output}")
endif()
set(loss ${CMAKE_MATCH_1})
if(NOT loss LESS 0.02)
  message(FATAL_ERROR "install test: loss ${loss} is not below 0.02")
endif()
message(STATUS "install test: consumer trained to loss ${loss}")
