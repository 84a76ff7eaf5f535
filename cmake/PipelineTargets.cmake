# Helpers the project's CMakeLists share when they declare targets and directories.

# pipeline_public_includes(<target> <PUBLIC|INTERFACE>): the include/ tree while building,
# the installed include directory once installed.
function(pipeline_public_includes target scope)
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()

# pipeline_header_only_core(<target>): an INTERFACE library of the core with
# PIPELINE_HEADER_ONLY defined, so its bodies compile in each user's translation units.
function(pipeline_header_only_core target)
  add_library(${target} INTERFACE)
  target_compile_definitions(${target} INTERFACE PIPELINE_HEADER_ONLY)
  target_compile_features(${target} INTERFACE cxx_std_20)
  pipeline_public_includes(${target} INTERFACE)
  target_link_libraries(${target} INTERFACE ${PIPELINE_CORE_DEPS} Boost::headers)
endfunction()

# pipeline_add_subdirectories(): adds every directory below the current source directory
# that has a CMakeLists.txt, in name order. A macro, so the subdirectories see the
# caller's scope as add_subdirectory in place would.
macro(pipeline_add_subdirectories)
  file(GLOB _pipeline_subdirs LIST_DIRECTORIES true "${CMAKE_CURRENT_SOURCE_DIR}/*")
  list(SORT _pipeline_subdirs)
  foreach(_pipeline_subdir ${_pipeline_subdirs})
    if(IS_DIRECTORY "${_pipeline_subdir}" AND EXISTS "${_pipeline_subdir}/CMakeLists.txt")
      add_subdirectory("${_pipeline_subdir}")
    endif()
  endforeach()
endmacro()
