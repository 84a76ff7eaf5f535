# Runs the real pipelinectl on a PostgreSQL store written by make_three_phase_store, and
# checks the exit codes and the one-line errors of --store postgresql://... The server is
# PIPELINE_POSTGRES_URI's, or the one scripts/services.sh starts; none is a failure.
#   cmake -DPIPELINECTL=... -DMAKE_STORE=... -DSERVICES=.../services.sh -P pipelinectl_postgres.cmake
foreach(_var PIPELINECTL MAKE_STORE SERVICES)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "${_var} is not set")
  endif()
endforeach()

set(URI "$ENV{PIPELINE_POSTGRES_URI}")
if(URI STREQUAL "")
  execute_process(COMMAND "${SERVICES}" start RESULT_VARIABLE rc OUTPUT_VARIABLE URI ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR URI STREQUAL "")
    message(FATAL_ERROR "no PostgreSQL server: set PIPELINE_POSTGRES_URI or make scripts/services.sh start work\n${err}")
  endif()
endif()
string(RANDOM LENGTH 8 ALPHABET "abcdefghijklmnopqrstuvwxyz" _tag)
set(PREFIX "ctl_${_tag}_")
string(FIND "${URI}" "?" _q)
if(_q EQUAL -1)
  set(STORE "${URI}?table_prefix=${PREFIX}")
else()
  set(STORE "${URI}&table_prefix=${PREFIX}")
endif()

execute_process(COMMAND "${MAKE_STORE}" "${STORE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_three_phase_store failed (${rc}):\n${out}\n${err}")
endif()

set(CTL_TIMEOUT 60)  # never a hang against an unreachable server
include("${CMAKE_CURRENT_LIST_DIR}/ctl_checks.cmake")

# One clear line on stderr, no stack trace, no password.
function(expect_one_line_error needle)
  expect_has("${ERR}" "${needle}")
  string(STRIP "${ERR}" _err)
  string(FIND "${_err}" "\n" _nl)
  if(NOT _nl EQUAL -1)
    message(FATAL_ERROR "${LAST}: expected one line on stderr, got:\n${ERR}")
  endif()
  string(FIND "${ERR}" "hunter2" _pw)
  if(NOT _pw EQUAL -1)
    message(FATAL_ERROR "${LAST}: the password is on stderr:\n${ERR}")
  endif()
endfunction()

# ---- what the three-phase pipeline recorded ----------------------------------------------
ctl(0 status --store ${STORE} --date 2025-03-01)
expect_has("${OUT}" "date 2025-03-01: complete")
ctl(3 status --store ${STORE} --date 2025-03-02)
ctl(0 status --store ${STORE} --date 2025-03-01 --json)
string(JSON _state GET "${OUT}" state)
if(NOT _state STREQUAL "complete")
  message(FATAL_ERROR "${LAST}: state is ${_state}")
endif()
ctl(0 graph --store ${STORE} --date 2025-03-01)
ctl(0 dlq list --store ${STORE})
expect_has("${OUT}" "poison-ingest-1")
ctl(0 dlq replay --store ${STORE} --id poison-ingest-1)
ctl(2 dlq replay --store ${STORE} --id nope)

# ---- a store that has recorded nothing ---------------------------------------------------
string(REPLACE "${PREFIX}" "${PREFIX}empty_" EMPTY "${STORE}")
ctl(0 status --store ${EMPTY} --date 2025-03-01)

# ---- bad URIs exit 2, unreachable servers and refused credentials 1 -----------------------
ctl(2 status --store "postgresql://u@h/db?no_such_parameter=1" --date 2025-03-01)
expect_one_line_error("malformed connection string")
ctl(2 status --store "postgresql://u@h/db?table_prefix=Bad-Prefix" --date 2025-03-01)
expect_one_line_error("table prefix")
ctl(1 status --store "postgresql://postgres:hunter2@127.0.0.1:1/postgres" --date 2025-03-01)
expect_one_line_error("cannot connect")
string(REGEX REPLACE "://[^@/]*@" "://no_such_role:hunter2@" BAD_ROLE "${STORE}")
ctl(1 graph --store ${BAD_ROLE})
expect_one_line_error("no_such_role")
ctl(1 dlq list --store "postgresql://postgres@127.0.0.1:1/postgres")
expect_one_line_error("cannot connect")
ctl(1 backfill --from 2025-11-18 --to 2025-11-18 --store "postgresql://postgres@127.0.0.1:1/postgres")
ctl(1 demo --store "postgresql://postgres@127.0.0.1:1/postgres")

# ---- a schema newer than this pipelinectl's -----------------------------------------------
find_program(PSQL psql)
if(PSQL)
  execute_process(COMMAND "${PSQL}" "${URI}" -qAtc "UPDATE \"${PREFIX}pipeline_schema\" SET version = 99"
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "psql failed: ${err}")
  endif()
  ctl(1 status --store ${STORE} --date 2025-03-01)
  expect_one_line_error("schema version 99")
  foreach(_p "${PREFIX}" "${PREFIX}empty_")
    execute_process(COMMAND "${PSQL}" "${URI}" -qAtc
                    "DROP TABLE IF EXISTS \"${_p}rows\", \"${_p}outbox\", \"${_p}pipeline_schema\"")
  endforeach()
endif()
message(STATUS "pipelinectl on PostgreSQL: ok")
