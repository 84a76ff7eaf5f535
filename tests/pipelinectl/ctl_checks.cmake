# The checks the pipelinectl end-to-end scripts share: run pipelinectl and expect an exit
# code, text on stdout or stderr, or a JSON value. Included by pipelinectl_cli.cmake and
# pipelinectl_postgres.cmake (PIPELINECTL names the binary).

# ctl(<expected exit code> <args...>): runs pipelinectl; sets OUT and ERR. With CTL_TIMEOUT
# set (seconds), a run that takes longer fails (a hang is a failure, never a wait).
function(ctl expected)
  set(_timeout)
  if(DEFINED CTL_TIMEOUT)
    set(_timeout TIMEOUT ${CTL_TIMEOUT})
  endif()
  execute_process(COMMAND "${PIPELINECTL}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  ${_timeout})
  if(NOT "${rc}" STREQUAL "${expected}")
    message(FATAL_ERROR "pipelinectl ${ARGN}: exit ${rc}, expected ${expected}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
  set(ERR "${err}" PARENT_SCOPE)
  set(LAST "pipelinectl ${ARGN}" PARENT_SCOPE)
endfunction()

function(expect_has text needle)
  string(FIND "${text}" "${needle}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "${LAST}: expected to find\n  ${needle}\nin:\n${text}")
  endif()
endfunction()

function(expect_lacks text needle)
  string(FIND "${text}" "${needle}" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "${LAST}: did not expect\n  ${needle}\nin:\n${text}")
  endif()
endfunction()

function(expect_json json expected)
  string(JSON value GET "${json}" ${ARGN})
  if(NOT "${value}" STREQUAL "${expected}")
    message(FATAL_ERROR "${LAST}: JSON ${ARGN} is '${value}', expected '${expected}'\n${json}")
  endif()
endfunction()
