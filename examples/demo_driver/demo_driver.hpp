#pragma once
/// @file
/// The demo driver: one game day of the synthetic season through Phases 1–4 in one
/// process, in simulated time, then the mid-day injury update as an incremental wave.
///
/// Wiring: a `ManualClock` the driver advances (06:00 ET scrape, 14:00 ET injury update,
/// debounce windows — instant and deterministic), a `MemoryTransport` in pump mode, the
/// given `StateStore` (SQLite by default), one `OutboxRelay`, the Phase 2→3 and 3→4
/// `CompletionTracker`s from the NBA preset (the 2→3 one expecting exactly
/// `phase2::raw_processors()`), and the four example services. Everything runs on the
/// caller's thread.

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace demo {

struct DemoOptions {
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
  /// The state store (run history, trackers, outbox, fingerprints). Required.
  pipeline::StateStore* store = nullptr;
  std::string store_label;                ///< How to name the store in the output ("sqlite:/tmp/…").
  std::filesystem::path warehouse_path;   ///< The SQLite warehouse of the data tables.
  std::filesystem::path data_dir;         ///< Where the scrapers write their files.
  bool injury_update = true;              ///< Also run the 14:00 injury update wave.
};

/// Runs the demo and returns its summary (the JSON `pipelinectl demo --json` prints):
///
///   { "date", "store", "warehouse", "data_dir", "finished_at",
///     "waves": [ { "wave", "label" ("full" | "injury_update"), "started_at",
///                  "update"?: {player, team, before, after, reason},
///                  "phases": [ { "phase", "completed", "records", "entity_runs",
///                                "runs": [ {processor, outcome, wave, status, records,
///                                           entities: {kind: n}, entity_ids?: {kind: [id]} (≤ 10 ids),
///                                           full, entities_processed, wall_ms, execution_id, detail?} ],
///                                "trigger"? (Phases 3–4; null when not decided in this wave):
///                                  {trigger_id, reason, status, upstream_processors, run_processors,
///                                   first_completion, decided_at, latency_seconds (simulated),
///                                   deliveries_seen, is_incremental, entities_changed (null = all)} } ] } ],
///     "trackers": { name: TrackerStatus::to_json() },
///     "trace": { "full" | "injury_update": [ {phase, processor, execution_id, correlation_id,
///                                             traceparent, trace_id, trace_links} ] },
///     "work": { phase: {full, injury_update, reduction_pct} },   // entity-runs per wave
///     "runs_total": { processor: n },   // processing steps run by this invocation
///     "tables": { table: rows for the date } }
///
/// **Errors:** the store's or warehouse's errors (`kUnavailable`, …), `kInternal` when a
/// service cannot be wired. A processor that fails is reported in its run, not as an error.
pipeline::Result<nlohmann::json> run_demo(const DemoOptions& options);

/// The summary as text for a person: per-phase timeline, work per wave, trace.
std::string render_text(const nlohmann::json& summary);

}  // namespace demo
