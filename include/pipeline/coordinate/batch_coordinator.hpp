#pragma once
/// @file
/// `BatchCoordinator`: one prediction batch per date, fanned out per entity through the outbox.
/// Its work message is `PredictionWork` (prediction_work.hpp); its states and outcomes are
/// in batch_state.hpp; its stored rows in batch_records.hpp.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/coverage_rules.hpp"
#include "pipeline/coordinate/batch_records.hpp"
#include "pipeline/coordinate/batch_report.hpp"
#include "pipeline/coordinate/batch_state.hpp"
#include "pipeline/coordinate/prediction_work.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

class OutboxRelay;

/// The answer of `start`, `trigger`, `retry` and `start_incremental`.
struct BatchResult {
  std::string batch_id;            ///< Empty only when no batch exists.
  BatchOutcome status = BatchOutcome::kRefused;
  std::string message;             ///< A sentence for logs and callers.
  int attempt = 0;                 ///< The batch's attempt (1 = the first fan-out).
  std::int64_t version = 0;        ///< The prediction version the published work writes.
  std::vector<std::string> published;  ///< Entity ids whose work was enqueued by this call.
};

/// Where "expected" and "done" come from: the entities that should get a prediction for
/// a date (e.g. the entities with upstream features) and those that have a stored one. Status,
/// retry and completion are computed from these, never from counters, so a worker that
/// crashed after storing still counts and one that never stored is retried.
///
/// **Thread safety:** called from whichever thread calls the coordinator (or runs the
/// clock's timers); implementations must be thread-safe if those differ.
class PredictionLedger {
 public:
  virtual ~PredictionLedger() = default;
  /// Entity ids expected to be predicted for `date` (any order, no duplicates needed).
  virtual Result<std::vector<std::string>> expected(CalendarDate date) = 0;
  /// Entity ids with a stored prediction for `date`, each with its current version.
  virtual Result<std::map<std::string, std::int64_t>> predicted(CalendarDate date) = 0;
};

/// Settings of a `BatchCoordinator`. The defaults are neutral names; a pipeline sets its
/// own topics, table and entity kind (the examples' are in examples/phase5_coordinator).
struct BatchCoordinatorOptions {
  std::string work_topic = "phase5-prediction-work";            ///< Per-entity work messages.
  std::string complete_topic = "phase5-predictions-complete";   ///< The completion message.
  std::string expected_phase = "phase4_precompute";             ///< `trigger` accepts only this phase.
  std::string phase = "phase5_predictions";                     ///< Phase of the completion message.
  std::string processor_name = "phase5_coordinator";
  std::string output_table = "predictions";  ///< `output_table` of the completion message.
  std::string entity_kind = "entities";      ///< Kind name in `entities_changed`.
  std::string key_prefix = "phase5";         ///< State rows live under `<key_prefix>/`.
  std::size_t max_incremental_per_date = 3;  ///< Cap of `start_incremental` per date.
  ReadinessGateOptions readiness{};              ///< 80% / 30 min / min 50 entities by default.
  /// How long past the end of its wait (`created + readiness.max_wait`) a waiting batch
  /// is left to the coordinator that created it. After that the owner is taken for dead:
  /// `start` and `recover` on any coordinator decide the batch from readiness now.
  Duration takeover_grace = std::chrono::minutes(5);
  CoverageRules coverage{};                  ///< The 07:00 status check alerts below 90%.
  /// Where the coordinator's metrics go (null: nowhere): `pipeline_batches_refused_total`
  /// (counter, +1 per refused batch) and `pipeline_batch_coverage_ratio` (gauge: the
  /// predicted fraction the last 07:00 status check counted, 1 once a batch completes;
  /// created at its first value, so no series reads 0 before anything was counted), both
  /// labelled `coordinator=<key_prefix>`. Must outlive the coordinator.
  MetricsSink* metrics = nullptr;
  /// Drained right after each commit that enqueued work or a completion, so it reaches the
  /// transport at once. Null: a relay elsewhere polls the outbox. Must outlive the
  /// coordinator.
  OutboxRelay* relay = nullptr;

  /// Every name set (topics, phases, processor, table, entity kind, a key prefix without
  /// '/'), a cap of at least 1, valid `readiness` options. **Errors:** `kInvalidArgument` naming the first bad option.
  [[nodiscard]] Status validate() const;
};

/// Runs Phase 5's batch for a game date: decides once per date whether to start, waits
/// on the clock for Phase 4 to be ready, fans out one work message per expected entity
/// through the transactional outbox, retries only the entities still missing, tracks
/// completion from the stored predictions and publishes `phase5-predictions-complete`
/// once, re-predicts single entities after a mid-day update (capped per date), and
/// reports status, coverage and health.
///
/// **Decided once, across processes.** Every decision is a store transaction. A batch is
/// a row keyed by date and batch number (`<prefix>/batch/<date>/<NNNN>`) created with a
/// conditional insert, so the event path and the scheduler path racing for one date —
/// in one process or several sharing the store — create ONE batch; the loser sees it
/// and gets `running` / `waiting`. Work messages and the completion message are
/// enqueued in the same transaction as the decision and published by the `OutboxRelay`
/// (drained right after each commit when one is given), so a crash never loses or
/// half-publishes a fan-out. Completion is decided by a conditional insert too.
///
/// **Batch life cycle:** waiting → running → complete, or waiting → refused. A complete
/// batch makes `start` return `already_complete` unless `force`, which creates batch
/// N+1 (a new id and a higher prediction version; history is kept). A waiting or running
/// batch is returned as is, even with `force`. A refused batch does not block a new one
/// (the 06:00 backup may succeed where a too-early event was refused).
///
/// **One correlation id per run:** a batch started by an event keeps the event's
/// `correlation_id` (the id the pipeline's first message, Phase 1's, started) and gives it
/// to every work message (`PredictionWork::correlation_id`) and to the completion message,
/// whose metadata names the batch id beside it; a batch started by the scheduler or by
/// hand uses its batch id.
///
/// **Readiness:** the coordinator owns a `ReadinessGate` over the given source; `start`
/// never blocks — the wait runs on the clock and `start` returns `waiting`. Ready (or
/// timed out with at least `min_entities`) fans out the ledger's expected entities;
/// otherwise the batch is refused with a critical alert (key `<prefix>/refused/<date>`).
/// A batch that proceeds only because the wait ran out (Phase 4 more than `max_wait`
/// late, at least `min_entities` ready) still raises a critical alert (key
/// `<prefix>/phase4_late/<date>`): the seeds treat Phase 4 over 30 min late as critical.
///
/// **Versions:** each fan-out that (re)predicts takes the date's next version (row
/// `<prefix>/version/<date>`); retries reuse the batch's version. A batch is complete
/// when every expected entity's stored version is at least the batch's version.
///
/// **Thread safety:** every member may be called from any thread, concurrently; state
/// lives in the store. Wait callbacks run on the clock's timer thread (`ManualClock`: the
/// thread calling `advance`). No internal lock is held while the ledger, the relay
/// (hence the transport and its handlers) or the alert manager is called, so a worker
/// subscribed through a synchronous transport may call `note_progress` re-entrantly.
/// Destroy the coordinator only when the clock no longer runs its timers (pending waits
/// are cancelled by the destructor).
/// **Performance:** `start`/`retry` cost a few transactions plus one ledger read and one
/// outbox entry per entity; `note_progress` reads the ledger twice (expected and
/// predicted) — call it per stored prediction only for small batches, or periodically.
/// `health()` scans every batch row of the store.
/// **Errors:** values, never exceptions: `kInvalidArgument` for bad input (wrong phase,
/// failed upstream, bad entity ids), `kFailedPrecondition` (no batch for `retry` /
/// `start_incremental`), the ledger's and the store's errors. Errors in steps that run
/// on the clock (the wait's fan-out) are recorded in `health().last_error` and refuse the
/// batch with an alert.
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp batch_coordinator
class BatchCoordinator {
 public:
  BatchCoordinator(const BatchCoordinator&) = delete;
  BatchCoordinator& operator=(const BatchCoordinator&) = delete;

  [[nodiscard]] const BatchCoordinatorOptions& options() const noexcept { return options_; }
  [[nodiscard]] ReadinessGate& gate() noexcept { return *gate_; }

  /// Validates `options` (`BatchCoordinatorOptions::validate`), then builds a coordinator.
  /// **Errors:** `kInvalidArgument` naming the first bad option.
  [[nodiscard]] static Result<std::unique_ptr<BatchCoordinator>> create(Clock& clock, StateStore& store,
                                                                      AlertManager& alerts, ReadinessSource& readiness,
                                                                      PredictionLedger& ledger,
                                                                      BatchCoordinatorOptions options = {});

  /// Starts (or finds) the date's batch. See the class comment for the decision.
  Result<BatchResult> start(CalendarDate date, bool force, BatchTrigger triggered_by);

  /// The event path: a Phase 4 completion message. Records the Phase 4 completion time
  /// (metadata `completed_at` in RFC 3339 when present, else now) for the latency, then
  /// starts the batch (or, for an incremental message listing changed entities, an
  /// incremental re-prediction of those). Counts `entities_ready` / `entities_total` in the
  /// metadata decide readiness without a query when they say ready. A message with
  /// status `no_data` (Phase 4 found nothing to do for the date: no games) completes the
  /// date's batch at once with nothing expected — no wait, no fan-out, no alert — and
  /// its completion message has status `no_data`.
  /// **Errors:** `kInvalidArgument` when the message is invalid, of the wrong phase
  /// ("expected phase 'phase4_precompute', got 'phase3_analytics'") or reports a failed run.
  Result<BatchResult> trigger(const Message& m);

  /// `trigger` on an encoded message. **Errors:** the decoder's (`kInvalidArgument`
  /// naming the field: no `game_date`, an impossible date, ...), then `trigger`'s.
  Result<BatchResult> trigger_payload(std::string_view payload);

  /// Records when Phase 4 completed for `date` (the first record wins). `trigger` calls
  /// it; a scheduler path that knows the time may call it too.
  Status record_phase4_completion(CalendarDate date, TimePoint at);

  /// Publishes work for the entities still missing (expected minus predicted at the
  /// batch's version) as attempt N+1 of the date's latest batch. Nothing missing:
  /// `complete` (and the batch is completed if it was not). A waiting batch: `waiting`,
  /// nothing published; a refused one: `refused`.
  /// **Errors:** `kFailedPrecondition` when no batch exists for the date.
  Result<BatchResult> retry(CalendarDate date);

  /// Re-predicts only `entities` for `date` after a mid-day update, as the date's next
  /// version (history is kept by the model). At most `max_incremental_per_date` per
  /// date: beyond it, an error alert (key `<prefix>/incremental_cap/<date>`) and
  /// `refused`. A batch still waiting returns `waiting` (its fan-out covers them).
  /// `correlation_id`: the run's (the event's); empty: `<batch_id>/v<version>`.
  /// **Errors:** `kInvalidArgument` (empty list, bad id), `kFailedPrecondition` (no batch).
  Result<BatchResult> start_incremental(CalendarDate date, std::vector<std::string> entities,
                                        BatchTrigger triggered_by, std::string correlation_id = {});

  /// Takes over the date's latest batch from a coordinator that died with it (a service
  /// calls it for today's date when it starts, and on a timer):
  /// - `waiting`, and its wait ended more than `takeover_grace` ago: decided now, as the
  ///   dead owner's wait would have at its deadline (`ReadinessGate::conclude`): fan out,
  ///   or refuse with a critical alert. `start` does the same when it meets such a batch.
  /// - `waiting`, its wait not over: left to its owner (`waiting`), unless `owner_dead`
  ///   (the caller knows it, e.g. the owner's process is gone): then this coordinator
  ///   waits for it with a full wait of its own.
  /// - `running`: completed if every expected entity is predicted (`note_progress`); its
  ///   work is in the outbox and the retry job sends what is still missing.
  /// Safe while the owner lives: a waiting batch leaves `waiting` in one conditional
  /// transaction, so of two deciders one fans out and the other sees it decided.
  /// Returns what the batch is now (`kRefused` with an empty id when the date has none).
  /// **Errors:** the store's and the ledger's.
  Result<BatchResult> recover(CalendarDate date, bool owner_dead = false);

  /// Checks the stored predictions; when every expected entity of the running batch
  /// (or of a running incremental re-prediction) is predicted, completes it and
  /// publishes the completion message through the outbox — once (conditional insert).
  /// Returns whether this call completed something.
  Result<bool> note_progress(CalendarDate date);

  /// The date's status from the latest batch row and the ledger.
  Result<BatchReport> status(CalendarDate date);

  /// A date's status from the store's rows alone, for tools that have no ledger (e.g.
  /// `pipelinectl status`): the latest batch row, the Phase 4 completion time, and the
  /// counts of the last 07:00 `status_check` (`counted_from` "status_check"), or, without
  /// one, the batch row's (`counted_from` "batch": all done once it is complete).
  /// `key_prefix` is the coordinator's `BatchCoordinatorOptions::key_prefix`.
  /// **Errors:** the store's; `kDataLoss` for an unreadable row.
  static Result<BatchReport> load_report(StateStore& store, std::string_view key_prefix, CalendarDate date);

  /// The 07:00 job: `status`, then on scope `<prefix>/<date>`
  /// `CoverageRules::alert_if_missing` (a warning when more than max(5%, 20) of the
  /// expected entities are missing) and `CoverageRules::alert_if_low_coverage` (an error
  /// below 90% by default). Its counts are stored (row `<prefix>/coverage/<date>`) for
  /// `load_report`.
  Result<StatusCheckResult> status_check(CalendarDate date);

  /// Every batch of `date`, oldest first (batch 1, 2, ... — `force` makes more than one),
  /// as typed values read from the batch rows. Empty when the date has none.
  /// **Errors:** the store's; `kDataLoss` for a row that is not a batch row.
  Result<std::vector<BatchInfo>> batches(CalendarDate date);

  /// Every incremental re-prediction of `date`, oldest first.
  /// **Errors:** the store's; `kDataLoss` for a row that is not an incremental row.
  Result<std::vector<IncrementalInfo>> incrementals(CalendarDate date);

  /// Batches waiting / running (a scan of every batch row), outbox backlog, last error.
  Result<CoordinatorHealth> health();

 private:
  using Latest = std::optional<std::pair<std::string, internal::BatchRecord>>;

  std::string batch_prefix(CalendarDate date) const;

  static Result<internal::BatchRecord> read_batch(Transaction& tx, const std::string& key);

  static Result<Latest> latest_in(Transaction& tx, const std::string& prefix);

  /// `load_report` without the rates and the default message (`status` adds the ledger's).
  static Result<BatchReport> read_rows(StateStore& store, std::string_view key_prefix, CalendarDate date);

  Result<Latest> latest_batch(CalendarDate date);

  Result<std::optional<TimePoint>> phase4_completed_at(CalendarDate date);

  Result<std::int64_t> next_version(Transaction& tx, CalendarDate date);

  Status enqueue_work(Transaction& tx, const internal::BatchRecord& rec, CalendarDate date, const std::string& entity,
                      std::string kind);

  /// Expected entities whose stored version is below `version` (or absent), sorted.
  static std::vector<std::string> missing_at(const std::vector<std::string>& expected,
                                             const std::map<std::string, std::int64_t>& predicted,
                                             std::int64_t version);

  Message completion_message(CalendarDate date, const internal::BatchRecord& rec, std::size_t expected,
                             std::optional<TimePoint> phase4) const;

  void relay();

  void note_error(std::string text);

  [[nodiscard]] MetricsSink& metrics() const noexcept { return metrics_or_null(options_.metrics); }

  /// Sets `pipeline_batch_coverage_ratio` (created on first use; see `BatchCoordinatorOptions::metrics`).
  void record_coverage(double ratio);

  /// `correlation_id`: the triggering message's, carried to the work and the completion
  /// (empty: the batch id).
  Result<BatchResult> start_impl(CalendarDate date, bool force, BatchTrigger triggered_by,
                                 std::optional<ReadinessCounts> counts, bool nothing_expected = false,
                                 std::string correlation_id = {});

  /// Whether a waiting batch's owner is overdue: its wait plus `takeover_grace` is over.
  [[nodiscard]] bool overdue(const internal::BatchRecord& rec) const;

  /// Decides an overdue waiting batch now, as its owner's wait would have at its end.
  BatchResult take_over(CalendarDate date, const std::string& key, const internal::BatchRecord& rec);

  /// The end of a wait: fan out, or refuse with a critical alert. `nothing_expected`:
  /// the upstream reported no data, so an empty ledger is the answer, not a refusal.
  BatchResult proceed(CalendarDate date, const std::string& key, const Readiness& r, bool nothing_expected = false);

  BatchCoordinator(Clock& clock, StateStore& store, AlertManager& alerts, PredictionLedger& ledger,
                   BatchCoordinatorOptions options, std::unique_ptr<ReadinessGate> gate)
      : clock_(clock),
        store_(store),
        alerts_(alerts),
        ledger_(ledger),
        options_(std::move(options)),
        refused_total_(metrics().counter("pipeline_batches_refused_total",
                                         "Batches refused because too few entities were ready",
                                         {{"coordinator", options_.key_prefix}})),
        gate_(std::move(gate)) {}

  Clock& clock_;
  StateStore& store_;
  AlertManager& alerts_;
  PredictionLedger& ledger_;
  BatchCoordinatorOptions options_;
  std::mutex mu_;  // guards last_error_
  std::string last_error_;
  std::shared_ptr<Counter> refused_total_;
  std::unique_ptr<ReadinessGate> gate_;  // last: destroyed first, cancelling waits that point at this object
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/batch_coordinator-inl.hpp"
#include "pipeline/coordinate/batch_coordinator_status-inl.hpp"
#endif
