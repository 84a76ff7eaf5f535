# The CMake package `pipeline`, its components, and the pkg-config files.
#
#   find_package(pipeline CONFIG REQUIRED [COMPONENTS sqlite schedule ...])
#
# - Always: pipeline::core and pipeline::mocks (pipeline-targets.cmake), with the
#   find_dependency calls the core's exported interface needs and no others
#   (cmake/pipelineConfig.cmake.in).
# - Each component <c> (header_only, gmock, and one per compiled adapter: sqlite, schedule,
#   postgres, redis, http): its targets in pipeline-<c>-targets.cmake and its own
#   find_dependency calls in pipeline-<c>-component.cmake (from cmake/components/<c>.cmake.in),
#   both loaded only when <c> is requested (COMPONENTS or OPTIONAL_COMPONENTS).
# - pkg-config: pipeline.pc for the core, pipeline-<c>.pc for each component.
#
# A new adapter: src/<adapter>/CMakeLists.txt calls pipeline_add_component(<adapter> ...),
# cmake/components/<adapter>.cmake.in lists its dependencies for consumers, the top-level
# CMakeLists.txt declares PIPELINE_WITH_<ADAPTER> (pipeline_adapter_option) and adds the
# directory, and the README's component table gets a row.

include(CMakePackageConfigHelpers)

set(PIPELINE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/pipeline")
# The core's pkg-config requirements: the .pc names of its public dependencies
# (tl-expected ships no .pc file; its headers are in the default include path).
set(PIPELINE_PC_CORE_REQUIRES "nlohmann_json fmt libxxhash")

# pipeline_add_component(<name> TARGETS <target>...
#                        [PC_REQUIRES <module>...] [PC_REQUIRES_PRIVATE <module>...]
#                        [PC_CFLAGS <flag>...] [PC_LIBS <flag>...] [PC_LIBS_PRIVATE <flag>...])
# (the PC_ fields are the lines of pipeline-<name>.pc: Libs gets -L${libdir} in front,
# the *_PRIVATE ones are what a static link needs beyond the public ones)
# Makes <targets> the package component <name>: exported to pipeline-<name>-targets.cmake
# with the dependencies listed in cmake/components/<name>.cmake.in, and described by
# pipeline-<name>.pc (Requires `pipeline` unless PC_REQUIRES is given).
function(pipeline_add_component name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "TARGETS;PC_REQUIRES;PC_REQUIRES_PRIVATE;PC_CFLAGS;PC_LIBS;PC_LIBS_PRIVATE")
  if(NOT arg_TARGETS OR NOT EXISTS "${PROJECT_SOURCE_DIR}/cmake/components/${name}.cmake.in")
    message(FATAL_ERROR "pipeline_add_component(${name}): needs TARGETS and cmake/components/${name}.cmake.in")
  endif()
  set_property(GLOBAL APPEND PROPERTY PIPELINE_COMPONENTS ${name})
  foreach(_key TARGETS PC_REQUIRES PC_REQUIRES_PRIVATE PC_CFLAGS PC_LIBS PC_LIBS_PRIVATE)
    set_property(GLOBAL PROPERTY PIPELINE_COMPONENT_${name}_${_key} "${arg_${_key}}")
  endforeach()
endfunction()

# _pipeline_is_static(<out> <target>...): ON when one of the targets is a static library,
# whose private link dependencies then reach the consumer's link line ($<LINK_ONLY:...>).
function(_pipeline_is_static out)
  set(_static OFF)
  foreach(_target ${ARGN})
    get_target_property(_type ${_target} TYPE)
    if(_type STREQUAL "STATIC_LIBRARY")
      set(_static ON)
    endif()
  endforeach()
  set(${out} ${_static} PARENT_SCOPE)
endfunction()

# _pipeline_write_pc(<file name> <description> <requires> <requires.private> <cflags> <libs> <libs.private>)
function(_pipeline_write_pc name description requires requires_private cflags libs libs_private)
  foreach(_field requires requires_private cflags libs libs_private)
    string(REPLACE ";" " " PC_${_field} "${${_field}}")
  endforeach()
  set(PC_NAME ${name})
  set(PC_DESCRIPTION "${description}")
  # Relocatable: the prefix is found from the .pc file's own directory, so the files stay
  # right after `cmake --install --prefix <elsewhere>` or a move of the whole tree.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  else()
    file(RELATIVE_PATH _up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    string(REGEX REPLACE "/$" "" _up "${_up}")
    set(PC_PREFIX "\${pcfiledir}/${_up}")
  endif()
  configure_file("${PROJECT_SOURCE_DIR}/cmake/pipeline.pc.in" "${PROJECT_BINARY_DIR}/${name}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${name}.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endfunction()

# pipeline_install_package(): the install rules and the package for the install tree and
# the build tree (pipeline_DIR=<build dir> works too). Called once every target exists.
function(pipeline_install_package)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/pipeline" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

  # The core: pipeline::core and pipeline::mocks, always loaded.
  set(_core_targets pipeline_core pipeline_mocks)
  install(TARGETS ${_core_targets} EXPORT pipeline-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT pipeline-targets NAMESPACE pipeline:: DESTINATION "${PIPELINE_CMAKE_DIR}")
  export(EXPORT pipeline-targets NAMESPACE pipeline:: FILE "${PROJECT_BINARY_DIR}/pipeline-targets.cmake")

  get_target_property(_core_type pipeline_core TYPE)
  set(PIPELINE_CORE_HEADER_ONLY OFF)
  if(_core_type STREQUAL "INTERFACE_LIBRARY")
    set(PIPELINE_CORE_HEADER_ONLY ON)
  endif()

  # The components.
  get_property(_components GLOBAL PROPERTY PIPELINE_COMPONENTS)
  set(PIPELINE_COMPONENTS "${_components}")
  set(PIPELINE_KNOWN_COMPONENTS header_only gmock ${PIPELINE_ADAPTERS})
  foreach(_c IN LISTS _components)
    get_property(_targets GLOBAL PROPERTY PIPELINE_COMPONENT_${_c}_TARGETS)
    install(TARGETS ${_targets} EXPORT pipeline-${_c}-targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
      INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    install(EXPORT pipeline-${_c}-targets NAMESPACE pipeline:: DESTINATION "${PIPELINE_CMAKE_DIR}")
    export(EXPORT pipeline-${_c}-targets NAMESPACE pipeline:: FILE "${PROJECT_BINARY_DIR}/pipeline-${_c}-targets.cmake")
    # Read by the template: its private dependencies are needed only when it is static.
    _pipeline_is_static(PIPELINE_COMPONENT_STATIC ${_targets})
    # A shared adapter finds libpipeline beside it wherever the tree is installed (a
    # consumer's RUNPATH does not apply to its libraries' own dependencies).
    if(NOT PIPELINE_COMPONENT_STATIC AND NOT DEFINED CMAKE_INSTALL_RPATH)
      foreach(_target ${_targets})
        get_target_property(_type ${_target} TYPE)
        if(_type STREQUAL "SHARED_LIBRARY")
          set_target_properties(${_target} PROPERTIES INSTALL_RPATH "$ORIGIN")
        endif()
      endforeach()
    endif()
    configure_file("${PROJECT_SOURCE_DIR}/cmake/components/${_c}.cmake.in"
                   "${PROJECT_BINARY_DIR}/pipeline-${_c}-component.cmake" @ONLY)
    install(FILES "${PROJECT_BINARY_DIR}/pipeline-${_c}-component.cmake" DESTINATION "${PIPELINE_CMAKE_DIR}")

    foreach(_key PC_REQUIRES PC_REQUIRES_PRIVATE PC_CFLAGS PC_LIBS PC_LIBS_PRIVATE)
      get_property(_${_key} GLOBAL PROPERTY PIPELINE_COMPONENT_${_c}_${_key})
    endforeach()
    if(NOT _PC_REQUIRES)
      set(_PC_REQUIRES pipeline)
    endif()
    _pipeline_write_pc(pipeline-${_c} "pipeline component ${_c}" "${_PC_REQUIRES}" "${_PC_REQUIRES_PRIVATE}"
                       "${_PC_CFLAGS}" "${_PC_LIBS}" "${_PC_LIBS_PRIVATE}")
  endforeach()

  configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/pipelineConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/pipelineConfig.cmake" INSTALL_DESTINATION "${PIPELINE_CMAKE_DIR}")
  write_basic_package_version_file("${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake"
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES "${PROJECT_BINARY_DIR}/pipelineConfig.cmake" "${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake"
    DESTINATION "${PIPELINE_CMAKE_DIR}")

  # pipeline.pc: the core, as pipelineConfig.cmake describes it.
  if(PIPELINE_CORE_HEADER_ONLY)
    _pipeline_write_pc(pipeline "${PROJECT_DESCRIPTION}" "${PIPELINE_PC_CORE_REQUIRES}" ""
                       "-DPIPELINE_HEADER_ONLY" "-lpthread" "")
  else()
    _pipeline_write_pc(pipeline "${PROJECT_DESCRIPTION}" "${PIPELINE_PC_CORE_REQUIRES}" ""
                       "" "-lpipeline" "-lpthread")
  endif()
endfunction()
