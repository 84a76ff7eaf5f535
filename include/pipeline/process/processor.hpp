#pragma once
/// @file
/// `Processor`: the base every phase's processor derives from; a subclass writes only
/// the processing step.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>


#include "pipeline/change/change_detector.hpp"
#include "pipeline/change/selective_filter.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"

namespace pipeline::inline v0 {

/// What a processor is, where its completion goes, and its optional collaborators.
struct ProcessorOptions {
  std::string name;              ///< processor_name in its completions; no '/'.
  std::string phase;             ///< e.g. "phase3_analytics".
  std::string completion_topic;  ///< Where completions are published (through the outbox).
  std::string output_table;
  std::string output_dataset;
  /// The entity kind this processor works on ("players", "teams"); used to read the
  /// trigger's `entities_changed` when no `ChangeDetector` is configured.
  std::string entity_kind = "players";
  /// The policy for a NEW trigger (a delivery id this processor has not answered yet, or
  /// a run without a delivery) of a (date, wave) whose run already succeeded: within this
  /// window it is answered from run history (the stored completion re-published), after
  /// it the step runs again. It never applies to a trigger already answered: that one's
  /// redelivery or replay is answered from its own record, whatever the time.
  Duration skip_if_success_within = std::chrono::hours(24);
  /// While the step runs: every `heartbeat_interval` the delivery's deadline is extended
  /// by `deadline_extension` and the run-history lease renewed, together.
  Duration heartbeat_interval = std::chrono::minutes(2);
  Duration deadline_extension = std::chrono::minutes(10);

  // Optional collaborators (null: none); each must outlive the processor.
  /// Decides what changed since the last run; null: the trigger's `entities_changed` does.
  ChangeDetector* detector = nullptr;
  /// Checks the processor's declared inputs before it runs.
  DependencyChecker* dependencies = nullptr;
  /// Publishes the outbox after each commit (`notify`); null: a relay elsewhere polls.
  OutboxRelay* relay = nullptr;
  /// Re-publishes a stored completion when a redelivered trigger finds the run done.
  Transport* transport = nullptr;
  /// Where the run, failure and skip counters go.
  MetricsSink* metrics = nullptr;

  /// Names set (`name` without '/'), a non-negative skip window and positive heartbeat
  /// durations. **Errors:** `kInvalidArgument` naming the first bad option.
  [[nodiscard]] Status validate() const;
};

/// What the processing step is asked to do.
struct ProcessRequest {
  CalendarDate date;
  int wave = 0;
  /// The upstream trigger, when the run was triggered by a message.
  const Message* trigger = nullptr;
  /// What to process: `changes.full_fallback` means every entity; otherwise
  /// `changes.ids_to_process()`. Always set — built from the change detector, or from
  /// the trigger's `entities_changed` for this processor's entity kind.
  ChangeSet changes;
  /// Call from long loops: extends the delivery deadline and renews the run lease now.
  std::function<void()> heartbeat;

  [[nodiscard]] bool full() const { return changes.full_fallback; }
  /// The in-memory predicate over entity ids.
  [[nodiscard]] EntityFilter filter() const { return EntityFilter::from(changes); }
  /// The SQL predicate over `column` with bound values (never pasted ids).
  [[nodiscard]] Result<SqlFilter> sql_filter(std::string_view column) const {
    return sql_entity_filter(changes, column);
  }
};

/// What the processing step reports back.
struct ProcessResult {
  CompletionStatus status = CompletionStatus::kSuccess;  ///< success, partial or no_data.
  std::int64_t record_count = 0;
  /// Entities whose outputs changed; `std::nullopt` (full) when not known precisely.
  ChangedEntities entities_changed;
  JsonObject metadata;  ///< Copied into the completion message's metadata.
};

/// How a `run` ended.
enum class RunOutcome {
  kCompleted,          ///< Processed; success recorded and completion enqueued in one transaction.
  kFailed,             ///< The step failed; failure and a `failed` completion recorded; retry by redelivery.
  kDependenciesFailed, ///< A critical input is missing or stale; nothing ran; retry later.
  kAlreadyDone,        ///< This trigger already succeeded (any time ago), or a new trigger found a success
                       ///< within the window; the stored completion was re-published.
  kBusy,               ///< Another runner holds the run's lease.
};

constexpr std::string_view to_string(RunOutcome o) noexcept {
  switch (o) {
    case RunOutcome::kCompleted: return "completed";
    case RunOutcome::kFailed: return "failed";
    case RunOutcome::kDependenciesFailed: return "dependencies_failed";
    case RunOutcome::kAlreadyDone: return "already_done";
    case RunOutcome::kBusy: return "busy";
  }
  return "failed";
}

/// The report of one `run`.
struct RunReport {
  RunOutcome outcome = RunOutcome::kFailed;
  std::optional<Message> completion;  ///< The completion enqueued or re-published.
  std::size_t entities_processed = 0; ///< Ids handed to the step (0 for a full run: see `full`).
  bool full = false;                  ///< The step was asked to process everything.
  std::string detail;                 ///< A sentence: why it failed, skipped, …
  /// Failed runs of this processor, date and wave since its last success, this one
  /// included (`failed` and `dependencies_failed` only; 0 otherwise).
  int failures_in_a_row = 0;
};

/// Options of one `run`.
struct RunOptions {
  bool force = false;                  ///< Run even if this trigger or the run already succeeded.
  DeliveryPtr delivery;                ///< The delivery being handled (deadline extension, dedup marker).
};

/// The base of every processor: `run(date, trigger)` performs
///   run-history dedup → dependency check → change detection → the processing step
///   (full, or only the changed entities) → in ONE transaction: run-history success,
///   the change detector's fingerprints, the stored completion, the dedup marker of the
///   delivery, and the completion message in the outbox.
/// A failing step records the failure and enqueues a `failed` completion the same way.
/// While the step runs, a clock timer extends the delivery's deadline and renews the
/// run-history lease together, so a 30-minute batch is neither redelivered nor reclaimed.
///
/// The dedup comes first (deliberately before the dependency check) and has two rules:
/// - **A trigger that succeeded never runs again**, whatever the time: the success
///   records the delivery's stable id for (processor, date, wave) (`consumed/<processor>/<id>`,
///   in the success's transaction), so its redelivery — or its replay from the dead-letter
///   list, which keeps the id — is answered with the stored completion re-published under
///   the same stable id, without reading any input.
/// - **A new trigger** (another id) for a (date, wave) that already succeeded follows
///   `skip_if_success_within`: answered the same way within the window (and recorded as
///   answered, so the rule above holds for it too), run again after it.
/// A run without a delivery has no trigger id and follows the second rule. A failed
/// trigger is not recorded, so its redelivery runs again. A run killed before it records
/// success runs again, so **the processing step must be idempotent** (upserts keyed by
/// date and entity), which is also why a retry after a failure is safe.
///
/// Runs are identified by (processor, date, wave); the wave comes from the trigger's
/// `metadata.wave` (0 when absent), so an incremental wave of the same date is a new run.
///
/// **Thread safety:** `run` may be called from several threads; run history makes
/// concurrent runs of the same key exclusive (`kBusy`). The subclass's `process` and
/// `snapshot` are called on the thread that calls `run`.
/// **Performance:** three small store transactions per run plus the step's own work;
/// the change detector loads the date's fingerprints once per run.
/// **Errors:** `run` returns an `Error` only when the store fails (then nothing is
/// recorded and the delivery should be redelivered); every other ending is a
/// `RunReport`.
///
/// **Example:** a subclass, built by `create` (it cannot be built any other way: see `CreateKey`)
/// @snippet process_snippets_test.cpp processor
/// @snippet process_snippets_test.cpp processor_create
class Processor {
 protected:
  /// The proof that `create` is building: only `Processor` can make one, so a subclass
  /// whose constructors take it as their first parameter (`using Processor::Processor;`
  /// does) is built only through `create`, never with unvalidated options. A subclass
  /// that declares its own constructor takes a `CreateKey` first and passes it on.
  class CreateKey {
    friend class Processor;
    CreateKey() = default;
  };

 public:
  /// Builds a `P` (a subclass) from `CreateKey` and `args`, then validates its options
  /// (`ProcessorOptions::validate`). **Errors:** `kInvalidArgument` naming the first bad option.
  template <class P, class... Args>
  static Result<std::unique_ptr<P>> create(Args&&... args) {
    static_assert(std::is_base_of_v<Processor, P>, "Processor::create builds subclasses of Processor");
    auto p = std::make_unique<P>(CreateKey{}, std::forward<Args>(args)...);
    PIPELINE_TRY(p->options().validate());
    return p;
  }

  /// For subclasses (public so that `using Processor::Processor;` makes a public
  /// constructor `create` can call; the key keeps everyone else out): `clock`, `store`
  /// and `history` must outlive the processor.
  Processor(CreateKey key, Clock& clock, StateStore& store, RunHistory& history, ProcessorOptions options);

  virtual ~Processor() = default;
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  [[nodiscard]] const ProcessorOptions& options() const { return options_; }

  /// Runs the processor for `date`, triggered by `trigger` (nullable: a scheduled or
  /// manual run processes everything).
  Result<RunReport> run(CalendarDate date, const Message* trigger = nullptr, const RunOptions& options = {});

  /// The subscription handler: decodes the trigger (a unified `Message`), runs it, and
  /// settles the delivery — ack when completed or already done, nack (redelivery with
  /// backoff, then the dead-letter topic) when the step or its dependencies failed or
  /// the run is busy, reject (dead-letter at once) with the decode error for a malformed trigger.
  Handler handler();

  /// The stored completion of a successful run, if any.
  Result<std::optional<Message>> stored_completion(CalendarDate date, int wave);

 protected:
  /// The processing step: process `request.changes` (everything when `request.full()`),
  /// idempotently. Return an `Error` to fail the run (it is retried by redelivery).
  virtual Result<ProcessResult> process(const ProcessRequest& request) = 0;

  /// The current entities of `date` for change detection; called only when a
  /// `ChangeDetector` was given and it reads a snapshot (`uses_snapshot()`; a
  /// `QueryChangeDetector` does not). An error makes the run process everything.
  virtual Result<std::vector<EntitySnapshot>> snapshot(CalendarDate /*date*/) {
    return fail(ErrorCode::kFailedPrecondition, "this processor has no snapshot");
  }

  /// The current entities of `date` as of `trigger` (nullptr for a scheduled or manual
  /// run); called instead of `snapshot(date)` when a snapshot-reading `ChangeDetector` was given. Override
  /// it when the trigger names the input to snapshot (a raw processor's scraped file);
  /// the default calls `snapshot(date)`.
  virtual Result<std::vector<EntitySnapshot>> snapshot_for(CalendarDate date, const Message* /*trigger*/) {
    return snapshot(date);
  }

 private:
  /// Extends the delivery deadline and renews the run lease on a clock timer (processor-inl.hpp).
  class Heartbeat;

  std::shared_ptr<Heartbeat> start_heartbeat(const RunKey& key, DeliveryPtr delivery);

  static int wave_of(const Message* trigger);

  ChangeSet full_change_set(CalendarDate date, std::string reason) const;

  /// Without a detector: the trigger's ids of this processor's kind; a trigger that is
  /// full (or absent) means process everything. An incremental trigger that names other
  /// kinds only means this processor's entities did not change.
  ChangeSet changes_from_trigger(CalendarDate date, const Message* trigger) const;

  Message make_completion(CalendarDate date, int wave, int attempt, const Message* trigger, double seconds) const;

  static Attributes completion_attributes(const Message& m);

  /// One completion per attempt: a failure and the retry's success are distinct events.
  std::string completion_id(const RunKey& key, int attempt) const;
  std::string completion_row(const RunKey& key) const;
  std::string marker_key(std::string_view delivery_id) const;

  Result<std::optional<Message>> republish_stored_completion(const RunKey& key);

  Clock& clock_;
  StateStore& store_;
  RunHistory& history_;
  ProcessorOptions options_;
  std::string owner_;
  std::shared_ptr<Counter> runs_, failures_, skips_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/process/processor-inl.hpp"
#endif
