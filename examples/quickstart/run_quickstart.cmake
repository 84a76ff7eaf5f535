# Runs the quickstart on a fresh database (PROGRAM, DB) and compares what it prints with
# EXPECTED; then runs it again on the same database: w0 was decided for good, and the
# loaders' new executions open the incremental wave w1.
file(REMOVE "${DB}" "${DB}-wal" "${DB}-shm")
execute_process(COMMAND "${PROGRAM}" "${DB}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "quickstart failed (${rc}):\n${out}\n${err}")
endif()
file(READ "${EXPECTED}" expected)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "quickstart printed:\n${out}\nexpected (${EXPECTED}):\n${expected}")
endif()
message(STATUS "quickstart output as expected:\n${out}")

execute_process(COMMAND "${PROGRAM}" "${DB}" RESULT_VARIABLE rc OUTPUT_VARIABLE again ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "quickstart failed on its second run (${rc}):\n${again}\n${err}")
endif()
# The loaders ran again (new executions): an incremental wave w1; w0 stays decided.
if(NOT again MATCHES "report service: trigger daily_report/2025-11-18/w1," OR again MATCHES "/w0")
  message(FATAL_ERROR "a second run on the same database should trigger w1 only:\n${again}")
endif()
message(STATUS "second run on the same database: w0 kept, the rerun is wave w1:\n${again}")
