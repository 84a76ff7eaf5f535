#pragma once
/// @file
/// `Processor`: the base every phase's processor derives from; a subclass writes only
/// the processing step.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/change/change_detector.hpp"
#include "pipeline/change/selective_filter.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"

namespace pipeline::inline v0 {

/// What a processor is and where its completion goes.
struct ProcessorConfig {
  std::string name;              ///< processor_name in its completions; no '/'.
  std::string phase;             ///< e.g. "phase3_analytics".
  std::string completion_topic;  ///< Where completions are published (through the outbox).
  std::string output_table;
  std::string output_dataset;
  /// The entity kind this processor works on ("players", "teams"); used to read the
  /// trigger's `entities_changed` when no `ChangeDetector` is configured.
  std::string entity_kind = "players";
  /// A success for the same (date, wave) within this window is not run again.
  Duration skip_if_success_within = std::chrono::hours(24);
  /// While the step runs: every `heartbeat_interval` the delivery's deadline is extended
  /// by `deadline_extension` and the run-history lease renewed, together.
  Duration heartbeat_interval = std::chrono::minutes(2);
  Duration deadline_extension = std::chrono::minutes(10);
};

/// The collaborators a processor uses. All references must outlive the processor.
struct ProcessorServices {
  StateStore& store;
  Clock& clock;
  RunHistory& history;
  /// Checks the processor's declared inputs before it runs; optional.
  DependencyChecker* dependencies = nullptr;
  /// Publishes the outbox after each commit (`notify`); optional — a relay elsewhere polls.
  OutboxRelay* relay = nullptr;
  /// Re-publishes a stored completion when a redelivered trigger finds the run done.
  Transport* transport = nullptr;
  MetricsSink* metrics = nullptr;
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
  nlohmann::json metadata = nlohmann::json::object();
};

/// How a `run` ended.
enum class RunOutcome {
  kCompleted,          ///< Processed; success recorded and completion enqueued in one transaction.
  kFailed,             ///< The step failed; failure and a `failed` completion recorded; retry by redelivery.
  kDependenciesFailed, ///< A critical input is missing or stale; nothing ran; retry later.
  kAlreadyDone,        ///< A success within the window exists; its stored completion was re-published.
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
};

/// Options of one `run`.
struct RunOptions {
  bool force = false;                  ///< Run even if a success exists within the window.
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
/// The dedup comes first (deliberately before the dependency check): a redelivered
/// trigger whose run already succeeded is answered — its stored completion re-published
/// with the same stable id — without reading any input. A run killed before it records
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
/// **Example:**
/// @code
///   class PlayerGameSummary final : public pipeline::Processor {
///    public:
///     using Processor::Processor;
///    protected:
///     pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
///       auto filter = req.sql_filter("player_id");          // bound values, never pasted ids
///       return upsert_summaries(req.date, *filter);         // idempotent upserts
///     }
///   };
/// @endcode
class Processor {
 public:
  Processor(ProcessorServices services, ProcessorConfig config, ChangeDetector* detector = nullptr)
      : services_(services),
        config_(std::move(config)),
        detector_(detector),
        owner_(fmt::format("{}@{}", config_.name, new_execution_id())) {
    MetricsSink& m = services_.metrics ? *services_.metrics : NullMetricsSink::instance();
    Labels labels{{"processor", config_.name}};
    runs_ = m.counter("pipeline_processor_runs_total", "Processor runs that did work", labels);
    failures_ = m.counter("pipeline_processor_failures_total", "Processor runs that failed", labels);
    skips_ = m.counter("pipeline_processor_skips_total", "Redelivered triggers answered from run history", labels);
  }

  virtual ~Processor() = default;
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  [[nodiscard]] const ProcessorConfig& config() const { return config_; }

  /// Runs the processor for `date`, triggered by `trigger` (nullable: a scheduled or
  /// manual run processes everything).
  Result<RunReport> run(CalendarDate date, const Message* trigger = nullptr, const RunOptions& options = {}) {
    const RunKey key{config_.name, date, wave_of(trigger)};
    RunReport report;

    // 1. Run-history dedup.
    auto start = services_.history.try_start(key, owner_, config_.skip_if_success_within, options.force);
    if (!start) return fail(start.error());
    if (start->decision == StartDecision::kBusy) {
      report.outcome = RunOutcome::kBusy;
      report.detail = fmt::format("{} for {} wave {} is held by {}", config_.name, date, key.wave,
                                  start->record.owner);
      return report;
    }
    if (start->decision == StartDecision::kSkipped) {
      skips_->add();
      report.outcome = RunOutcome::kAlreadyDone;
      auto stored = republish_stored_completion(key);
      if (!stored) return fail(stored.error());
      report.completion = std::move(*stored);
      report.detail = fmt::format("{} for {} wave {} already succeeded; completion re-published", config_.name, date,
                                  key.wave);
      return report;
    }
    const int attempt = start->record.attempts;

    // 2. Dependency check.
    if (services_.dependencies) {
      auto deps = services_.dependencies->check(config_.name, date);
      std::string why;
      if (!deps) {
        // An undeclared processor has no inputs to check.
        if (deps.error().code != ErrorCode::kNotFound) why = deps.error().to_string();
      } else if (!deps->ok()) {
        why = deps->problems();
      }
      if (!why.empty()) {
        PIPELINE_TRY(services_.history.record_failure(key, owner_, why));
        failures_->add();
        report.outcome = RunOutcome::kDependenciesFailed;
        report.detail = why;
        return report;
      }
    }

    // 3. Change detection.
    std::vector<EntitySnapshot> snapshot;
    ProcessRequest request;
    request.date = date;
    request.wave = key.wave;
    request.trigger = trigger;
    if (detector_) {
      auto snap = this->snapshot_for(date, trigger);
      if (snap) {
        snapshot = std::move(*snap);
        request.changes = detector_->detect(date, snapshot);
      } else {
        request.changes = full_change_set(date, fmt::format("snapshot failed: {}", snap.error().to_string()));
      }
    } else {
      request.changes = changes_from_trigger(date, trigger);
    }
    report.full = request.changes.full_fallback;
    report.entities_processed = report.full ? 0 : request.changes.ids_to_process().size();

    // 4. The processing step, with deadline extension and lease renewal on the clock.
    std::shared_ptr<Heartbeat> beat = start_heartbeat(key, options.delivery);
    request.heartbeat = [beat] { beat->beat(); };
    const TimePoint started = services_.clock.now();
    Result<ProcessResult> result = fail(ErrorCode::kInternal, "process() did not run");
    if (!request.full() && request.changes.nothing_changed()) {
      // Nothing to do is still a completion: downstream trackers count it.
      ProcessResult nothing;
      nothing.entities_changed = EntityChanges{};
      result = std::move(nothing);
    } else {
      result = process(request);
    }
    beat->stop();
    const double seconds = std::chrono::duration<double>(services_.clock.now() - started).count();
    runs_->add();

    // 5. Record the outcome and the completion in one transaction.
    Message completion = make_completion(date, key.wave, attempt, trigger, seconds);
    if (result) {
      completion.status = result->status == CompletionStatus::kFailed ? CompletionStatus::kSuccess : result->status;
      completion.record_count = result->record_count;
      completion.entities_changed = result->entities_changed;
      completion.metadata = result->metadata.is_object() ? result->metadata : nlohmann::json::object();
    } else {
      completion.status = CompletionStatus::kFailed;
      completion.error = result.error().to_string();
      completion.entities_changed = EntityChanges{};
    }
    completion.metadata["wave"] = key.wave;
    completion.metadata["attempt"] = attempt;
    if (!request.full()) completion.metadata["entities_processed"] = report.entities_processed;
    if (request.changes.full_fallback && !request.changes.fallback_reason.empty())
      completion.metadata["change_detection_fallback"] = request.changes.fallback_reason;

    const std::string encoded = encode_message(completion);
    const std::string stable = completion_id(key, attempt);
    const std::string completion_key = completion_row(key);
    auto st = services_.store.transact([&](Transaction& tx) -> Status {
      if (options.delivery) PIPELINE_TRY(tx.put(marker_key(options.delivery->id()), completion_key));
      if (result) {
        PIPELINE_TRY(services_.history.mark_success(tx, key, owner_));
        if (detector_) PIPELINE_TRY(detector_->commit(tx, request.changes));
        PIPELINE_TRY(tx.put(completion_key, encoded));
      } else {
        PIPELINE_TRY(services_.history.mark_failure(tx, key, owner_, completion.error));
      }
      auto queued = tx.enqueue({config_.completion_topic, {stable, encoded, completion_attributes(completion)}});
      if (!queued) return fail(queued.error());
      return ok();
    });
    if (!st) return fail(st.error());
    if (services_.relay) services_.relay->notify();

    report.completion = std::move(completion);
    if (result) {
      report.outcome = RunOutcome::kCompleted;
    } else {
      failures_->add();
      report.outcome = RunOutcome::kFailed;
      report.detail = report.completion->error;
    }
    return report;
  }

  /// The subscription handler: decodes the trigger (a unified `Message`), runs it, and
  /// settles the delivery — ack when completed or already done, nack (redelivery with
  /// backoff, then the dead-letter topic) when the step or its dependencies failed or
  /// the run is busy, nack with the decode error for a malformed trigger.
  Handler handler() {
    return [this](DeliveryPtr delivery) {
      auto trigger = decode_message(delivery->payload());
      if (!trigger) {
        (void)delivery->nack(trigger.error().to_string());
        return;
      }
      auto report = run(trigger->game_date, &*trigger, RunOptions{false, delivery});
      if (!report) {
        (void)delivery->nack(report.error().to_string());
        return;
      }
      const bool done = report->outcome == RunOutcome::kCompleted || report->outcome == RunOutcome::kAlreadyDone;
      if (done)
        (void)delivery->ack();
      else
        (void)delivery->nack(report->detail);
    };
  }

  /// The stored completion of a successful run, if any.
  Result<std::optional<Message>> stored_completion(CalendarDate date, int wave) {
    auto row = services_.store.get(completion_row(RunKey{config_.name, date, wave}));
    if (!row) return fail(row.error());
    if (!*row) return std::optional<Message>{};
    auto m = decode_message(**row);
    if (!m) return fail(m.error());
    return std::optional<Message>(std::move(*m));
  }

 protected:
  /// The processing step: process `request.changes` (everything when `request.full()`),
  /// idempotently. Return an `Error` to fail the run (it is retried by redelivery).
  virtual Result<ProcessResult> process(const ProcessRequest& request) = 0;

  /// The current entities of `date` for change detection; called only when a
  /// `ChangeDetector` was given. An error makes the run process everything.
  virtual Result<std::vector<EntitySnapshot>> snapshot(CalendarDate /*date*/) {
    return fail(ErrorCode::kFailedPrecondition, "this processor has no snapshot");
  }

  /// The current entities of `date` as of `trigger` (nullptr for a scheduled or manual
  /// run); called instead of `snapshot(date)` when a `ChangeDetector` was given. Override
  /// it when the trigger names the input to snapshot (a raw processor's scraped file);
  /// the default calls `snapshot(date)`.
  virtual Result<std::vector<EntitySnapshot>> snapshot_for(CalendarDate date, const Message* /*trigger*/) {
    return snapshot(date);
  }

 private:
  /// Extends the delivery deadline and renews the run lease on a clock timer.
  class Heartbeat : public std::enable_shared_from_this<Heartbeat> {
   public:
    Heartbeat(Processor& p, RunKey key, DeliveryPtr delivery) : p_(p), key_(std::move(key)), delivery_(std::move(delivery)) {}
    void arm() {
      std::weak_ptr<Heartbeat> weak = weak_from_this();
      std::lock_guard lock(mu_);
      if (stopped_) return;
      timer_ = p_.services_.clock.schedule_after(p_.config_.heartbeat_interval, [weak] {
        if (auto self = weak.lock()) {
          self->beat();
          self->arm();
        }
      });
    }
    void beat() {
      {
        std::lock_guard lock(mu_);
        if (stopped_) return;
      }
      if (delivery_) (void)delivery_->extend_deadline(p_.config_.deadline_extension);
      (void)p_.services_.history.renew_lease(key_, p_.owner_);
      beats_.fetch_add(1, std::memory_order_relaxed);
    }
    void stop() {
      std::lock_guard lock(mu_);
      stopped_ = true;
      if (timer_) p_.services_.clock.cancel(timer_);
    }

   private:
    Processor& p_;
    RunKey key_;
    DeliveryPtr delivery_;
    std::mutex mu_;
    bool stopped_ = false;
    TimerId timer_ = 0;
    std::atomic<int> beats_{0};
  };

  std::shared_ptr<Heartbeat> start_heartbeat(const RunKey& key, DeliveryPtr delivery) {
    auto beat = std::make_shared<Heartbeat>(*this, key, std::move(delivery));
    beat->arm();
    return beat;
  }

  static int wave_of(const Message* trigger) {
    if (!trigger || !trigger->metadata.is_object()) return 0;
    auto it = trigger->metadata.find("wave");
    if (it == trigger->metadata.end() || !it->is_number_integer()) return 0;
    const auto w = it->get<std::int64_t>();
    return w < 0 || w > 1000000 ? 0 : static_cast<int>(w);
  }

  ChangeSet full_change_set(CalendarDate date, std::string reason) const {
    ChangeSet c;
    c.entity_kind = config_.entity_kind;
    c.date = date;
    c.full_fallback = true;
    c.fallback_reason = std::move(reason);
    return c;
  }

  /// Without a detector: the trigger's ids of this processor's kind; a trigger that is
  /// full (or absent) means process everything. An incremental trigger that names other
  /// kinds only means this processor's entities did not change.
  ChangeSet changes_from_trigger(CalendarDate date, const Message* trigger) const {
    if (!trigger || !trigger->entities_changed) return full_change_set(date, {});
    ChangeSet c;
    c.entity_kind = config_.entity_kind;
    c.date = date;
    if (auto it = trigger->entities_changed->find(config_.entity_kind); it != trigger->entities_changed->end())
      c.changed = it->second;
    return c;
  }

  Message make_completion(CalendarDate date, int wave, int attempt, const Message* trigger, double seconds) const {
    Message m;
    m.processor_name = config_.name;
    m.phase = config_.phase;
    m.execution_id = new_execution_id();
    m.game_date = date;
    m.output_table = config_.output_table;
    m.output_dataset = config_.output_dataset;
    m.duration_seconds = seconds;
    m.is_incremental = wave > 0;
    if (trigger) {
      m.correlation_id = trigger->correlation_id.empty() ? trigger->execution_id : trigger->correlation_id;
      m.trace_links.push_back(TraceLink{trigger->execution_id, trigger->correlation_id});
      auto parent = TraceContext::parse(trigger->traceparent);
      m.traceparent = parent ? parent->child().to_string() : TraceContext::create().to_string();
    } else {
      m.correlation_id = m.execution_id;
      m.traceparent = TraceContext::create().to_string();
    }
    (void)attempt;
    return m;
  }

  static Attributes completion_attributes(const Message& m) {
    Attributes a;
    if (!m.traceparent.empty()) a.emplace(std::string(attributes::kTraceparent), m.traceparent);
    return a;
  }

  /// One completion per attempt: a failure and the retry's success are distinct events.
  std::string completion_id(const RunKey& key, int attempt) const {
    return fmt::format("{}/{}/w{}/a{}", config_.name, key.date, key.wave, attempt);
  }
  std::string completion_row(const RunKey& key) const {
    return fmt::format("process/{}/{}/w{}/completion", config_.name, key.date, key.wave);
  }
  std::string marker_key(std::string_view delivery_id) const {
    return fmt::format("consumed/{}/{}", config_.name, delivery_id);
  }

  Result<std::optional<Message>> republish_stored_completion(const RunKey& key) {
    auto row = services_.store.get(completion_row(key));
    if (!row) return fail(row.error());
    if (!*row) return std::optional<Message>{};
    auto m = decode_message(**row);
    if (!m) return fail(m.error());
    if (services_.transport) {
      const int attempt = m->metadata.value("attempt", 1);
      auto st = services_.transport->publish(config_.completion_topic,
                                             {completion_id(key, attempt), **row, completion_attributes(*m)});
      if (!st) return fail(st.error());
    }
    return std::optional<Message>(std::move(*m));
  }

  ProcessorServices services_;
  ProcessorConfig config_;
  ChangeDetector* detector_;
  std::string owner_;
  std::shared_ptr<Counter> runs_, failures_, skips_;
};

}  // namespace pipeline::inline v0
