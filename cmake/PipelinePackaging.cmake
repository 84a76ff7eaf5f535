# Install rules, the CMake package (install tree and build tree) and the pkg-config file.

include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/pipeline" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS ${PIPELINE_EXPORTED_TARGETS} EXPORT pipelineTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(PIPELINE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/pipeline")
install(EXPORT pipelineTargets NAMESPACE pipeline:: DESTINATION "${PIPELINE_CMAKE_DIR}")
export(EXPORT pipelineTargets NAMESPACE pipeline:: FILE "${PROJECT_BINARY_DIR}/pipelineTargets.cmake")

set(PIPELINE_HAS_SQLITE OFF)
set(PIPELINE_HAS_SCHEDULE OFF)
if(TARGET pipeline_sqlite)
  set(PIPELINE_HAS_SQLITE ON)
endif()
if(TARGET pipeline_schedule)
  set(PIPELINE_HAS_SCHEDULE ON)
endif()

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/pipelineConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/pipelineConfig.cmake" INSTALL_DESTINATION "${PIPELINE_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/pipelineConfig.cmake" "${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake"
  DESTINATION "${PIPELINE_CMAKE_DIR}")

# The adapters are static: their own dependencies go in Libs.private.
set(PIPELINE_PC_LIBS "")
set(PIPELINE_PC_LIBS_PRIVATE "-lpthread")
if(PIPELINE_HAS_SQLITE)
  string(APPEND PIPELINE_PC_LIBS " -lpipeline_sqlite")
  string(APPEND PIPELINE_PC_LIBS_PRIVATE " -lsqlite3")
endif()
if(PIPELINE_HAS_SCHEDULE)
  string(APPEND PIPELINE_PC_LIBS " -lpipeline_schedule")
  string(APPEND PIPELINE_PC_LIBS_PRIVATE " -ldate-tz")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/pipeline.pc.in" "${PROJECT_BINARY_DIR}/pipeline.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/pipeline.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
