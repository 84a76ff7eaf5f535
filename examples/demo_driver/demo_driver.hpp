#pragma once
/// @file
/// The demo driver: one game day of the synthetic season through Phases 1–5 in one
/// process, in simulated time, then the mid-day injury update as an incremental wave.
///
/// Wiring: a `ManualClock` the driver advances (06:00 ET scrape, 14:00 ET injury update,
/// debounce windows — instant and deterministic), a `MemoryTransport` in pump mode, the
/// given `StateStore` (SQLite by default), one `OutboxRelay`, the Phase 2→3 and 3→4
/// `CompletionTracker`s from the NBA preset (the 2→3 one expecting exactly
/// `phase2::raw_processors()`), and the four example services. Phase 5: the Phase 4→5
/// tracker's trigger reaches the `BatchCoordinator` through a `HybridTrigger` (event path),
/// `PredictionWorker`s write versioned prediction rows into the warehouse, and the
/// trigger's `Scheduler` runs `DailySchedule::phase5()` (America/Los_Angeles) on the same
/// clock. Every wall-clock time is in its named zone (`nba_service_common/wall_clock.hpp`):
/// the day starts at 06:00 America/New_York (11:00Z = 03:00 PST in standard time, 10:00Z
/// = 03:00 PDT in daylight time), so the Pacific jobs fall after the event path (backup
/// 06:00 PT = 14:00Z / 13:00Z) and before the 14:00 ET injury update (19:00Z / 18:00Z).
/// Everything runs on the caller's thread.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "demo_driver/demo_report.hpp"
#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
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
  /// An already-open warehouse to use instead of opening `warehouse_path` (a backfill keeps
  /// one connection across its dates); it must outlive the call.
  nba::Warehouse* warehouse = nullptr;
  /// An already-built synthetic season (default seed) to use instead of building one (a
  /// backfill builds it once for all its dates); it must outlive the call.
  const nba::Season* season = nullptr;
  /// Where the scrapers write their files; empty: nothing is written, the day's payloads
  /// stay in memory (for runs that keep nothing, like a backfill over the memory store).
  std::filesystem::path data_dir;
  bool injury_update = true;              ///< Also run the 14:00 injury update wave.
  /// The date was run by a process that died in it: its Phase 5 batch is taken over
  /// (`BatchCoordinator::recover` with the owner dead) once the backlog has settled.
  bool take_over = false;
  /// Phase 5 variant: the Phase 4→5 trigger message is lost before the coordinator sees
  /// it (acknowledged, never handled), so the 06:00 PT scheduler backup starts the batch.
  bool lose_phase4_event = false;
  /// Fault variant: the services' transport drops, duplicates and fails a seeded share of
  /// deliveries and publishes; one prediction fails once; one poison message is sent.
  bool inject_faults = false;
  std::uint64_t fault_seed = 7;
  /// Watch every topic to report each trigger's deliveries, the traces and the Phase 5
  /// completions. Off (the backfill, which keeps only counts), those parts of the summary
  /// are empty and no message is decoded twice.
  bool observe_messages = true;
  /// A test hook: when set and true for (processor, date), that processor's runs fail on
  /// every delivery (they do not run), so its trigger dead-letters.
  std::function<bool(std::string_view processor, pipeline::CalendarDate date)> fail_processor;
};

/// Runs the demo and returns its report (`to_json` and `render_text` present it).
///
/// **Errors:** the store's or warehouse's errors (`kUnavailable`, …), `kInternal` when a
/// service cannot be wired. A processor that fails is reported in its run, not as an error.
pipeline::Result<DemoReport> run_demo(const DemoOptions& options);

/// The report as the JSON summary `pipelinectl demo --json` prints:
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
///     "tables": { table: rows for the date },
///     "phase5": { "zone", "lost_phase4_event", "batch_id", "correlation_id" (of the batch's
///                 completion: the run's, from Phase 1), "batches" (batch rows for the date),
///                 "triggered_by" ("event" | "scheduler"), "state", "jobs": [ {source ("event" |
///                 "backup" | "retry" | "status_check" | "event_lost"), at, local, game_date,
///                 outcome, message} ], "predictions" (current rows), "prediction_versions"
///                 (history rows), "expected", "done", "coverage" (done / expected, after the
///                 day), "status_check": {at, local, outcome, coverage, done, expected, message}?,
///                 "batch_version", "version_after_update", "update": {players: [id],
///                 count, version}?, "phase4_completed_at", "completed_at",
///                 "phase4_to_phase5_latency_seconds", "completions" (predictions-complete
///                 messages seen), "alerts": [ {severity, key, message} ] },
///     "faults"? (inject_faults): { "seed", "injected": {dropped, duplicated, publish_failures,
///                 deliveries, publishes}, "redeliveries", "relay_rounds_retried", "failed_once":
///                 {what, attempts}, "poison": {topic, id, dead_lettered}, "dlq_entries",
///                 "dlq_alerts": {delivered, suppressed}, "decisions": {tracker: {wave: n}},
///                 "trigger_deliveries": {topic: {trigger_id: n}}, "max_runs_per_processor_wave",
///                 "max_runs_processor" } }
///
/// Instants are RFC 3339 UTC; durations are simulated seconds.
nlohmann::json to_json(const DemoReport& report);

/// The report as text for a person: per-phase timeline, work per wave, trace.
std::string render_text(const DemoReport& report);

}  // namespace demo
