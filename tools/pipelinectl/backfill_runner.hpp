#pragma once
// The hook through which `pipelinectl backfill` runs one date through all five phases.
// The demo driver (examples/demo_driver) registers the real runner from the file that
// links it:
//
//   static const bool kBackfillHook = [] {
//     pipelinectl::day_runner() = [](pipeline::StateStore& store, pipeline::CalendarDate date,
//                                    const std::filesystem::path& work_dir)
//         -> pipeline::Result<nlohmann::json> { /* run the day; return its summary */ };
//     return true;
//   }();
//
// Without a registered runner, backfill reports that it is not built in (exit 1).
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipelinectl {

/// Runs `date` through every phase against `store`; returns the day's summary (JSON
/// object). `work_dir` holds the warehouse and scraped files across dates. Must be
/// idempotent: a date run twice decides nothing twice.
using DayRunner = std::function<pipeline::Result<nlohmann::json>(pipeline::StateStore&, pipeline::CalendarDate,
                                                                 const std::filesystem::path& work_dir)>;

inline DayRunner& day_runner() {
  static DayRunner runner;
  return runner;
}

}  // namespace pipelinectl
