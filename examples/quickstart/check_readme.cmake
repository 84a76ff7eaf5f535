# README.md shows only C++ that is compiled: each ```cpp block sits between
#   <!-- snippet: <path> -->  and  <!-- /snippet -->
# and is that file's whole text, verbatim. Inputs: README, ROOT (the source tree).
file(READ "${README}" readme)
string(REGEX MATCHALL "```(cpp|c\\+\\+|cc|cxx)\n" blocks "${readme}")
list(LENGTH blocks n_blocks)
string(REGEX MATCHALL "<!-- snippet: [^ ]+ -->\n```cpp\n" opened "${readme}")
list(LENGTH opened n_snippets)
if(NOT n_blocks EQUAL n_snippets)
  message(FATAL_ERROR "README.md has ${n_blocks} C++ blocks but ${n_snippets} are snippets of compiled files: "
                      "put each between <!-- snippet: <path> --> and <!-- /snippet --> or remove it")
endif()
foreach(marker IN LISTS opened)
  string(REGEX REPLACE "<!-- snippet: ([^ ]+) -->\n```cpp\n" "\\1" path "${marker}")
  if(NOT EXISTS "${ROOT}/${path}")
    message(FATAL_ERROR "README.md shows ${path}, which does not exist")
  endif()
  file(READ "${ROOT}/${path}" text)
  string(FIND "${readme}" "<!-- snippet: ${path} -->\n```cpp\n${text}```\n<!-- /snippet -->" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md's copy of ${path} differs from the file: paste the file between the markers")
  endif()
  message(STATUS "README.md shows ${path} verbatim")
endforeach()
