#pragma once
/// @file
/// What one demo day reports, as typed values: `run_demo` fills a `DemoReport`, and only
/// `to_json` and `render_text` (demo_driver.hpp) turn it into JSON or text. Include as
/// "demo_driver/demo_report.hpp". Every member has a default initializer, so the driver's
/// designated initializers name only what they set.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nba_synthetic/season.hpp"
#include "pipeline/coordinate/batch_state.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/mocks/fault_injecting_transport.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"
#include "pipeline/process/processor.hpp"

namespace demo {

/// The label of a wave in the summary: wave 0 is the full day, later ones the injury update.
std::string wave_label(int wave);

/// What a run's completion message said (a run that did not get as far has none).
struct RunCompletion {
  std::string execution_id{};
  int wave = 0;
  pipeline::CompletionStatus status = pipeline::CompletionStatus::kSuccess;
};

/// One processor run, as the demo's observer saw it.
struct RunEntry {
  std::string processor{};
  pipeline::RunOutcome outcome = pipeline::RunOutcome::kFailed;
  bool full = false;
  std::size_t entities_processed = 0;
  double wall_ms = 0.0;                            ///< Real time the run took (not simulated).
  std::int64_t records = 0;                        ///< From the completion; 0 without one.
  std::map<std::string, std::int64_t> entities{};  ///< Entities written per kind (completion metadata).
  std::optional<std::string> detail{};             ///< Why it failed, skipped, …
  std::optional<RunCompletion> completion{};
  /// The changed ids per kind, kept only when there are at most 10 of them in all.
  std::optional<pipeline::EntityChanges> entity_ids{};
};

/// The trigger message of a decided wave, as the demo saw it on its topic.
struct SeenTrigger {
  bool is_incremental = false;
  pipeline::ChangedEntities entities_changed{};  ///< nullopt: everything.
};

/// A tracker's decision for one wave (Phases 3–4).
struct TriggerReport {
  std::string trigger_id{};
  std::string reason{};
  std::string status{};
  std::vector<std::string> upstream_processors{};
  std::vector<std::string> run_processors{};
  std::optional<pipeline::TimePoint> first_completion{};
  std::optional<pipeline::TimePoint> decided_at{};
  int deliveries_seen = 0;          ///< Deliveries of the trigger seen by the demo's watcher.
  std::optional<SeenTrigger> seen{};  ///< Absent when the message was not seen (an earlier run sent it).

  /// Simulated time from the wave's first completion to the decision, when both are known.
  [[nodiscard]] std::optional<pipeline::Duration> latency() const {
    if (!first_completion || !decided_at) return std::nullopt;
    return *decided_at - *first_completion;
  }
};

/// One phase within a wave: its runs and the totals of those that completed.
struct PhaseReport {
  std::string phase{};
  std::vector<RunEntry> runs{};
  std::int64_t completed = 0;
  std::int64_t records = 0;
  std::int64_t entity_runs = 0;  ///< Entities written, summed over the completed runs.
  /// A tracker triggers this phase (Phases 3–4): the summary shows `trigger`, null when
  /// the wave's trigger was not decided.
  bool tracked = false;
  std::optional<TriggerReport> trigger{};
};

/// One wave: the 06:00 full day (wave 0) or the 14:00 injury update (wave 1).
struct WaveReport {
  int wave = 0;
  pipeline::TimePoint started_at{};
  std::optional<nba::InjuryUpdate> update{};  ///< The status change that started an update wave.
  std::vector<PhaseReport> phases{};
};

/// One hop of a trace, from the scheduler's trigger to a Phase 4 trigger.
struct TraceHop {
  std::string phase{};
  std::string processor{};
  std::string execution_id{};
  std::string correlation_id{};
  std::string traceparent{};
  std::string trace_id{};  ///< Empty when the traceparent does not parse.
  std::vector<std::string> trace_links{};
};

/// A phase's entity-runs per wave, to compare the update's work with the full day's.
struct PhaseWork {
  std::int64_t full = 0;
  std::optional<std::int64_t> injury_update{};  ///< Set when the update wave ran.
  /// 100 × (1 − update / full); nullopt without an update or when the full day wrote nothing.
  std::optional<double> reduction_pct{};
};

/// A Phase 5 event or scheduled job, as the hybrid trigger handled it (or the lost event).
struct Phase5Job {
  std::string source{};  ///< "event" | "backup" | "retry" | "status_check" | "event_lost".
  pipeline::TimePoint at{};
  std::string local{};   ///< `at` on the Pacific schedule ("06:00 PST").
  std::optional<pipeline::CalendarDate> game_date{};  ///< None for a duplicate event.
  std::string outcome{};
  std::string message{};
};

/// The 07:00 PT status check and the coverage it saw.
struct StatusCheck {
  pipeline::TimePoint at{};
  std::string local{};
  std::string outcome{};
  double coverage = 0.0;
  std::size_t done = 0;
  std::size_t expected = 0;
  std::string message{};
};

/// The injury update's re-predictions: a newer version for these players.
struct PredictionUpdate {
  std::vector<std::string> players{};
  std::int64_t version = 0;
};

/// Phase 5: the batch, every event and job, predictions, coverage, the update's
/// re-predictions and the Phase 4→5 latency.
struct Phase5Report {
  std::string zone{};
  bool lost_phase4_event = false;
  std::string batch_id{};
  /// The batch's predictions-complete message's correlation id (the run's, from Phase 1);
  /// empty when that message was not seen.
  std::string correlation_id{};
  std::size_t batches = 0;  ///< Batch rows for the date.
  std::optional<pipeline::BatchTrigger> triggered_by{};
  pipeline::BatchState state = pipeline::BatchState::kNone;
  std::vector<Phase5Job> jobs{};
  std::int64_t predictions = 0;          ///< Current prediction rows.
  std::int64_t prediction_versions = 0;  ///< History rows.
  std::size_t expected = 0;              ///< After the day.
  std::size_t done = 0;
  double coverage = 0.0;
  std::optional<StatusCheck> status_check{};
  std::int64_t batch_version = 0;
  std::optional<PredictionUpdate> update{};  ///< When a version after the batch's exists.
  std::optional<pipeline::TimePoint> phase4_completed_at{};
  std::optional<pipeline::TimePoint> completed_at{};
  std::optional<pipeline::Duration> phase4_to_phase5_latency{};
  int completions = 0;  ///< Predictions-complete messages seen.
  std::vector<pipeline::Alert> alerts{};
};

/// The fault variant's account: what was injected and that the pipeline still decided
/// each trigger once and ran each processor at most once per wave.
struct FaultSummary {
  std::uint64_t seed = 0;
  pipeline::mocks::FaultCounts injected{};
  int relay_rounds_retried = 0;  ///< Relay rounds that hit a failed publish.
  std::string failed_once{};       ///< The step that failed once.
  int failed_once_attempts = 0;
  std::string poison_topic{};
  std::string poison_id{};
  bool poison_dead_lettered = false;
  std::size_t dlq_entries = 0;
  std::uint64_t dlq_alerts_delivered = 0;
  std::uint64_t dlq_alerts_suppressed = 0;
  std::map<std::string, std::map<int, int>> decisions{};  ///< tracker -> wave -> decision rows written.
  std::map<std::string, std::map<std::string, int>> trigger_deliveries{};  ///< topic -> trigger id -> n.
  int max_runs_per_processor_wave = 0;
  std::string max_runs_processor{};
};

/// One role of the multi-process demo, over all its incarnations.
struct ProcessReport {
  std::string role{};               ///< "phase2_raw#2": the service, and which of its processes.
  std::vector<int> pids{};          ///< Every incarnation, in order.
  std::int64_t deliveries = 0;      ///< Deliveries handled (the lines its log shows).
  std::int64_t redeliveries = 0;    ///< Of those, deliveries after the first attempt.
  int restarts = 0;                 ///< Started again by the supervisor after it died.
  int kills = 0;                    ///< SIGKILLs the chaos sent it.
  std::optional<int> exit_code{};   ///< Of its last incarnation, after the SIGTERM.
};

/// The multi-process demo's account: its processes, the faults and what held after them.
struct DistributedSummary {
  std::string transport{};  ///< The broker's label.
  std::vector<ProcessReport> processes{};
  int kills = 0;
  int restarts = 0;
  std::int64_t redeliveries = 0;
  std::size_t provisioned = 0;        ///< Subscriptions created before any publisher started.
  std::string poison_id{};            ///< Empty without chaos.
  bool poison_dead_lettered = false;
  std::size_t dlq_entries = 0;        ///< Dead letters recorded (with their alerts).
  std::size_t dlq_alerts = 0;
  /// Trigger topic -> wave -> distinct trigger ids published for it (1: decided once).
  std::map<std::string, std::map<int, int>> decisions{};
  /// The most completion messages with different execution ids, successful, for one
  /// processor in one wave (1: no run succeeded twice), and that processor.
  int max_successes_per_processor_wave = 0;
  std::string max_successes_processor{};
  std::map<std::string, std::size_t> unacked{};  ///< Subscriptions with entries left unacknowledged.
  std::size_t outbox_unsent = 0;                 ///< Outbox rows not yet sent at the end.
  std::vector<std::string> undelivered{};        ///< Decided triggers no watcher saw.
};

/// Everything one demo day reports.
struct DemoReport {
  pipeline::CalendarDate date{};
  std::string store{};  ///< The store's label.
  std::filesystem::path warehouse{};
  std::filesystem::path data_dir{};
  pipeline::TimePoint finished_at{};  ///< Simulated.
  std::vector<WaveReport> waves{};
  std::map<std::string, pipeline::TrackerStatus> trackers{};
  std::map<std::string, std::vector<TraceHop>> trace{};  ///< Wave label -> hops.
  std::map<std::string, PhaseWork> work{};               ///< Phase -> entity-runs per wave.
  std::map<std::string, std::uint64_t> runs_total{};     ///< Processor -> steps run by this invocation.
  std::map<std::string, std::optional<std::int64_t>> tables{};  ///< Rows for the date; nullopt: unreadable.
  Phase5Report phase5{};
  std::optional<FaultSummary> faults{};  ///< The fault variant only.
  std::optional<DistributedSummary> distributed{};  ///< The multi-process demo only.
  /// Dead letters recorded while this run went (every consumed topic's), not in the JSON.
  std::uint64_t dead_letters = 0;
};

}  // namespace demo
