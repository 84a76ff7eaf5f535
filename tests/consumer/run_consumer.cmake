# Builds tests/consumer/project against the library as a team would, one SCENARIO per test:
#   find_package              installed package, COMPONENTS sqlite schedule http gmock: all
#                             link and run (sqlite also through pkg-config), the gmock one
#                             a unit test on the mocks of the ports
#   find_package_core_only    installed package, no components: configures, builds and runs
#                             with SQLite3, date, Boost and GTest made unfindable, so a core
#                             (or pipeline::mocks) that pulled any of them fails; the same
#                             with COMPONENTS sqlite schedule must fail there when those
#                             libraries are static (and OPTIONAL_COMPONENTS leave them out
#                             without failing), and with COMPONENTS gmock always
#   find_package_header_only  installed package, COMPONENTS header_only, pipeline::core_header_only
#   find_package_components   configure only, against the build tree: an unknown component
#                             and a component the library was built without fail with a
#                             message naming them; OPTIONAL_COMPONENTS do not fail
#   add_subdirectory          the source tree as a subproject, no options set: pipeline::sqlite,
#                             pipeline::schedule and pipeline::gmock exist, link and run;
#                             without SQLite the parent still configures, without
#                             pipeline::sqlite
# Inputs: SCENARIO, PIPELINE_SOURCE_DIR, PIPELINE_BUILD_DIR, WORK_DIR, CXX, SHARED (the
# library's BUILD_SHARED_LIBS), HEADER_ONLY (its PIPELINE_HEADER_ONLY: then pipeline::core
# itself compiles the bodies and needs Boost).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# run(<command>...): must succeed; its output is shown only when it fails.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

# run_program(<program> <args>...): a consumer program; must succeed; its output is shown.
function(run_program)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer program failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${ARGV0}: ${out}")
  set(program_output "${out}" PARENT_SCOPE)
endfunction()

# What project/main.cpp (the two-phase pipeline) must print, line by line: one decision,
# one delivery of the trigger with its stable id, the duplicate delivered but not
# recorded, and the digest of the three alerts the rate limiter held back.
string(CONCAT consumer_expected_output
  "decisions: 1, trigger delivered 1x: billing_report/2025-11-18/w0, completions delivered 4, recorded 3, duplicate: duplicate\n"
  "alerts delivered: 2, digest: [^\n]*3[^\n]* \\(suppressed_count 3\\)\n"
  "(schedule ok: [^\n]*\n)?"
  "pipeline [0-9.]+ consumer ok: 2025-11-18\n$")

# configure(<name> [EXPECT_FAILURE <regex>] [COMPONENTS ...] [OPTIONAL_COMPONENTS ...]
#           [EXPECT_TARGETS ...] [EXPECT_NO_TARGETS ...] [DISABLE <package>...] [EXPECT_OUTPUT <regex>]
#           [ARGS <cmake args>...])
# Configures the consumer project in ${WORK_DIR}/<name>. DISABLE makes find_package(<package>)
# fail (CMAKE_DISABLE_FIND_PACKAGE_<package>). With EXPECT_FAILURE the configure must fail
# and its output match <regex>; else it must succeed (and match EXPECT_OUTPUT if given).
function(configure name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "EXPECT_FAILURE;EXPECT_OUTPUT"
                        "COMPONENTS;OPTIONAL_COMPONENTS;EXPECT_TARGETS;EXPECT_NO_TARGETS;DISABLE;ARGS")
  # -O1 and ccache, as the library's own test build: these check packaging, not codegen,
  # and the add_subdirectory and header-only consumers compile the library's bodies.
  set(args -S "${PIPELINE_SOURCE_DIR}/tests/consumer/project" -B "${WORK_DIR}/${name}"
           -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG"
           ${arg_ARGS})
  if(CCACHE)
    list(APPEND args -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
  endif()
  foreach(_key COMPONENTS OPTIONAL_COMPONENTS EXPECT_TARGETS EXPECT_NO_TARGETS)
    list(JOIN arg_${_key} "," _value)  # the project splits at commas
    list(APPEND args "-DCONSUMER_${_key}=${_value}")
  endforeach()
  foreach(_package IN LISTS arg_DISABLE)
    list(APPEND args -DCMAKE_DISABLE_FIND_PACKAGE_${_package}=ON)
  endforeach()
  execute_process(COMMAND ${CMAKE_COMMAND} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}\n${err}")
  # CMake wraps its messages: match against the output with each run of blanks as one space.
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${all}")
  if(arg_EXPECT_FAILURE)
    if(rc EQUAL 0)
      message(FATAL_ERROR "consumer '${name}' configured, but it should have failed:\n${all}")
    endif()
    if(NOT flat MATCHES "${arg_EXPECT_FAILURE}")
      message(FATAL_ERROR "consumer '${name}' failed, but not with /${arg_EXPECT_FAILURE}/:\n${all}")
    endif()
    message(STATUS "consumer '${name}' failed as expected:\n${err}")
    return()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer '${name}' failed to configure (${rc}):\n${all}")
  endif()
  if(arg_EXPECT_OUTPUT AND NOT flat MATCHES "${arg_EXPECT_OUTPUT}")
    message(FATAL_ERROR "consumer '${name}' configured, but its output lacks /${arg_EXPECT_OUTPUT}/:\n${all}")
  endif()
  string(REGEX MATCHALL "-- consumer: [^\n]*" lines "${out}")
  list(JOIN lines "\n" lines)
  message(STATUS "consumer '${name}' configured:\n${lines}")
endfunction()

function(build_and_run name)
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/${name}" -j 2)
  run_program("${WORK_DIR}/${name}/consumer")
  if(NOT program_output MATCHES "^${consumer_expected_output}")
    message(FATAL_ERROR "the consumer's output does not match /${consumer_expected_output}/:\n${program_output}")
  endif()
  if(EXISTS "${WORK_DIR}/${name}/consumer_sqlite")
    run_program("${WORK_DIR}/${name}/consumer_sqlite" "${WORK_DIR}/${name}/state.db")
  endif()
  if(EXISTS "${WORK_DIR}/${name}/consumer_http")
    run_program("${WORK_DIR}/${name}/consumer_http")
  endif()
  if(EXISTS "${WORK_DIR}/${name}/consumer_gmock")
    run_program("${WORK_DIR}/${name}/consumer_gmock")
    if(NOT program_output MATCHES "gmock component ok")
      message(FATAL_ERROR "consumer_gmock did not pass:\n${program_output}")
    endif()
  endif()
endfunction()

function(install_package)
  run(${CMAKE_COMMAND} --install "${PIPELINE_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
endfunction()

find_program(CCACHE ccache)
set(installed -DCONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)

if(SCENARIO STREQUAL "find_package")
  install_package()
  configure(build ARGS ${installed} COMPONENTS sqlite schedule http gmock
            EXPECT_TARGETS pipeline::core pipeline::mocks pipeline::sqlite pipeline::schedule pipeline::http
                           pipeline::gmock
            EXPECT_NO_TARGETS pipeline::core_header_only)
  build_and_run(build)
  if(NOT EXISTS "${WORK_DIR}/build/consumer_gmock")
    message(FATAL_ERROR "the consumer did not build consumer_gmock against pipeline::gmock")
  endif()

  # pkg-config says the same: the sqlite component's check, built from pipeline-sqlite.pc.
  find_program(PKG_CONFIG pkg-config)
  if(PKG_CONFIG)
    set(ENV{PKG_CONFIG_PATH} "${WORK_DIR}/prefix/lib/pkgconfig")
    set(static "--static")
    if(SHARED)
      set(static "")
    endif()
    foreach(_what cflags libs)
      execute_process(COMMAND ${PKG_CONFIG} --${_what} ${static} pipeline-sqlite
                      RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "pkg-config --${_what} pipeline-sqlite failed: ${err}")
      endif()
      separate_arguments(${_what} UNIX_COMMAND "${flags}")
    endforeach()
    message(STATUS "pkg-config pipeline-sqlite: ${cflags} ... ${libs}")
    run(${CXX} ${cflags} "${PIPELINE_SOURCE_DIR}/tests/consumer/project/sqlite_check.cpp"
        -o "${WORK_DIR}/sqlite_check_pc" ${libs} "-Wl,-rpath,${WORK_DIR}/prefix/lib")
    run_program("${WORK_DIR}/sqlite_check_pc" "${WORK_DIR}/state_pc.db")
  endif()

elseif(SCENARIO STREQUAL "find_package_core_only")
  install_package()
  set(unfindable SQLite3 date GTest)
  if(NOT HEADER_ONLY)
    list(APPEND unfindable Boost)
  endif()
  configure(build ARGS ${installed} DISABLE ${unfindable}
            EXPECT_TARGETS pipeline::core pipeline::mocks
            EXPECT_NO_TARGETS pipeline::sqlite pipeline::schedule pipeline::core_header_only pipeline::gmock)
  build_and_run(build)
  # The check has teeth: a static libpipeline_sqlite does need SQLite3 (and
  # libpipeline_schedule date) at the consumer's link, so asking for them here fails.
  if(SHARED)
    configure(with_components ARGS ${installed} DISABLE ${unfindable} COMPONENTS sqlite schedule
              EXPECT_TARGETS pipeline::sqlite pipeline::schedule)
  else()
    configure(with_components ARGS ${installed} DISABLE ${unfindable} COMPONENTS sqlite schedule
              EXPECT_FAILURE "find_package for module SQLite3|Could NOT find SQLite3")
    # As OPTIONAL_COMPONENTS the same two are just not found; the core still is.
    configure(optional_components ARGS ${installed} DISABLE ${unfindable} OPTIONAL_COMPONENTS sqlite schedule
              EXPECT_TARGETS pipeline::core EXPECT_NO_TARGETS pipeline::sqlite pipeline::schedule
              EXPECT_OUTPUT "optional component sqlite found: (FALSE|0).*optional component schedule found: (FALSE|0)")
  endif()
  # pipeline::gmock does need GoogleTest, static or shared: asking for it here fails.
  configure(with_gmock ARGS ${installed} DISABLE ${unfindable} COMPONENTS gmock
            EXPECT_FAILURE "find_package for module GTest|component 'gmock':.*GTest")

elseif(SCENARIO STREQUAL "find_package_header_only")
  install_package()
  configure(build ARGS ${installed} -DCONSUMER_CORE=pipeline::core_header_only COMPONENTS header_only
            EXPECT_TARGETS pipeline::core_header_only EXPECT_NO_TARGETS pipeline::sqlite pipeline::schedule)
  build_and_run(build)

elseif(SCENARIO STREQUAL "find_package_components")
  set(build_tree -DCONSUMER_MODE=find_package -Dpipeline_DIR=${PIPELINE_BUILD_DIR})
  configure(unknown ARGS ${build_tree} COMPONENTS sqlite nosuch
            EXPECT_FAILURE "pipeline has no component 'nosuch' \\(components: header_only gmock sqlite schedule postgres redis http\\)")
  configure(optional_unknown ARGS ${build_tree} COMPONENTS sqlite OPTIONAL_COMPONENTS nosuch
            EXPECT_TARGETS pipeline::sqlite EXPECT_OUTPUT "optional component nosuch found: (FALSE|0)")
  # Every component from the build tree (pipeline_DIR=<build dir>), without Boost for the
  # compiled core's targets.
  configure(all ARGS ${build_tree} COMPONENTS sqlite schedule header_only gmock
            EXPECT_TARGETS pipeline::sqlite pipeline::schedule pipeline::core_header_only pipeline::gmock)
  if(NOT HEADER_ONLY)
    # pipeline::http too: Beast and Asio stay inside the library.
    configure(compiled_without_boost ARGS ${build_tree} DISABLE Boost COMPONENTS sqlite schedule http
              EXPECT_TARGETS pipeline::sqlite pipeline::schedule pipeline::http)
  endif()
  # A library built without schedule: asking for it names the option to set.
  run(${CMAKE_COMMAND} -S "${PIPELINE_SOURCE_DIR}" -B "${WORK_DIR}/without_schedule" -Wno-dev
      -DCMAKE_CXX_COMPILER=${CXX} -DPIPELINE_WITH_SCHEDULE=OFF -DPIPELINE_BUILD_TESTS=OFF
      -DPIPELINE_BUILD_EXAMPLES=OFF -DPIPELINE_BUILD_TOOLS=OFF -DPIPELINE_BUILD_BENCH=OFF)
  configure(not_built ARGS -DCONSUMER_MODE=find_package -Dpipeline_DIR=${WORK_DIR}/without_schedule
            COMPONENTS sqlite schedule
            EXPECT_FAILURE "built without component 'schedule': rebuild it with -DPIPELINE_WITH_SCHEDULE=ON")

elseif(SCENARIO STREQUAL "add_subdirectory")
  set(subproject -DCONSUMER_MODE=add_subdirectory -DPIPELINE_SOURCE_DIR=${PIPELINE_SOURCE_DIR})
  # Without SQLite installed the parent still configures; only pipeline::sqlite is left out.
  configure(without_sqlite ARGS ${subproject} DISABLE SQLite3
            EXPECT_TARGETS pipeline::core pipeline::schedule EXPECT_NO_TARGETS pipeline::sqlite
            EXPECT_OUTPUT "PIPELINE_WITH_SQLITE defaults to OFF")
  configure(build ARGS ${subproject}
            EXPECT_TARGETS pipeline::core pipeline::mocks pipeline::sqlite pipeline::schedule pipeline::gmock)
  build_and_run(build)

else()
  message(FATAL_ERROR "unknown SCENARIO '${SCENARIO}'")
endif()
message(STATUS "consumer scenario ${SCENARIO}: ok")
