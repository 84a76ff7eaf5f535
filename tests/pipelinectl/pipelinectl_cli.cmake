# Runs the real pipelinectl on a store written by make_three_phase_store (a three-phase
# pipeline that is not the NBA's) and checks exit codes and output of status, graph and dlq.
#   cmake -DPIPELINECTL=... -DMAKE_STORE=... -DWORK_DIR=... -P pipelinectl_cli.cmake
foreach(_var PIPELINECTL MAKE_STORE WORK_DIR)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "${_var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${PIPELINECTL}")
  message(FATAL_ERROR "pipelinectl not found at ${PIPELINECTL}: build the pipelinectl target")
endif()
if(NOT EXISTS "${MAKE_STORE}")
  message(FATAL_ERROR "make_three_phase_store not found at ${MAKE_STORE}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(STORE "sqlite:${WORK_DIR}/three_phase.sqlite")

execute_process(COMMAND "${MAKE_STORE}" "${WORK_DIR}/three_phase.sqlite" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_three_phase_store failed (${rc}):\n${out}\n${err}")
endif()

# ctl(<expected exit code> <args...>): runs pipelinectl; sets OUT and ERR.
function(ctl expected)
  execute_process(COMMAND "${PIPELINECTL}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
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

# ---- status ------------------------------------------------------------------------------
ctl(0 status --store ${STORE} --date 2025-03-01)
expect_has("${OUT}" "date 2025-03-01: complete")
expect_has("${OUT}" "cleaning")
expect_has("${OUT}" "raw -> clean")
expect_has("${OUT}" "reporting")
expect_has("${OUT}" "clean -> reports")
expect_has("${OUT}" "done: ingest")
expect_has("${OUT}" "done: clean_a, clean_b")
expect_lacks("${OUT}" "missing:")

ctl(3 status --store ${STORE} --date 2025-03-02)
expect_has("${OUT}" "date 2025-03-02: partial")
expect_has("${OUT}" "done: ingest")
expect_has("${OUT}" "missing: clean_b")
expect_has("${OUT}" "failed: clean_a")
expect_has("${ERR}" "2025-03-02 is partial: reporting missing clean_b; failed clean_a")

ctl(0 status --store ${STORE} --date 2025-03-09)
expect_has("${OUT}" "date 2025-03-09: nothing_recorded")
expect_has("${ERR}" "nothing recorded for 2025-03-09 yet")

ctl(0 status --store ${STORE} --date 2025-03-01 --json)
expect_json("${OUT}" "2025-03-01" date)
expect_json("${OUT}" "complete" state)
string(JSON _n LENGTH "${OUT}" trackers)
if(NOT _n EQUAL 2)
  message(FATAL_ERROR "${LAST}: ${_n} trackers, expected 2\n${OUT}")
endif()
expect_json("${OUT}" "cleaning" trackers 0 tracker)
expect_json("${OUT}" "ingest" trackers 0 done 0)
expect_json("${OUT}" "reporting" trackers 1 tracker)
expect_json("${OUT}" "clean_a" trackers 1 done 0)
expect_json("${OUT}" "clean_b" trackers 1 done 1)
expect_json("${OUT}" "reporting/2025-03-01/w0" trackers 1 waves 0 trigger_id)

ctl(3 status --store ${STORE} --date 2025-03-02 --json)
expect_json("${OUT}" "partial" state)
expect_json("${OUT}" "clean_a" trackers 1 failed 0)
expect_json("${OUT}" "clean_b" trackers 1 missing 0)

ctl(2 status --store ${STORE} --date 2025-02-30)
expect_has("${ERR}" "--date")
ctl(2 status --store "sqlite:${WORK_DIR}/no_such.sqlite" --date 2025-03-01)
expect_has("${ERR}" "no such file")

# ---- graph -------------------------------------------------------------------------------
ctl(0 graph --store ${STORE})
expect_has("${OUT}" "digraph triggers {")
foreach(_needle [["ingest" -> "clean_a";]] [["ingest" -> "clean_b";]] [["clean_a" -> "report";]]
                [["clean_b" -> "report";]] [[label="raw";]] [[label="clean";]] [[label="reports";]])
  expect_has("${OUT}" "${_needle}")
endforeach()
foreach(_nba nba phase2_raw phase3_analytics player_game_summary prediction_coordinator gamebook)
  expect_lacks("${OUT}" "${_nba}")
endforeach()
expect_lacks("${OUT}" "fillcolor=palegreen")

ctl(0 graph --store ${STORE} --date 2025-03-02)
expect_has("${OUT}" [["ingest" [fillcolor=palegreen, tooltip="done"];]])
expect_has("${OUT}" [["clean_a" [fillcolor=tomato, tooltip="failed"];]])
expect_has("${OUT}" [["clean_b" [fillcolor=lightgrey, tooltip="missing"];]])
expect_has("${OUT}" [[    "report";]])
expect_has("${OUT}" [["clean_b" -> "report";]])

ctl(0 graph --store ${STORE} --date 2025-03-01)
expect_has("${OUT}" [["clean_b" [fillcolor=palegreen, tooltip="done"];]])
expect_lacks("${OUT}" "tomato")

ctl(2 graph --store ${STORE} --date 2025-13-01)
expect_has("${ERR}" "--date")

# A store where nothing is recorded: a note on stderr, nothing on stdout, exit 0.
ctl(0 graph --store memory)
expect_has("${ERR}" "nothing recorded")
if(NOT "${OUT}" STREQUAL "")
  message(FATAL_ERROR "graph --store memory printed on stdout:\n${OUT}")
endif()

# ---- dlq ---------------------------------------------------------------------------------
ctl(0 dlq list --store ${STORE})
expect_has("${OUT}" "poison-ingest-1")
expect_has("${OUT}" "tp-clean-sub")
expect_has("${OUT}" "cannot decode completion")
expect_has("${OUT}" "1 dead letter(s)")

ctl(0 dlq list --store ${STORE} --json)
expect_json("${OUT}" "1" count)
expect_json("${OUT}" "poison-ingest-1" dead_letters 0 id)
expect_json("${OUT}" "tp-raw-complete" dead_letters 0 source_topic)
expect_json("${OUT}" "2" dead_letters 0 attempts)

ctl(2 dlq replay --store ${STORE} --id nope)
expect_has("${ERR}" "no dead letter with id 'nope'")

ctl(0 dlq replay --store ${STORE} --id poison-ingest-1)
expect_has("${OUT}" "replayed poison-ingest-1 as poison-ingest-1~replay1 to tp-raw-complete")
ctl(0 dlq list --store ${STORE} --pending)
expect_has("${OUT}" "no dead letters")

# ---- --store is required -----------------------------------------------------------------
ctl(2 status --date 2025-03-01)
expect_has("${ERR}" "--store is required")
ctl(2 graph)
expect_has("${ERR}" "--store is required")
ctl(2 graph --date 2025-03-01)
expect_has("${ERR}" "--store is required")
ctl(2 dlq list)
expect_has("${ERR}" "--store is required")
ctl(2 dlq replay --id poison-ingest-1)
expect_has("${ERR}" "--store is required")

message(STATUS "pipelinectl status, graph and dlq behave on a three-phase pipeline")
