# Builds and runs tests/consumer/project against the library.
#   MODE=find_package:     installs the built tree to a temporary prefix, then find_package(pipeline CONFIG).
#   MODE=add_subdirectory: the consumer adds the source tree with add_subdirectory.
#   CORE_TARGET: pipeline::core (compiled, the default) or pipeline::core_header_only.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(consumer_args -S "${PIPELINE_SOURCE_DIR}/tests/consumer/project" -B "${WORK_DIR}/build"
                  -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
if(CORE_TARGET)
  list(APPEND consumer_args -DCONSUMER_CORE=${CORE_TARGET})
endif()
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install "${PIPELINE_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
  run(${CMAKE_COMMAND} ${consumer_args} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCONSUMER_MODE=find_package)
else()
  run(${CMAKE_COMMAND} ${consumer_args} -DPIPELINE_SOURCE_DIR=${PIPELINE_SOURCE_DIR} -DCONSUMER_MODE=add_subdirectory)
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j 2)
run("${WORK_DIR}/build/consumer")
message(STATUS "consumer (${MODE}) built and ran")
