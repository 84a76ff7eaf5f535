# Runs the real pipelinectl on a store written by make_three_phase_store (a three-phase
# pipeline that is not the NBA's) and checks exit codes and output of status, graph and dlq;
# and the exit codes of schedule, demo and backfill; prune on a backfilled store.
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

include("${CMAKE_CURRENT_LIST_DIR}/ctl_checks.cmake")

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
expect_has("${OUT}" "replayed poison-ingest-1 to tp-raw-complete with its original id (replay #1, outbox key poison-ingest-1~replay1)")
ctl(0 dlq replay --store ${STORE} --id poison-ingest-1 --json)
expect_json("${OUT}" "poison-ingest-1" id)
expect_json("${OUT}" "poison-ingest-1~replay2" outbox_key)
expect_json("${OUT}" "2" dead_letter replayed)
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

# ---- schedule, demo, backfill: exit codes (0 ok, 1 failed, 2 bad usage or input) ---------
ctl(0 schedule --from 2025-11-18 --days 1 --json)
expect_json("${OUT}" "2025-11-18T14:00:00Z" instants 0 utc)
expect_json("${OUT}" "2025-11-18T06:00:00" instants 0 local_time)
expect_json("${OUT}" "-08:00" instants 0 utc_offset)
ctl(0 schedule --from 2025-03-09 --days 1 --job early=02:30)
expect_has("${OUT}" "02:30 does not exist that day")
ctl(2 schedule --from 2025-02-30)
ctl(2 schedule --from 2025-11-18 --tz Nowhere/Zone)
ctl(2 schedule --from 2025-11-18 --job backup=25:00)
ctl(2 demo --date 2025-02-30)
ctl(1 demo --store "sqlite:${WORK_DIR}/no/such/dir/state.db")
ctl(2 backfill --from 2025-11-20 --to 2025-11-18 --store memory)

# ---- prune: a five-date backfill, then the rows of dates before the window go ------------
set(BF "sqlite:${WORK_DIR}/backfill.sqlite")
ctl(0 backfill --from 2025-11-18 --to 2025-11-22 --store ${BF} --work-dir "${WORK_DIR}/bf" --json)
ctl(2 prune --store ${BF} --older-than 3 --json)
expect_has("${ERR}" "is not a duration")
ctl(2 prune --store ${BF} --older-than 1d)
expect_has("${ERR}" "redelivery horizon")
ctl(2 prune --older-than 3d)
expect_has("${ERR}" "--store is required")
ctl(0 prune --store ${BF} --older-than 3d --dry-run --json)
expect_json("${OUT}" "ON" dry_run)
expect_json("${OUT}" "2025-11-22" newest)
expect_json("${OUT}" "2025-11-19" oldest_kept)
string(JSON would_go GET "${OUT}" total)
if(would_go LESS 100)
  message(FATAL_ERROR "prune --dry-run: only ${would_go} rows would go\n${OUT}")
endif()
# status shows the date's Phase 5 batch and the seeds' Go/No-Go.
ctl(0 status --store ${BF} --date 2025-11-22 --json)
expect_json("${OUT}" "complete" phase5 state)
expect_json("${OUT}" "ON" phase5 go)
expect_json("${OUT}" "batch" phase5 counted_from)  # complete: every expected entity predicted
ctl(0 status --store ${BF} --date 2025-11-22)
expect_has("${OUT}" "Go/No-Go: GO")
expect_has("${OUT}" "latency (wave 0)")
ctl(0 prune --store ${BF} --older-than 72h)
expect_has("${OUT}" "deleted the rows of dates before 2025-11-19")
ctl(0 prune --store ${BF} --older-than 72h --json)
expect_json("${OUT}" "0" total)
# The pruned date has nothing recorded; the kept ones are as they were; a rerun of the
# range skips every date (the backfill's own done rows are kept).
ctl(0 status --store ${BF} --date 2025-11-18)
expect_has("${ERR}" "nothing recorded")
ctl(0 status --store ${BF} --date 2025-11-22)
expect_has("${OUT}" "complete")
ctl(0 backfill --from 2025-11-18 --to 2025-11-22 --store ${BF} --work-dir "${WORK_DIR}/bf" --json)
expect_json("${OUT}" "5" skipped)

# ---- phase5: the coordinator's operations on the store alone ----------------------------
# An upstream completion with the generic readiness fields and its entity list.
file(WRITE "${WORK_DIR}/features_done.json"
  "{\"schema_version\":1,\"processor_name\":\"features\",\"phase\":\"phase4_precompute\",\"execution_id\":\"f-1\","
  "\"correlation_id\":\"c-1\",\"game_date\":\"2025-03-05\",\"status\":\"success\",\"record_count\":3,"
  "\"entities_changed\":{\"entities\":[\"e1\",\"e2\",\"e3\"]},"
  "\"metadata\":{\"entities_ready\":3,\"entities_total\":3}}")
file(WRITE "${WORK_DIR}/not_a_message.json" "{\"phase\": 4")
ctl(0 phase5 status --store ${STORE} --date 2025-03-05)
expect_has("${ERR}" "no Phase 5 batch")
ctl(0 phase5 trigger --store ${STORE} --message "${WORK_DIR}/features_done.json" --json)
expect_json("${OUT}" "started" status)
expect_json("${OUT}" "3" enqueued)
ctl(3 phase5 status --store ${STORE} --date 2025-03-05 --json)
expect_json("${OUT}" "running" state)
expect_json("${OUT}" "3" expected)
expect_json("${OUT}" "0" done)
expect_json("${OUT}" "OFF" go)
ctl(3 status --store ${STORE} --date 2025-03-05)
expect_has("${OUT}" "phase5: batch phase5-2025-03-05-b1 running")
ctl(0 phase5 retry --store ${STORE} --date 2025-03-05)
expect_has("${OUT}" "retrying 3 of 3 expected (3 work messages in the outbox)")
ctl(0 phase5 start --store ${STORE} --date 2025-03-05)
expect_has("${OUT}" "phase5-2025-03-05-b1 running")
ctl(2 phase5 trigger --store ${STORE} --message "${WORK_DIR}/not_a_message.json")
ctl(2 phase5 trigger --store ${STORE} --message "${WORK_DIR}/no_such_file.json")
ctl(2 phase5 retry --store ${STORE} --date 2025-03-09)
expect_has("${ERR}" "no batch exists")
ctl(2 phase5 start --store ${STORE})
ctl(2 phase5 start --date 2025-03-05)
expect_has("${ERR}" "--store is required")

ctl(2 no-such-command)

message(STATUS "pipelinectl status, graph, dlq, schedule, demo, backfill, prune and phase5 behave")
