#pragma once

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/process/processor.hpp"

#include <atomic>
#include <mutex>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::inline v0 {

/// Extends the delivery deadline and renews the run lease on a clock timer.
class Processor::Heartbeat : public std::enable_shared_from_this<Heartbeat> {
 public:
  Heartbeat(Processor& p, RunKey key, DeliveryPtr delivery) : p_(p), key_(std::move(key)), delivery_(std::move(delivery)) {}
  void arm() {
    std::weak_ptr<Heartbeat> weak = weak_from_this();
    std::lock_guard lock(mu_);
    if (stopped_) return;
    timer_ = p_.clock_.schedule_after(p_.options_.heartbeat_interval, [weak] {
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
    // A missed beat is not an error of the run: if the next one misses too, the deadline
    // or the lease ends and the run is redelivered or taken over, which the run's
    // idempotent steps and its completion check already allow for.
    if (delivery_) discard_result(delivery_->extend_deadline(p_.options_.deadline_extension));
    discard_result(p_.history_.renew_lease(key_, p_.owner_));
    beats_.fetch_add(1, std::memory_order_relaxed);
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    if (timer_) p_.clock_.cancel(timer_);
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

PIPELINE_INLINE Status ProcessorOptions::validate() const {
  const std::pair<const char*, const std::string*> names[] = {
      {"name", &name}, {"phase", &phase}, {"completion_topic", &completion_topic}, {"entity_kind", &entity_kind}};
  for (const auto& [field, value] : names)
    if (value->empty()) return fail(ErrorCode::kInvalidArgument, "ProcessorOptions::{} must not be empty", field);
  if (name.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "ProcessorOptions::name '{}' must not contain '/'", name);
  if (skip_if_success_within < Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "ProcessorOptions::skip_if_success_within of '{}' must not be negative",
                name);
  if (heartbeat_interval <= Duration::zero() || deadline_extension <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument,
                "ProcessorOptions::heartbeat_interval and deadline_extension of '{}' must be positive", name);
  return ok();
}

PIPELINE_INLINE Processor::Processor(CreateKey /*key*/, Clock& clock, StateStore& store, RunHistory& history,
                                     ProcessorOptions options)
    : clock_(clock),
      store_(store),
      history_(history),
      options_(std::move(options)),
      owner_(fmt::format("{}@{}", options_.name, new_execution_id())) {
  MetricsSink& m = metrics_or_null(options_.metrics);
  Labels labels{{"processor", options_.name}};
  runs_ = m.counter("pipeline_processor_runs_total", "Processor runs that did work", labels);
  failures_ = m.counter("pipeline_processor_failures_total", "Processor runs that failed", labels);
  skips_ = m.counter("pipeline_processor_skips_total", "Redelivered triggers answered from run history", labels);
}

PIPELINE_INLINE std::string Processor::completion_id(const RunKey& key, int attempt) const {
  return fmt::format("{}/{}/w{}/a{}", options_.name, key.date, key.wave, attempt);
}

PIPELINE_INLINE std::string Processor::completion_row(const RunKey& key) const {
  return fmt::format("process/{}/{}/w{}/completion", options_.name, key.date, key.wave);
}

PIPELINE_INLINE std::string Processor::marker_key(std::string_view delivery_id) const {
  return fmt::format("consumed/{}/{}", options_.name, delivery_id);
}

PIPELINE_INLINE Result<RunReport> Processor::run(CalendarDate date, const Message* trigger, const RunOptions& options) {
  const RunKey key{options_.name, date, wave_of(trigger)};
  const std::string completion_key = completion_row(key);
  RunReport report;

  // 1. Dedup: this trigger's own success first (whatever its age), then run history.
  bool trigger_done = false;
  std::optional<StartOutcome> start;
  auto began = store_.transact([&](Transaction& tx) -> Status {
    trigger_done = false;  // the body may be re-run on kConflict
    std::optional<std::string> marker;
    if (options.delivery) {
      auto row = tx.get(marker_key(options.delivery->id()));
      if (!row) return fail(row.error());
      marker = std::move(*row);
    }
    if (marker && *marker == completion_key && !options.force) {
      trigger_done = true;
      return ok();
    }
    auto r = history_.try_start(tx, key, owner_, options_.skip_if_success_within, options.force);
    if (!r) return fail(r.error());
    // A new trigger answered from run history is answered so for good: its redelivery
    // after the window must not run the step either.
    if (r->decision == StartDecision::kSkipped && options.delivery)
      PIPELINE_TRY(tx.put(marker_key(options.delivery->id()), completion_key));
    start = std::move(*r);
    return ok();
  });
  if (!began) return fail(began.error());
  if (trigger_done || start->decision == StartDecision::kSkipped) {
    skips_->add();
    report.outcome = RunOutcome::kAlreadyDone;
    auto stored = republish_stored_completion(key);
    if (!stored) return fail(stored.error());
    report.completion = std::move(*stored);
    report.detail = fmt::format("{}{} for {} wave {} already succeeded; completion re-published",
                                trigger_done ? "this trigger of " : "", options_.name, date, key.wave);
    return report;
  }
  if (start->decision == StartDecision::kBusy) {
    report.outcome = RunOutcome::kBusy;
    report.detail = fmt::format("{} for {} wave {} is held by {}", options_.name, date, key.wave,
                                start->record.owner);
    return report;
  }
  const int attempt = start->record.attempts;

  // 2. Dependency check.
  if (options_.dependencies) {
    auto deps = options_.dependencies->check(options_.name, date);
    std::string why;
    if (!deps) {
      // An undeclared processor has no inputs to check.
      if (deps.error().code != ErrorCode::kNotFound) why = deps.error().to_string();
    } else if (!deps->ok()) {
      why = deps->problems();
    }
    if (!why.empty()) {
      PIPELINE_TRY(history_.record_failure(key, owner_, why));
      failures_->add();
      report.outcome = RunOutcome::kDependenciesFailed;
      report.detail = why;
      report.failures_in_a_row = start->record.failures_in_a_row + 1;
      return report;
    }
  }

  // 3. Change detection.
  std::vector<EntitySnapshot> snapshot;
  ProcessRequest request;
  request.date = date;
  request.wave = key.wave;
  request.trigger = trigger;
  if (options_.detector && !options_.detector->uses_snapshot()) {
    // A detector that reads its own source (a warehouse query): no snapshot to take.
    request.changes = options_.detector->detect(date, {});
  } else if (options_.detector) {
    auto snap = this->snapshot_for(date, trigger);
    if (snap) {
      snapshot = std::move(*snap);
      request.changes = options_.detector->detect(date, snapshot);
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
  const TimePoint started = clock_.now();
  Result<ProcessResult> result = fail(ErrorCode::kInternal, "process() did not run");
  if (!request.full() && request.changes.nothing_changed()) {
    // Nothing to do is still a completion: downstream trackers count it.
    ProcessResult nothing;
    nothing.entities_changed = EntityChanges{};
    // The upstream found nothing to do (a date without games): neither did this step.
    if (trigger != nullptr && trigger->status == CompletionStatus::kNoData) nothing.status = CompletionStatus::kNoData;
    result = std::move(nothing);
  } else {
    result = process(request);
  }
  beat->stop();
  const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  runs_->add();

  // 5. Record the outcome and the completion in one transaction.
  auto build = [&] {
    Message m = make_completion(date, key.wave, attempt, trigger, seconds);
    if (result) {
      m.status = result->status == CompletionStatus::kFailed ? CompletionStatus::kSuccess : result->status;
      m.record_count = result->record_count;
      m.entities_changed = result->entities_changed;
      if (m.entities_changed) normalize(*m.entities_changed);
      m.metadata = result->metadata->is_object() ? result->metadata : nlohmann::json::object();
    } else {
      m.status = CompletionStatus::kFailed;
      m.error = result.error().to_string();
      m.entities_changed = EntityChanges{};
    }
    m.metadata["wave"] = key.wave;
    m.metadata["attempt"] = attempt;
    if (!request.full()) m.metadata["entities_processed"] = report.entities_processed;
    if (request.changes.full_fallback && !request.changes.fallback_reason.empty())
      m.metadata["change_detection_fallback"] = request.changes.fallback_reason;
    return m;
  };
  Message completion = build();
  if (auto valid = validate_message(completion); !valid && result) {
    // A step whose outcome cannot be a completion (a bad entity id, a non-finite number
    // in its metadata) failed: recording it as a success would dead-letter downstream.
    result = fail(valid.error().code, "the step's result is not a valid completion: {}", valid.error().message);
    completion = build();
  }

  const std::string encoded = encode_message(completion);
  const std::string stable = completion_id(key, attempt);
  auto st = store_.transact([&](Transaction& tx) -> Status {
    if (result) {
      // Only a success marks the trigger done: a failed trigger's redelivery runs again.
      if (options.delivery) PIPELINE_TRY(tx.put(marker_key(options.delivery->id()), completion_key));
      PIPELINE_TRY(history_.mark_success(tx, key, owner_));
      if (options_.detector) PIPELINE_TRY(options_.detector->commit(tx, request.changes));
      PIPELINE_TRY(tx.put(completion_key, encoded));
    } else {
      PIPELINE_TRY(history_.mark_failure(tx, key, owner_, completion.error));
    }
    auto queued = tx.enqueue({options_.completion_topic, {stable, encoded, completion_attributes(completion)}});
    if (!queued) return fail(queued.error());
    return ok();
  });
  if (!st) return fail(st.error());
  if (options_.relay) options_.relay->notify();

  report.completion = std::move(completion);
  if (result) {
    report.outcome = RunOutcome::kCompleted;
  } else {
    failures_->add();
    report.outcome = RunOutcome::kFailed;
    report.detail = report.completion->error;
    report.failures_in_a_row = start->record.failures_in_a_row + 1;
  }
  return report;
}

PIPELINE_INLINE Handler Processor::handler() {
  return [this](DeliveryPtr delivery) {
    auto trigger = decode_message(delivery->payload());
    if (!trigger) {  // it will never decode: dead-letter it now rather than retry it
      best_effort_reject(*delivery, trigger.error().to_string());
      return;
    }
    auto report = run(trigger->partition_date, &*trigger, RunOptions{false, delivery});
    if (!report) {
      best_effort_nack(*delivery, report.error().to_string());
      return;
    }
    const bool done = report->outcome == RunOutcome::kCompleted || report->outcome == RunOutcome::kAlreadyDone;
    if (done)
      best_effort_ack(*delivery);
    else
      best_effort_nack(*delivery, report->detail);
  };
}

PIPELINE_INLINE Result<std::optional<Message>> Processor::stored_completion(CalendarDate date, int wave) {
  auto row = store_.get(completion_row(RunKey{options_.name, date, wave}));
  if (!row) return fail(row.error());
  if (!*row) return std::optional<Message>{};
  auto m = decode_message(**row);
  if (!m) return fail(m.error());
  return std::optional<Message>(std::move(*m));
}

PIPELINE_INLINE std::shared_ptr<Processor::Heartbeat> Processor::start_heartbeat(const RunKey& key, DeliveryPtr delivery) {
  auto beat = std::make_shared<Heartbeat>(*this, key, std::move(delivery));
  beat->arm();
  return beat;
}

PIPELINE_INLINE int Processor::wave_of(const Message* trigger) {
  if (!trigger || !trigger->metadata->is_object()) return 0;
  auto it = trigger->metadata->find("wave");
  if (it == trigger->metadata->end() || !it->is_number_integer()) return 0;
  const auto w = it->get<std::int64_t>();
  return w < 0 || w > 1000000 ? 0 : static_cast<int>(w);
}

PIPELINE_INLINE ChangeSet Processor::full_change_set(CalendarDate date, std::string reason) const {
  ChangeSet c;
  c.entity_kind = options_.entity_kind;
  c.date = date;
  c.full_fallback = true;
  c.fallback_reason = std::move(reason);
  return c;
}

PIPELINE_INLINE ChangeSet Processor::changes_from_trigger(CalendarDate date, const Message* trigger) const {
  if (!trigger || !trigger->entities_changed) return full_change_set(date, {});
  ChangeSet c;
  c.entity_kind = options_.entity_kind;
  c.date = date;
  if (auto it = trigger->entities_changed->find(options_.entity_kind); it != trigger->entities_changed->end())
    c.changed = it->second;
  return c;
}

PIPELINE_INLINE Message Processor::make_completion(CalendarDate date, int wave, int attempt, const Message* trigger, double seconds) const {
  Message m;
  m.processor_name = options_.name;
  m.phase = options_.phase;
  m.execution_id = new_execution_id();
  m.partition_date = date;
  m.output_table = options_.output_table;
  m.output_dataset = options_.output_dataset;
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

PIPELINE_INLINE Attributes Processor::completion_attributes(const Message& m) {
  Attributes a;
  if (!m.traceparent.empty()) a.emplace(std::string(attributes::kTraceparent), m.traceparent);
  return a;
}

PIPELINE_INLINE Result<std::optional<Message>> Processor::republish_stored_completion(const RunKey& key) {
  auto row = store_.get(completion_row(key));
  if (!row) return fail(row.error());
  if (!*row) return std::optional<Message>{};
  auto m = decode_message(**row);
  if (!m) return fail(m.error());
  if (options_.transport) {
    const int attempt = m->metadata->value("attempt", 1);
    auto st = options_.transport->publish(options_.completion_topic,
                                           {completion_id(key, attempt), **row, completion_attributes(*m)});
    if (!st) return fail(st.error());
  }
  return std::optional<Message>(std::move(*m));
}

}  // namespace pipeline::inline v0
