#pragma once

#include "pipeline/coordinate/batch_coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::inline v0 {

namespace internal {
// Where a readiness wait leaves its answer: the wait may answer on the caller's thread
// (the first poll) or later on the clock's timer thread, while the caller reads it.
class AnswerSlot {
 public:
  void set(BatchResult r) {
    std::lock_guard lock(mu_);
    value_ = std::move(r);
  }
  [[nodiscard]] std::optional<BatchResult> get() const {
    std::lock_guard lock(mu_);
    return value_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<BatchResult> value_;
};
}  // namespace internal

PIPELINE_INLINE Status BatchCoordinatorOptions::validate() const {
  const std::pair<const char*, const std::string*> names[] = {
      {"work_topic", &work_topic},         {"complete_topic", &complete_topic}, {"expected_phase", &expected_phase},
      {"phase", &phase},                   {"processor_name", &processor_name}, {"output_table", &output_table},
      {"entity_kind", &entity_kind},       {"key_prefix", &key_prefix}};
  for (const auto& [name, value] : names)
    if (value->empty()) return fail(ErrorCode::kInvalidArgument, "BatchCoordinatorOptions::{} must not be empty", name);
  if (key_prefix.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "BatchCoordinatorOptions::key_prefix '{}' must not contain '/'", key_prefix);
  if (max_incremental_per_date == 0)
    return fail(ErrorCode::kInvalidArgument, "BatchCoordinatorOptions::max_incremental_per_date must be at least 1");
  return readiness.validate();
}

PIPELINE_INLINE Result<std::unique_ptr<BatchCoordinator>> BatchCoordinator::create(
    Clock& clock, StateStore& store, AlertManager& alerts, ReadinessSource& readiness, PredictionLedger& ledger,
    BatchCoordinatorOptions options) {
  PIPELINE_TRY(options.validate());
  auto gate = ReadinessGate::create(clock, readiness, options.readiness);
  if (!gate) return fail(gate.error());
  return std::unique_ptr<BatchCoordinator>(
      new BatchCoordinator(clock, store, alerts, ledger, std::move(options), std::move(*gate)));
}

PIPELINE_INLINE std::string BatchCoordinator::batch_prefix(CalendarDate date) const {
  return fmt::format("{}/batch/{}/", options_.key_prefix, date);
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::start(CalendarDate date, bool force, BatchTrigger triggered_by) {
  return start_impl(date, force, triggered_by, std::nullopt);
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::trigger(const Message& m) {
  PIPELINE_TRY(validate_message(m));
  if (m.phase != options_.expected_phase)
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("expected phase '{}', got '{}'", options_.expected_phase, m.phase),
                      {{"execution_id", m.execution_id}}});
  if (m.status == CompletionStatus::kFailed)
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("{} reported a failed run for {}: {}", m.processor_name, m.partition_date, m.error),
                      {{"execution_id", m.execution_id}}});
  TimePoint done_at = clock_.now();
  if (m.metadata["completed_at"].is_string()) {
    if (auto t = parse_rfc3339(m.metadata["completed_at"].get<std::string>())) done_at = *t;
  }
  PIPELINE_TRY(record_phase4_completion(m.partition_date, done_at));
  // What it says about readiness and the entities, for tools that read the store alone
  // (`StoredUpstream`); a later message's counts replace the earlier ones, a full
  // completion's entity list stays until another full one lists them.
  if (auto summary = UpstreamSummary::from_message(m, options_.entity_kind)) {
    const std::string key = StoredUpstream::summary_key(options_.key_prefix, m.partition_date);
    PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
      UpstreamSummary merged = *summary;
      auto old = tx.get(key);
      if (!old) return fail(old.error());
      if (*old && !merged.entities)
        if (auto before = UpstreamSummary::decode(**old)) merged.entities = std::move(before->entities);
      return tx.put(key, merged.encode());
    }));
  }
  // Phase 4 found nothing to do (a date without games; its trigger lists no changes):
  // neither does Phase 5.
  // The run's correlation id goes on to the work, the predictions and the completion.
  const std::string& correlation = m.correlation_id.empty() ? m.execution_id : m.correlation_id;
  if (m.status == CompletionStatus::kNoData)
    return start_impl(m.partition_date, false, BatchTrigger::kEvent, std::nullopt, true, correlation);
  if (m.is_incremental && m.entities_changed) {
    auto it = m.entities_changed->find(options_.entity_kind);
    if (it != m.entities_changed->end() && !it->second.empty())
      return start_incremental(m.partition_date, it->second, BatchTrigger::kEvent, correlation);
  }
  return start_impl(m.partition_date, false, BatchTrigger::kEvent, ReadinessGate::counts_from_message(m), false,
                    correlation);
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::trigger_payload(std::string_view payload) {
  auto m = decode_message(payload);
  if (!m) return fail(m.error());
  return trigger(*m);
}

PIPELINE_INLINE Status BatchCoordinator::record_phase4_completion(CalendarDate date, TimePoint at) {
  const std::string key = fmt::format("{}/phase4/{}", options_.key_prefix, date);
  return store_.transact([&](Transaction& tx) -> Status {
    auto r = tx.insert(key, std::to_string(internal::to_ns(at)));
    if (!r) return fail(r.error());
    return ok();
  });
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::retry(CalendarDate date) {
  auto latest = latest_batch(date);
  if (!latest) return fail(latest.error());
  if (!*latest)
    return fail(ErrorCode::kFailedPrecondition, "no batch exists for {}; start one before retrying", date);
  const internal::BatchRecord seen = (*latest)->second;
  if (seen.state == BatchState::kWaiting) return BatchResult{seen.batch_id, BatchOutcome::kWaiting, "the batch is still waiting for Phase 4", seen.attempts, seen.version, {}};
  if (seen.state == BatchState::kRefused) return BatchResult{seen.batch_id, BatchOutcome::kRefused, seen.message, seen.attempts, seen.version, {}};
  auto expected = ledger_.expected(date);
  if (!expected) return fail(expected.error());
  auto predicted = ledger_.predicted(date);
  if (!predicted) return fail(predicted.error());
  const auto missing = missing_at(*expected, *predicted, seen.version);
  if (missing.empty()) {
    PIPELINE_TRY(note_progress(date));
    return BatchResult{seen.batch_id, BatchOutcome::kComplete,
                       fmt::format("nothing missing: {} of {} predicted", expected->size(), expected->size()),
                       seen.attempts, seen.version, {}};
  }
  BatchResult out;
  const std::string key = (*latest)->first;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    out = {};
    auto rec = read_batch(tx, key);
    if (!rec) return fail(rec.error());
    rec->attempts += 1;
    rec->state = BatchState::kRunning;
    rec->expected = expected->size();
    for (const auto& entity : missing) PIPELINE_TRY(enqueue_work(tx, *rec, date, entity, "retry"));
    PIPELINE_TRY(tx.put(key, rec->encode()));
    out = BatchResult{rec->batch_id, BatchOutcome::kRetrying,
                      fmt::format("retrying {} of {} expected", missing.size(), expected->size()), rec->attempts,
                      rec->version, missing};
    return ok();
  });
  if (!st) return fail(st.error());
  relay();
  return out;
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::start_incremental(CalendarDate date,
                                                                       std::vector<std::string> entities,
                                                                       BatchTrigger triggered_by,
                                                                       std::string correlation_id) {
  if (entities.empty()) return fail(ErrorCode::kInvalidArgument, "an incremental re-prediction needs entities");
  for (const auto& e : entities) PIPELINE_TRY(validate_entity_id(e));  // the core entity-id rule
  std::sort(entities.begin(), entities.end());
  entities.erase(std::unique(entities.begin(), entities.end()), entities.end());
  auto latest = latest_batch(date);
  if (!latest) return fail(latest.error());
  if (!*latest || (*latest)->second.state == BatchState::kRefused)
    return fail(ErrorCode::kFailedPrecondition, "no batch has run for {}; the full batch will predict these", date);
  if ((*latest)->second.state == BatchState::kWaiting)
    return BatchResult{(*latest)->second.batch_id, BatchOutcome::kWaiting,
                       "the batch is still waiting; its fan-out will predict these", 0, 0, {}};
  const std::string inc_prefix = fmt::format("{}/incremental/{}/", options_.key_prefix, date);
  BatchResult out;
  bool capped = false;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    out = {};
    capped = false;
    auto rows = tx.scan(inc_prefix);
    if (!rows) return fail(rows.error());
    auto rec = read_batch(tx, (*latest)->first);
    if (!rec) return fail(rec.error());
    if (rows->size() >= options_.max_incremental_per_date) {
      capped = true;
      out = BatchResult{rec->batch_id, BatchOutcome::kRefused,
                        fmt::format("{}: the cap of {} incremental re-predictions is reached", date,
                                    options_.max_incremental_per_date),
                        rec->attempts, rec->version, {}};
      return ok();
    }
    internal::IncrementalRecord inc;
    inc.batch_id = rec->batch_id;
    inc.number = static_cast<int>(rows->size()) + 1;
    inc.entities = entities;
    inc.triggered_by = triggered_by;
    auto v = next_version(tx, date);
    if (!v) return fail(v.error());
    inc.version = *v;
    inc.correlation_id = correlation_id.empty() ? fmt::format("{}/v{}", inc.batch_id, inc.version) : correlation_id;
    auto inserted = tx.insert(fmt::format("{}{:04}", inc_prefix, inc.number), inc.encode());
    if (!inserted) return fail(inserted.error());
    if (!*inserted) return fail(ErrorCode::kConflict, "incremental row taken concurrently");
    internal::BatchRecord as_inc = *rec;
    as_inc.version = inc.version;
    as_inc.correlation_id = inc.correlation_id;
    for (const auto& e : entities) PIPELINE_TRY(enqueue_work(tx, as_inc, date, e, "incremental"));
    out = BatchResult{rec->batch_id, BatchOutcome::kRunning,
                      fmt::format("re-predicting {} entities as version {} (incremental {} of at most {})",
                                  entities.size(), inc.version, inc.number, options_.max_incremental_per_date),
                      rec->attempts, inc.version, entities};
    return ok();
  });
  if (!st) return fail(st.error());
  if (capped) {
    alerts_.raise(Severity::kError, fmt::format("{}/incremental_cap/{}", options_.key_prefix, date), out.message,
                  nlohmann::json{{"game_date", date.to_string()}, {"cap", options_.max_incremental_per_date}, {"entities", entities}});
    return out;
  }
  relay();
  return out;
}

PIPELINE_INLINE Result<bool> BatchCoordinator::note_progress(CalendarDate date) {
  auto latest = latest_batch(date);
  if (!latest) return fail(latest.error());
  if (!*latest) return false;
  const std::string key = (*latest)->first;  // not a structured binding: clang 14 cannot capture those
  const internal::BatchRecord seen = (*latest)->second;
  const std::string inc_prefix = fmt::format("{}/incremental/{}/", options_.key_prefix, date);
  auto incs = store_.scan(inc_prefix);
  if (!incs) return fail(incs.error());
  bool inc_running = false;
  for (const auto& row : *incs) {
    auto inc = internal::IncrementalRecord::decode(row.value);  // an unreadable row fails below
    inc_running = inc_running || (inc && inc->state == BatchState::kRunning);
  }
  if (seen.state != BatchState::kRunning && !inc_running) return false;
  auto expected = ledger_.expected(date);
  if (!expected) return fail(expected.error());
  auto predicted = ledger_.predicted(date);
  if (!predicted) return fail(predicted.error());
  bool completed = false;
  if (seen.state == BatchState::kRunning && missing_at(*expected, *predicted, seen.version).empty()) {
    auto phase4 = phase4_completed_at(date);
    auto st = store_.transact([&](Transaction& tx) -> Status {
      completed = false;
      auto rec = read_batch(tx, key);
      if (!rec) return fail(rec.error());
      if (rec->state != BatchState::kRunning) return ok();
      auto first = tx.insert(fmt::format("{}/done/{}", options_.key_prefix, rec->batch_id), "complete");
      if (!first) return fail(first.error());
      if (!*first) return ok();
      rec->state = BatchState::kComplete;
      rec->completed_ns = internal::to_ns(clock_.now());
      rec->expected = expected->size();
      PIPELINE_TRY(tx.put(key, rec->encode()));
      Message m = completion_message(date, *rec, expected->size(), phase4 ? *phase4 : std::optional<TimePoint>{});
      auto e = tx.enqueue({options_.complete_topic, {rec->batch_id + "/complete", encode_message(m), {}}});
      if (!e) return fail(e.error());
      completed = true;
      return ok();
    });
    if (!st) return fail(st.error());
    if (completed) record_coverage(1.0);  // every expected entity is predicted
  }
  for (const auto& row : *incs) {
    auto inc = internal::IncrementalRecord::decode(row.value);
    if (!inc) return fail(inc.error());
    if (inc->state != BatchState::kRunning) continue;
    const bool all = std::all_of(inc->entities.begin(), inc->entities.end(), [&](const std::string& e) {
      auto it = predicted->find(e);
      return it != predicted->end() && it->second >= inc->version;
    });
    if (!all) continue;
    auto st = store_.transact([&](Transaction& tx) -> Status {
      auto first = tx.insert(fmt::format("{}/done/{}/v{}", options_.key_prefix, inc->batch_id, inc->version),
                             "complete");
      if (!first) return fail(first.error());
      if (!*first) return ok();
      internal::IncrementalRecord done = *inc;
      done.state = BatchState::kComplete;
      PIPELINE_TRY(tx.put(row.key, done.encode()));
      Message m;
      m.processor_name = options_.processor_name;
      m.phase = options_.phase;
      m.execution_id = fmt::format("{}/v{}", inc->batch_id, inc->version);
      m.correlation_id = inc->correlation_id.empty() ? m.execution_id : inc->correlation_id;
      m.partition_date = date;
      m.output_table = options_.output_table;
      m.record_count = static_cast<std::int64_t>(inc->entities.size());
      m.is_incremental = true;
      m.entities_changed = EntityChanges{{options_.entity_kind, inc->entities}};
      m.metadata = nlohmann::json{{"batch_id", inc->batch_id}, {"version", inc->version}, {"incremental_number", inc->number}};
      auto e = tx.enqueue({options_.complete_topic, {m.execution_id + "/complete", encode_message(m), {}}});
      if (!e) return fail(e.error());
      completed = true;
      return ok();
    });
    if (!st) return fail(st.error());
  }
  if (completed) relay();
  return completed;
}

PIPELINE_INLINE Result<internal::BatchRecord> BatchCoordinator::read_batch(Transaction& tx, const std::string& key) {
  auto v = tx.get(key);
  if (!v) return fail(v.error());
  if (!*v) return fail(ErrorCode::kNotFound, "batch row '{}' vanished", key);
  return internal::BatchRecord::decode(**v);
}

PIPELINE_INLINE Result<BatchCoordinator::Latest> BatchCoordinator::latest_in(Transaction& tx, const std::string& prefix) {
  auto rows = tx.scan(prefix);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return Latest{};
  auto rec = internal::BatchRecord::decode(rows->back().value);
  if (!rec) return fail(rec.error());
  return Latest{std::pair{rows->back().key, std::move(*rec)}};
}

PIPELINE_INLINE Result<BatchCoordinator::Latest> BatchCoordinator::latest_batch(CalendarDate date) {
  return store_.read([&](Transaction& tx) { return latest_in(tx, batch_prefix(date)); });
}

PIPELINE_INLINE Result<std::optional<TimePoint>> BatchCoordinator::phase4_completed_at(CalendarDate date) {
  auto v = store_.get(fmt::format("{}/phase4/{}", options_.key_prefix, date));
  if (!v) return fail(v.error());
  if (!*v) return std::optional<TimePoint>{};
  try {
    return std::optional<TimePoint>{internal::from_ns(std::stoll(**v))};
  } catch (const std::exception&) {
    return fail(ErrorCode::kDataLoss, "phase4 completion row for {} is not a number", date);
  }
}

PIPELINE_INLINE Result<std::int64_t> BatchCoordinator::next_version(Transaction& tx, CalendarDate date) {
  const std::string key = fmt::format("{}/version/{}", options_.key_prefix, date);
  auto v = tx.get(key);
  if (!v) return fail(v.error());
  std::int64_t next = 1;
  if (*v) {
    try {
      next = std::stoll(**v) + 1;
    } catch (const std::exception&) {
      return fail(ErrorCode::kDataLoss, "version row '{}' is not a number", key);
    }
  }
  PIPELINE_TRY(tx.put(key, std::to_string(next)));
  return next;
}

PIPELINE_INLINE Status BatchCoordinator::enqueue_work(Transaction& tx, const internal::BatchRecord& rec,
                                                     CalendarDate date, const std::string& entity, std::string kind) {
  PredictionWork w{rec.batch_id,          date, entity, kind == "incremental" ? 0 : rec.attempts, rec.version,
                   std::move(kind), rec.correlation_id.empty() ? rec.batch_id : rec.correlation_id};
  auto e = tx.enqueue({options_.work_topic, {w.message_id(), w.encode(), {}}});
  if (!e) return fail(e.error());
  return ok();
}

PIPELINE_INLINE std::vector<std::string> BatchCoordinator::missing_at(
    const std::vector<std::string>& expected, const std::map<std::string, std::int64_t>& predicted,
    std::int64_t version) {
  std::set<std::string> out;
  for (const auto& e : expected) {
    auto it = predicted.find(e);
    if (it == predicted.end() || it->second < version) out.insert(e);
  }
  return {out.begin(), out.end()};
}

PIPELINE_INLINE Message BatchCoordinator::completion_message(CalendarDate date, const internal::BatchRecord& rec,
                                                            std::size_t expected,
                                                            std::optional<TimePoint> phase4) const {
  Message m;
  m.processor_name = options_.processor_name;
  m.phase = options_.phase;
  m.execution_id = rec.batch_id;
  m.correlation_id = rec.correlation_id.empty() ? rec.batch_id : rec.correlation_id;  // batch_id is in the metadata
  m.partition_date = date;
  if (expected == 0) m.status = CompletionStatus::kNoData;  // a date with nothing to predict
  m.output_table = options_.output_table;
  m.record_count = static_cast<std::int64_t>(expected);
  m.duration_seconds =
      rec.started_ns ? std::max(0.0, static_cast<double>(rec.completed_ns - rec.started_ns) / 1e9) : 0.0;
  m.metadata = nlohmann::json{{"batch_id", rec.batch_id},
                {"attempts", rec.attempts},
                {"version", rec.version},
                {"triggered_by", std::string(to_string(rec.triggered_by))},
                {"expected", expected},
                {"predicted", expected}};
  if (phase4)
    m.metadata["phase4_to_phase5_latency_seconds"] =
        std::max(0.0, static_cast<double>(rec.completed_ns - internal::to_ns(*phase4)) / 1e9);
  return m;
}

PIPELINE_INLINE void BatchCoordinator::relay() {
  if (options_.relay == nullptr) return;
  if (auto n = options_.relay->drain(); !n) note_error(n.error().to_string());
}

PIPELINE_INLINE void BatchCoordinator::record_coverage(double ratio) {
  metrics()
      .gauge("pipeline_batch_coverage_ratio",
             "Fraction of the expected entities predicted, as the last status check or completion counted",
             {{"coordinator", options_.key_prefix}})
      ->set(ratio);
}

PIPELINE_INLINE void BatchCoordinator::note_error(std::string text) {
  std::lock_guard lock(mu_);
  last_error_ = std::move(text);
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::start_impl(CalendarDate date, bool force,
                                                                BatchTrigger triggered_by,
                                                                std::optional<ReadinessCounts> counts,
                                                                bool nothing_expected, std::string correlation_id) {
  const std::string prefix = batch_prefix(date);
  BatchResult out;
  std::string key;
  bool created = false;
  std::optional<internal::BatchRecord> stale;  // a waiting batch whose owner is overdue
  auto st = store_.transact([&](Transaction& tx) -> Status {
    out = {};
    created = false;
    stale.reset();
    auto latest = latest_in(tx, prefix);
    if (!latest) return fail(latest.error());
    int number = 1;
    if (*latest) {
      const auto& rec = (*latest)->second;
      number = rec.number + 1;
      if (rec.state == BatchState::kWaiting && overdue(rec)) {
        key = (*latest)->first;
        stale = rec;
        return ok();
      }
      if (rec.state == BatchState::kWaiting || rec.state == BatchState::kRunning) {
        out = BatchResult{rec.batch_id,
                          rec.state == BatchState::kWaiting ? BatchOutcome::kWaiting : BatchOutcome::kRunning,
                          fmt::format("batch {} is already {} (triggered by {})", rec.batch_id, to_string(rec.state),
                                      to_string(rec.triggered_by)),
                          rec.attempts, rec.version, {}};
        return ok();
      }
      if (rec.state == BatchState::kComplete && !force) {
        out = BatchResult{rec.batch_id, BatchOutcome::kAlreadyComplete,
                          fmt::format("batch {} already completed for {}", rec.batch_id, date), rec.attempts,
                          rec.version, {}};
        return ok();
      }
    }
    internal::BatchRecord rec;
    rec.number = number;
    rec.batch_id = fmt::format("{}-{}-b{}", options_.key_prefix, date, number);
    rec.correlation_id = correlation_id.empty() ? rec.batch_id : correlation_id;
    rec.triggered_by = triggered_by;
    rec.created_ns = internal::to_ns(clock_.now());
    key = fmt::format("{}{:04}", prefix, number);
    // Keyed by date + number: a concurrent creator (another process) makes this fail,
    // and the re-run sees its batch.
    auto inserted = tx.insert(key, rec.encode());
    if (!inserted) return fail(inserted.error());
    if (!*inserted) return fail(ErrorCode::kConflict, "batch row '{}' created concurrently", key);
    out = BatchResult{rec.batch_id, BatchOutcome::kWaiting, "waiting for Phase 4", 0, 0, {}};
    created = true;
    return ok();
  });
  if (!st) return fail(st.error());
  if (stale) return take_over(date, key, *stale);
  if (!created) return out;

  // From here on only this call owns the new batch. The wait may answer now (on this
  // thread) or later on the clock; `answer` tells which.
  auto answer = std::make_shared<internal::AnswerSlot>();
  if (nothing_expected) {
    Readiness r;
    r.outcome = Readiness::Outcome::kReady;
    r.proceed = true;
    r.message = fmt::format("{}: Phase 4 reported no data (nothing to predict)", date);
    return proceed(date, key, r, true);
  }
  auto on_ready = [this, date, key, answer](const Readiness& r) { answer->set(proceed(date, key, r)); };
  if (counts) {
    Readiness r = gate_->evaluate(date, *counts);
    if (r.proceed) {
      on_ready(r);
      return answer->get().value_or(out);
    }
  }
  gate_->wait_until_ready(date, on_ready);
  if (auto now = answer->get()) return *now;
  out.message = fmt::format("batch {} waits up to {} min for Phase 4 on the clock", out.batch_id,
                            std::chrono::duration_cast<std::chrono::minutes>(options_.readiness.max_wait).count());
  return out;
}

PIPELINE_INLINE Result<BatchResult> BatchCoordinator::recover(CalendarDate date, bool owner_dead) {
  auto latest = latest_batch(date);
  if (!latest) return fail(latest.error());
  if (!*latest) return BatchResult{"", BatchOutcome::kRefused, fmt::format("no batch exists for {}", date), 0, 0, {}};
  const std::string key = (*latest)->first;
  const internal::BatchRecord rec = (*latest)->second;
  if (rec.state == BatchState::kWaiting) {
    if (overdue(rec)) return take_over(date, key, rec);
    BatchResult out{rec.batch_id, BatchOutcome::kWaiting, "", rec.attempts, rec.version, {}};
    if (!owner_dead) {
      out.message = fmt::format("batch {} is waiting; its owner's wait ends at {}", rec.batch_id,
                                format_rfc3339(internal::from_ns(rec.created_ns) + options_.readiness.max_wait));
      return out;
    }
    auto answer = std::make_shared<internal::AnswerSlot>();
    gate_->wait_until_ready(date, [this, date, key, answer](const Readiness& r) { answer->set(proceed(date, key, r)); });
    if (auto now = answer->get()) return *now;
    out.message = fmt::format("batch {} was waiting for a dead coordinator; waiting here now", rec.batch_id);
    return out;
  }
  if (rec.state == BatchState::kRunning) {
    auto completed = note_progress(date);
    if (!completed) return fail(completed.error());
    if (*completed) return BatchResult{rec.batch_id, BatchOutcome::kComplete, "completed on recovery", rec.attempts, rec.version, {}};
    return BatchResult{rec.batch_id, BatchOutcome::kRunning, fmt::format("batch {} is running", rec.batch_id),
                       rec.attempts, rec.version, {}};
  }
  return BatchResult{rec.batch_id,
                     rec.state == BatchState::kComplete ? BatchOutcome::kAlreadyComplete : BatchOutcome::kRefused,
                     rec.message, rec.attempts, rec.version, {}};
}

PIPELINE_INLINE bool BatchCoordinator::overdue(const internal::BatchRecord& rec) const {
  return clock_.now() >= internal::from_ns(rec.created_ns) + options_.readiness.max_wait + options_.takeover_grace;
}

PIPELINE_INLINE BatchResult BatchCoordinator::take_over(CalendarDate date, const std::string& key,
                                                        const internal::BatchRecord& rec) {
  Readiness r = gate_->conclude(date, clock_.now() - internal::from_ns(rec.created_ns));
  r.message = fmt::format("{} (taken over from the coordinator that created batch {})", r.message, rec.batch_id);
  return proceed(date, key, r);
}

PIPELINE_INLINE BatchResult BatchCoordinator::proceed(CalendarDate date, const std::string& key, const Readiness& r,
                                                      bool nothing_expected) {
  std::vector<std::string> entities;
  std::string refusal;
  if (!r.proceed) {
    refusal = r.message;
  } else if (auto expected = ledger_.expected(date); !expected) {
    refusal = fmt::format("{}: cannot list the expected entities: {}", date, expected.error().to_string());
    note_error(refusal);
  } else if (expected->empty() && !nothing_expected) {
    refusal = fmt::format("{}: no entity has Phase 4 features", date);
  } else {
    std::set<std::string> unique(expected->begin(), expected->end());
    entities.assign(unique.begin(), unique.end());
  }
  BatchResult out;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    out = {};
    auto rec = read_batch(tx, key);
    if (!rec) return fail(rec.error());
    if (rec->state != BatchState::kWaiting) {
      out = BatchResult{rec->batch_id, BatchOutcome::kRunning, "decided elsewhere", rec->attempts, rec->version, {}};
      return ok();
    }
    if (!refusal.empty()) {
      rec->state = BatchState::kRefused;
      rec->message = refusal;
      PIPELINE_TRY(tx.put(key, rec->encode()));
      out = BatchResult{rec->batch_id, BatchOutcome::kRefused, refusal, 0, 0, {}};
      return ok();
    }
    auto v = next_version(tx, date);
    if (!v) return fail(v.error());
    rec->version = *v;
    rec->state = BatchState::kRunning;
    rec->attempts = 1;
    rec->started_ns = internal::to_ns(clock_.now());
    rec->expected = entities.size();
    rec->message = fmt::format("{}; fanned out {} entities", r.message, entities.size());
    for (const auto& e : entities) PIPELINE_TRY(enqueue_work(tx, *rec, date, e, "batch"));
    PIPELINE_TRY(tx.put(key, rec->encode()));
    out = BatchResult{rec->batch_id, BatchOutcome::kStarted, rec->message, 1, rec->version, entities};
    return ok();
  });
  if (!st) {
    note_error(st.error().to_string());
    return BatchResult{"", BatchOutcome::kRefused, st.error().to_string(), 0, 0, {}};
  }
  if (out.status == BatchOutcome::kRefused) {
    refused_total_->add();
    alerts_.raise(Severity::kCritical, fmt::format("{}/refused/{}", options_.key_prefix, date),
                  fmt::format("Phase 5 batch {} refused: {}", out.batch_id, out.message),
                  nlohmann::json{{"game_date", date.to_string()},
                   {"batch_id", out.batch_id},
                   {"ready", r.counts.ready},
                   {"total", r.counts.total},
                   {"outcome", std::string(to_string(r.outcome))}});
    return out;
  }
  if (out.status == BatchOutcome::kStarted && r.outcome == Readiness::Outcome::kTimedOut) {
    alerts_.raise(Severity::kCritical, fmt::format("{}/phase4_late/{}", options_.key_prefix, date),
                  fmt::format("Phase 4 is more than {} min late for {}: batch {} proceeds with {} of {} ready",
                              std::chrono::duration_cast<std::chrono::minutes>(options_.readiness.max_wait).count(),
                              date, out.batch_id, r.counts.ready, r.counts.total),
                  nlohmann::json{{"game_date", date.to_string()},
                                 {"batch_id", out.batch_id},
                                 {"ready", r.counts.ready},
                                 {"total", r.counts.total}});
  }
  if (out.status == BatchOutcome::kStarted) {
    relay();
    if (auto p = note_progress(date); !p) note_error(p.error().to_string());
  }
  return out;
}

}  // namespace pipeline::inline v0
