# Fails when a public header has an @code (or \code) block: doc examples are @snippets of
# compiled tests (tests/snippets/), so they cannot call something that does not exist.
# Usage: cmake -DINCLUDE_DIR=<repo>/include -P check_no_code_blocks.cmake
if(NOT IS_DIRECTORY "${INCLUDE_DIR}")
  message(FATAL_ERROR "INCLUDE_DIR '${INCLUDE_DIR}' is not a directory")
endif()
file(GLOB_RECURSE _headers "${INCLUDE_DIR}/*.hpp" "${INCLUDE_DIR}/*.h")
list(LENGTH _headers _count)
if(_count EQUAL 0)
  message(FATAL_ERROR "no headers under '${INCLUDE_DIR}'")
endif()
set(_found "")
foreach(_header ${_headers})
  file(STRINGS "${_header}" _lines REGEX "[@\\\\](code|endcode)([^A-Za-z_]|$)")
  foreach(_line ${_lines})
    file(RELATIVE_PATH _rel "${INCLUDE_DIR}" "${_header}")
    string(APPEND _found "  ${_rel}: ${_line}\n")
  endforeach()
endforeach()
if(_found)
  message(FATAL_ERROR "public headers have @code blocks; show the example with "
                      "`@snippet <layer>_snippets_test.cpp <tag>` of a compiled test instead:\n${_found}")
endif()
message(STATUS "${_count} headers, no @code block")
