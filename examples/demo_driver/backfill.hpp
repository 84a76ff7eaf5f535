#pragma once
/// @file
/// Backfill over the demo driver: every date of a range through all five phases against
/// one state store and one warehouse, resumable. Include as "demo_driver/backfill.hpp".
///
/// A date is done only when every phase reached its end state: every tracker decided its
/// full wave complete (success or no_data), Phase 5's batch completed or was refused by
/// rule (its reason in the batch row), and nothing dead-lettered. A done date leaves the
/// row `backfill/done/<date>` (its short summary) in the store, written after the day's
/// own decisions committed; a re-run skips those dates. A date that did not finish is
/// reported `failed` with its reasons and not marked; a re-run replays its recorded dead
/// letters and runs it again.
///
/// Each date is run under a lease (demo_driver/date_lease.hpp), so two backfills on one
/// store never run a date at once: the second waits while the first runs it, then skips
/// it as done. A date whose holder died in it (kill -9, a crash) is taken over: the dead
/// run's `running` records are ended (`RunHistory::abandon_running`: its leases were in
/// simulated time, which the new run replays from the same morning), and, as its
/// transport was in memory and died with it, what the outbox had sent since the date
/// began is sent again (`StateStore::requeue_outbox`); consumers skip what they already
/// did by its stable id. The day itself is idempotent (run history per processor/date/wave,
/// tracker rows per processor/wave, one Phase 5 batch per date), so a date interrupted
/// half-way is simply run again.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace demo {

/// The `BackfillOptions::warehouse` value naming an in-memory warehouse (SQLite's own name).
inline constexpr std::string_view kMemoryWarehouse = ":memory:";

struct BackfillOptions {
  pipeline::CalendarDate from;
  pipeline::CalendarDate to;                ///< Inclusive.
  pipeline::StateStore* store = nullptr;    ///< Required; holds the done rows too.
  /// Scraped files (`scraped/`) and, by default, the warehouse file (`warehouse.db`). Empty:
  /// nothing goes to disk — the scraped payloads stay in memory and so, by default, does the
  /// warehouse (honest only with a store that does not outlive the run either).
  std::filesystem::path work_dir;
  /// The warehouse of the data tables, one connection for every date: a SQLite file, or
  /// `kMemoryWarehouse` for a private in-memory one. Empty: the default above.
  std::string warehouse;
  int stop_after = 0;                       ///< > 0: stop after running this many dates.
  /// Called after each date: (1-based index, total, date, skipped).
  std::function<void(int, int, pipeline::CalendarDate, bool)> progress;
  /// A test hook (`DemoOptions::fail_processor`): the processor's runs fail on that date.
  std::function<bool(std::string_view processor, pipeline::CalendarDate date)> fail_processor;
};

/// The row key marking `date` as backfilled.
std::string backfill_done_key(pipeline::CalendarDate date);

/// Runs the range and returns
///   { "from", "to", "warehouse" (its path or ":memory:"), "scraped" (the directory or "memory"),
///     "dates", "ran" (done), "skipped", "failed" (ran, not done), "remaining" (not run),
///     "complete" (every date done), "interrupted",
///     "phase5": { "batches_complete", "batches_refused", "predictions" },
///     "days": [ {date, status: "ran" | "skipped" | "failed", reasons? (failed: why, one
///                sentence each), summary?: {runs_total, tables, phase5}} ] }
/// (phase5 totals cover the dates run by this call).
/// **Errors:** `kInvalidArgument` (no store, `to` before `from`), the warehouse's when it
/// cannot be opened, then the first date's error (the dates before it stay marked done, so
/// a re-run resumes there).
pipeline::Result<nlohmann::json> run_backfill(const BackfillOptions& options);

}  // namespace demo
