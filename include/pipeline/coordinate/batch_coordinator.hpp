#pragma once
/// @file
/// `BatchCoordinator`: one prediction batch per date, fanned out per entity through the outbox.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/coverage_rules.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::inline v0 {

/// Who asked for a batch.
enum class BatchTrigger {
  kEvent,      ///< A Phase 4 completion message (the fast path).
  kScheduler,  ///< The 06:00 backup job (or another scheduled job).
  kManual,     ///< An operator.
};

/// "event" | "scheduler" | "manual".
constexpr std::string_view to_string(BatchTrigger t) noexcept {
  switch (t) {
    case BatchTrigger::kEvent: return "event";
    case BatchTrigger::kScheduler: return "scheduler";
    case BatchTrigger::kManual: return "manual";
  }
  return "manual";
}

/// Parses a wire name. **Errors:** `kInvalidArgument` for anything else.
inline Result<BatchTrigger> parse_batch_trigger(std::string_view s) {
  if (s == "event") return BatchTrigger::kEvent;
  if (s == "scheduler") return BatchTrigger::kScheduler;
  if (s == "manual") return BatchTrigger::kManual;
  return fail(ErrorCode::kInvalidArgument, "unknown trigger '{}' (expected event, scheduler or manual)", s);
}

/// What a coordinator call did.
enum class BatchOutcome {
  kStarted,          ///< A new batch fanned out its work now.
  kWaiting,          ///< A batch exists and waits (on the clock) for its upstream to be ready.
  kAlreadyComplete,  ///< The date's batch is complete; nothing was published.
  kRunning,          ///< A batch is already running (or an incremental fan-out was published).
  kRefused,          ///< Refused: upstream not ready enough, or the incremental cap was hit.
  kRetrying,         ///< `retry` published work for the missing entities.
  kComplete,         ///< `retry` found nothing missing.
};

/// "started" | "waiting" | "already_complete" | "running" | "refused" | "retrying" | "complete".
constexpr std::string_view to_string(BatchOutcome o) noexcept {
  switch (o) {
    case BatchOutcome::kStarted: return "started";
    case BatchOutcome::kWaiting: return "waiting";
    case BatchOutcome::kAlreadyComplete: return "already_complete";
    case BatchOutcome::kRunning: return "running";
    case BatchOutcome::kRefused: return "refused";
    case BatchOutcome::kRetrying: return "retrying";
    case BatchOutcome::kComplete: return "complete";
  }
  return "refused";
}

/// The answer of `start`, `trigger`, `retry` and `start_incremental`.
struct BatchResult {
  std::string batch_id;            ///< Empty only when no batch exists.
  BatchOutcome status = BatchOutcome::kRefused;
  std::string message;             ///< A sentence for logs and callers.
  int attempt = 0;                 ///< The batch's attempt (1 = the first fan-out).
  std::int64_t version = 0;        ///< The prediction version the published work writes.
  std::vector<std::string> published;  ///< Entity ids whose work was enqueued by this call.
};

/// One unit of prediction work: predict `entity` for `game_date` as `version`.
/// Its message id is `<batch_id>/a<attempt>/<entity>` (batch and retries) or
/// `<batch_id>/v<version>/<entity>` (incremental), so consumers are idempotent per
/// (date, entity, batch attempt).
struct PredictionWork {
  std::string batch_id;
  CalendarDate game_date;
  std::string entity;
  int attempt = 0;            ///< 0 for incremental work.
  std::int64_t version = 1;   ///< Higher versions supersede lower ones.
  std::string kind;           ///< "batch" | "retry" | "incremental".

  [[nodiscard]] std::string message_id() const {
    return kind == "incremental" ? fmt::format("{}/v{}/{}", batch_id, version, entity)
                                 : fmt::format("{}/a{}/{}", batch_id, attempt, entity);
  }

  /// The JSON object, keys in sorted order. Written directly (one per entity of a batch):
  /// building a `nlohmann::json` tree for it cost ten times as much.
  [[nodiscard]] std::string encode() const {
    std::string out;
    out.reserve(96 + batch_id.size() + entity.size() + kind.size());
    fmt::format_to(std::back_inserter(out), "{{\"attempt\":{},\"batch_id\":", attempt);
    internal::append_json_string(out, batch_id);
    out += ",\"entity\":";
    internal::append_json_string(out, entity);
    fmt::format_to(std::back_inserter(out), ",\"game_date\":\"{}\",\"kind\":", game_date.to_string());
    internal::append_json_string(out, kind);
    fmt::format_to(std::back_inserter(out), ",\"version\":{}}}", version);
    return out;
  }

  /// **Errors:** `kInvalidArgument` naming the problem (not JSON, a missing field, a bad date).
  /// Read as SAX events into the fields (no JSON tree: one decode per delivery); a repeated
  /// key keeps its last value, unknown keys are skipped.
  static Result<PredictionWork> decode(std::string_view payload) {
    Fields f;
    const bool parsed = nlohmann::json::sax_parse(payload.begin(), payload.end(), &f);
    if (!parsed || !f.object) return fail(ErrorCode::kInvalidArgument, "prediction work is not a JSON object");
    PredictionWork w;
    const std::pair<const char*, std::optional<std::string>*> strings[] = {
        {"batch_id", &f.batch_id}, {"game_date", &f.game_date}, {"entity", &f.entity}, {"kind", &f.kind}};
    for (const auto& [key, value] : strings)
      if (!*value) return fail(ErrorCode::kInvalidArgument, "prediction work lacks string '{}'", key);
    auto d = CalendarDate::parse(*f.game_date);
    if (!d) return fail(d.error());
    if (!f.attempt || !f.version)
      return fail(ErrorCode::kInvalidArgument, "prediction work lacks integer 'attempt' / 'version'");
    w.batch_id = std::move(*f.batch_id);
    w.game_date = *d;
    w.entity = std::move(*f.entity);
    w.kind = std::move(*f.kind);
    w.attempt = static_cast<int>(*f.attempt);
    w.version = *f.version;
    if (w.entity.empty()) return fail(ErrorCode::kInvalidArgument, "prediction work has an empty entity");
    return w;
  }

 private:
  // The top-level fields seen; a field of the wrong type is unset (as if absent).
  struct Fields : nlohmann::json_sax<nlohmann::json> {
    bool object = false;  // the top level is an object
    int depth = 0;
    std::string current;  // the last key at depth 1
    std::optional<std::string> batch_id, game_date, entity, kind;
    std::optional<std::int64_t> attempt, version;

    std::optional<std::string>* string_field() {
      if (current == "batch_id") return &batch_id;
      if (current == "game_date") return &game_date;
      if (current == "entity") return &entity;
      if (current == "kind") return &kind;
      return nullptr;
    }
    std::optional<std::int64_t>* integer_field() {
      if (current == "attempt") return &attempt;
      if (current == "version") return &version;
      return nullptr;
    }
    // A value at depth 1 replaces the key's field: set for its own type, unset for any other.
    bool scalar(const std::string* s, const std::int64_t* i) {
      if (depth != 1) return true;
      if (auto* f = string_field()) *f = s != nullptr ? std::optional<std::string>(*s) : std::nullopt;
      if (auto* f = integer_field()) *f = i != nullptr ? std::optional<std::int64_t>(*i) : std::nullopt;
      return true;
    }
    bool null() override { return scalar(nullptr, nullptr); }
    bool boolean(bool) override { return scalar(nullptr, nullptr); }
    bool number_integer(number_integer_t v) override {
      const std::int64_t i = v;
      return scalar(nullptr, &i);
    }
    bool number_unsigned(number_unsigned_t v) override {
      if (v > static_cast<number_unsigned_t>(INT64_MAX)) return scalar(nullptr, nullptr);
      const auto i = static_cast<std::int64_t>(v);
      return scalar(nullptr, &i);
    }
    bool number_float(number_float_t, const string_t&) override { return scalar(nullptr, nullptr); }
    bool string(string_t& v) override { return scalar(&v, nullptr); }
    bool binary(binary_t&) override { return scalar(nullptr, nullptr); }
    bool start_object(std::size_t) override {
      if (depth == 0) object = true;
      if (depth == 1) scalar(nullptr, nullptr);  // an object where a field's value goes
      ++depth;
      return true;
    }
    bool key(string_t& k) override {
      if (depth == 1) current = k;
      return true;
    }
    bool end_object() override {
      --depth;
      return true;
    }
    bool start_array(std::size_t) override {
      if (depth == 1) scalar(nullptr, nullptr);
      ++depth;
      return true;
    }
    bool end_array() override {
      --depth;
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      object = false;
      return false;
    }
  };
};

/// Where "expected" and "done" come from: the entities that should get a prediction for
/// a date (e.g. players with Phase 4 features) and those that have a stored one. Status,
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

/// Settings of a `BatchCoordinator`.
struct BatchCoordinatorOptions {
  std::string work_topic = "nba-phase5-prediction-work";          ///< Per-entity work messages.
  std::string complete_topic = "nba-phase5-predictions-complete"; ///< The completion message.
  std::string expected_phase = "phase4_precompute";               ///< `trigger` accepts only this phase.
  std::string phase = "phase5_predictions";                       ///< Phase of the completion message.
  std::string processor_name = "phase5_coordinator";
  std::string output_table = "player_prop_predictions";
  std::string entity_kind = "players";     ///< Kind name in `entities_changed`.
  std::string key_prefix = "phase5";       ///< State rows live under `<key_prefix>/`.
  std::size_t max_incremental_per_date = 3;  ///< Cap of `start_incremental` per date.
  ReadinessOptions readiness;              ///< 80% / 30 min / min 50 entities by default.
  CoverageRules coverage;                  ///< The 07:00 status check alerts below 90%.
};

/// What `status` reports for a date.
struct BatchReport {
  CalendarDate date;
  std::string batch_id;       ///< Empty when no batch exists for the date.
  int batch_number = 0;
  std::string state = "none"; ///< "none" | "waiting" | "running" | "complete" | "refused".
  std::optional<BatchTrigger> triggered_by;
  int attempts = 0;
  std::int64_t version = 0;
  std::size_t incremental_count = 0;
  std::size_t expected = 0;   ///< From the ledger.
  std::size_t done = 0;       ///< Expected entities with a stored prediction.
  std::vector<std::string> missing;  ///< Expected minus done, sorted.
  bool fully_complete = false;       ///< Something expected and nothing missing.
  bool partially_complete = false;   ///< Some done, some missing.
  double completion_rate = 0.0;      ///< done / expected (0 when nothing is expected).
  std::optional<TimePoint> phase4_completed_at;
  std::optional<TimePoint> started_at;     ///< When the batch fanned out.
  std::optional<TimePoint> completed_at;   ///< When every expected entity was predicted.
  /// completed_at - phase4_completed_at, when both are known (Go/No-Go: < 10 min).
  std::optional<Duration> phase4_to_phase5_latency;
  std::string message;

  [[nodiscard]] nlohmann::json to_json() const {
    auto time = [](const std::optional<TimePoint>& t) -> nlohmann::json {
      return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
    };
    nlohmann::json j{{"game_date", date.to_string()},
                     {"batch_id", batch_id},
                     {"batch_number", batch_number},
                     {"state", state},
                     {"triggered_by", triggered_by ? nlohmann::json(std::string(to_string(*triggered_by)))
                                                   : nlohmann::json(nullptr)},
                     {"attempts", attempts},
                     {"version", version},
                     {"incremental_count", incremental_count},
                     {"expected", expected},
                     {"done", done},
                     {"missing_count", missing.size()},
                     {"missing", missing},
                     {"fully_complete", fully_complete},
                     {"partially_complete", partially_complete},
                     {"completion_rate", completion_rate},
                     {"phase4_completed_at", time(phase4_completed_at)},
                     {"started_at", time(started_at)},
                     {"completed_at", time(completed_at)},
                     {"message", message}};
    j["phase4_to_phase5_latency_seconds"] =
        phase4_to_phase5_latency
            ? nlohmann::json(std::chrono::duration<double>(*phase4_to_phase5_latency).count())
            : nlohmann::json(nullptr);
    return j;
  }
};

/// The answer of the 07:00 `status_check`.
struct StatusCheckResult {
  BatchReport report;
  bool alerted = false;  ///< Coverage was below the rule (the alert may be rate-limited).
};

/// A coordinator's health at a glance.
struct CoordinatorHealth {
  std::size_t batches_waiting = 0;
  std::size_t batches_running = 0;
  std::size_t outbox_pending = 0;  ///< Entries committed but not yet published.
  std::string last_error;          ///< The last error a background step recorded; empty if none.
  [[nodiscard]] nlohmann::json to_json() const {
    return {{"batches_waiting", batches_waiting},
            {"batches_running", batches_running},
            {"outbox_pending", outbox_pending},
            {"last_error", last_error}};
  }
};

namespace internal {

/// One batch row, stored as JSON under `<prefix>/batch/<date>/<number:04>`.
struct BatchRecord {
  std::string batch_id;
  int number = 0;
  std::string state = "waiting";  // waiting | running | complete | refused
  BatchTrigger triggered_by = BatchTrigger::kManual;
  int attempts = 0;
  std::int64_t version = 0;
  std::int64_t created_ns = 0, started_ns = 0, completed_ns = 0;
  std::size_t expected = 0;
  std::string message;

  [[nodiscard]] std::string encode() const {
    return nlohmann::json{{"batch_id", batch_id},   {"number", number},         {"state", state},
                          {"triggered_by", std::string(to_string(triggered_by))},
                          {"attempts", attempts},   {"version", version},       {"created_ns", created_ns},
                          {"started_ns", started_ns}, {"completed_ns", completed_ns}, {"expected", expected},
                          {"message", message}}
        .dump();
  }
  static Result<BatchRecord> decode(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "batch row is not a JSON object");
    try {
      BatchRecord r;
      r.batch_id = j.at("batch_id").get<std::string>();
      r.number = j.at("number").get<int>();
      r.state = j.at("state").get<std::string>();
      auto t = parse_batch_trigger(j.at("triggered_by").get<std::string>());
      if (!t) return fail(ErrorCode::kDataLoss, "batch row: {}", t.error().message);
      r.triggered_by = *t;
      r.attempts = j.at("attempts").get<int>();
      r.version = j.at("version").get<std::int64_t>();
      r.created_ns = j.at("created_ns").get<std::int64_t>();
      r.started_ns = j.at("started_ns").get<std::int64_t>();
      r.completed_ns = j.at("completed_ns").get<std::int64_t>();
      r.expected = j.at("expected").get<std::size_t>();
      r.message = j.at("message").get<std::string>();
      return r;
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::kDataLoss, "batch row is malformed: {}", e.what());
    }
  }
};

/// One incremental re-prediction, under `<prefix>/incremental/<date>/<number:04>`.
struct IncrementalRecord {
  std::string batch_id;
  int number = 0;
  std::int64_t version = 0;
  std::vector<std::string> entities;
  std::string state = "running";  // running | complete
  BatchTrigger triggered_by = BatchTrigger::kManual;

  [[nodiscard]] std::string encode() const {
    return nlohmann::json{{"batch_id", batch_id}, {"number", number}, {"version", version},
                          {"entities", entities}, {"state", state},   {"triggered_by", std::string(to_string(triggered_by))}}
        .dump();
  }
  static Result<IncrementalRecord> decode(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "incremental row is not a JSON object");
    try {
      IncrementalRecord r;
      r.batch_id = j.at("batch_id").get<std::string>();
      r.number = j.at("number").get<int>();
      r.version = j.at("version").get<std::int64_t>();
      r.entities = j.at("entities").get<std::vector<std::string>>();
      r.state = j.at("state").get<std::string>();
      auto t = parse_batch_trigger(j.at("triggered_by").get<std::string>());
      if (!t) return fail(ErrorCode::kDataLoss, "incremental row: {}", t.error().message);
      r.triggered_by = *t;
      return r;
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::kDataLoss, "incremental row is malformed: {}", e.what());
    }
  }
};

inline std::int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_ns(std::int64_t ns) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns)));
}

/// Entity ids usable in message ids and keys: printable ASCII without '/', 1–128 bytes.
inline Status validate_entity_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return fail(ErrorCode::kInvalidArgument, "entity id must be 1 to 128 bytes, got {}", id.size());
  for (char c : id)
    if (c <= 0x20 || c > 0x7E || c == '/')
      return fail(ErrorCode::kInvalidArgument, "entity id '{}' must be printable ASCII without spaces or '/'",
                  id.substr(0, 64));
  return ok();
}

}  // namespace internal

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
/// **Readiness:** the coordinator owns a `ReadinessGate` over the given source; `start`
/// never blocks — the wait runs on the clock and `start` returns `waiting`. Ready (or
/// timed out with at least `min_entities`) fans out the ledger's expected entities;
/// otherwise the batch is refused with a critical alert (key `<prefix>/refused/<date>`).
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
/// @code
///   pipeline::BatchCoordinator coordinator(clock, store, alerts, features, ledger, &relay);
///   auto r = coordinator.start(date, false, pipeline::BatchTrigger::kScheduler);
///   // r->status: started | waiting | already_complete | running | refused
///   clock.advance(std::chrono::minutes(30));     // a wait, if any, finishes on the clock
///   auto report = coordinator.status(date);      // done, missing, latency, completion rate
///   coordinator.retry(date);                     // only the missing entities
/// @endcode
class BatchCoordinator {
 public:
  BatchCoordinator(Clock& clock, StateStore& store, AlertManager& alerts, ReadinessSource& readiness,
                   PredictionLedger& ledger, OutboxRelay* relay = nullptr, BatchCoordinatorOptions options = {})
      : clock_(clock),
        store_(store),
        alerts_(alerts),
        ledger_(ledger),
        relay_(relay),
        options_(std::move(options)),
        gate_(clock, readiness, options_.readiness) {}

  BatchCoordinator(const BatchCoordinator&) = delete;
  BatchCoordinator& operator=(const BatchCoordinator&) = delete;

  [[nodiscard]] const BatchCoordinatorOptions& options() const noexcept { return options_; }
  [[nodiscard]] ReadinessGate& gate() noexcept { return gate_; }

  /// Starts (or finds) the date's batch. See the class comment for the decision.
  Result<BatchResult> start(CalendarDate date, bool force, BatchTrigger triggered_by) {
    return start_impl(date, force, triggered_by, std::nullopt);
  }

  /// The event path: a Phase 4 completion message. Records the Phase 4 completion time
  /// (metadata `completed_at` in RFC 3339 when present, else now) for the latency, then
  /// starts the batch (or, for an incremental message listing changed entities, an
  /// incremental re-prediction of those). Counts `players_ready` / `players_total` in the
  /// metadata decide readiness without a query when they say ready.
  /// **Errors:** `kInvalidArgument` when the message is invalid, of the wrong phase
  /// ("expected phase 'phase4_precompute', got 'phase3_analytics'") or reports a failed run.
  Result<BatchResult> trigger(const Message& m) {
    PIPELINE_TRY(validate_message(m));
    if (m.phase != options_.expected_phase)
      return fail(Error{ErrorCode::kInvalidArgument,
                        fmt::format("expected phase '{}', got '{}'", options_.expected_phase, m.phase),
                        {{"execution_id", m.execution_id}}});
    if (m.status == CompletionStatus::kFailed)
      return fail(Error{ErrorCode::kInvalidArgument,
                        fmt::format("{} reported a failed run for {}: {}", m.processor_name, m.game_date, m.error),
                        {{"execution_id", m.execution_id}}});
    TimePoint done_at = clock_.now();
    if (m.metadata.is_object() && m.metadata.contains("completed_at") && m.metadata["completed_at"].is_string()) {
      if (auto t = parse_rfc3339(m.metadata["completed_at"].get<std::string>())) done_at = *t;
    }
    PIPELINE_TRY(record_phase4_completion(m.game_date, done_at));
    if (m.is_incremental && m.entities_changed) {
      auto it = m.entities_changed->find(options_.entity_kind);
      if (it != m.entities_changed->end() && !it->second.empty())
        return start_incremental(m.game_date, it->second, BatchTrigger::kEvent);
    }
    return start_impl(m.game_date, false, BatchTrigger::kEvent, ReadinessGate::counts_from_message(m));
  }

  /// `trigger` on an encoded message. **Errors:** the decoder's (`kInvalidArgument`
  /// naming the field: no `game_date`, an impossible date, ...), then `trigger`'s.
  Result<BatchResult> trigger_payload(std::string_view payload) {
    auto m = decode_message(payload);
    if (!m) return fail(m.error());
    return trigger(*m);
  }

  /// Records when Phase 4 completed for `date` (the first record wins). `trigger` calls
  /// it; a scheduler path that knows the time may call it too.
  Status record_phase4_completion(CalendarDate date, TimePoint at) {
    const std::string key = fmt::format("{}/phase4/{}", options_.key_prefix, date);
    return store_.transact([&](Transaction& tx) -> Status {
      auto r = tx.insert(key, std::to_string(internal::to_ns(at)));
      if (!r) return fail(r.error());
      return ok();
    });
  }

  /// Publishes work for the entities still missing (expected minus predicted at the
  /// batch's version) as attempt N+1 of the date's latest batch. Nothing missing:
  /// `complete` (and the batch is completed if it was not). A waiting batch: `waiting`,
  /// nothing published; a refused one: `refused`.
  /// **Errors:** `kFailedPrecondition` when no batch exists for the date.
  Result<BatchResult> retry(CalendarDate date) {
    auto latest = latest_batch(date);
    if (!latest) return fail(latest.error());
    if (!*latest)
      return fail(ErrorCode::kFailedPrecondition, "no batch exists for {}; start one before retrying", date);
    const internal::BatchRecord seen = (*latest)->second;
    if (seen.state == "waiting") return BatchResult{seen.batch_id, BatchOutcome::kWaiting, "the batch is still waiting for Phase 4", seen.attempts, seen.version, {}};
    if (seen.state == "refused") return BatchResult{seen.batch_id, BatchOutcome::kRefused, seen.message, seen.attempts, seen.version, {}};
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
      rec->state = "running";
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

  /// Re-predicts only `entities` for `date` after a mid-day update, as the date's next
  /// version (history is kept by the model). At most `max_incremental_per_date` per
  /// date: beyond it, an error alert (key `<prefix>/incremental_cap/<date>`) and
  /// `refused`. A batch still waiting returns `waiting` (its fan-out covers them).
  /// **Errors:** `kInvalidArgument` (empty list, bad id), `kFailedPrecondition` (no batch).
  Result<BatchResult> start_incremental(CalendarDate date, std::vector<std::string> entities,
                                        BatchTrigger triggered_by) {
    if (entities.empty()) return fail(ErrorCode::kInvalidArgument, "an incremental re-prediction needs entities");
    for (const auto& e : entities) PIPELINE_TRY(internal::validate_entity_id(e));
    std::sort(entities.begin(), entities.end());
    entities.erase(std::unique(entities.begin(), entities.end()), entities.end());
    auto latest = latest_batch(date);
    if (!latest) return fail(latest.error());
    if (!*latest || (*latest)->second.state == "refused")
      return fail(ErrorCode::kFailedPrecondition, "no batch has run for {}; the full batch will predict these", date);
    if ((*latest)->second.state == "waiting")
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
      auto inserted = tx.insert(fmt::format("{}{:04}", inc_prefix, inc.number), inc.encode());
      if (!inserted) return fail(inserted.error());
      if (!*inserted) return fail(ErrorCode::kConflict, "incremental row taken concurrently");
      internal::BatchRecord as_inc = *rec;
      as_inc.version = inc.version;
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
                    {{"game_date", date.to_string()}, {"cap", options_.max_incremental_per_date}, {"entities", entities}});
      return out;
    }
    relay();
    return out;
  }

  /// Checks the stored predictions; when every expected entity of the running batch
  /// (or of a running incremental re-prediction) is predicted, completes it and
  /// publishes the completion message through the outbox — once (conditional insert).
  /// Returns whether this call completed something.
  Result<bool> note_progress(CalendarDate date) {
    auto latest = latest_batch(date);
    if (!latest) return fail(latest.error());
    if (!*latest) return false;
    const std::string key = (*latest)->first;  // not a structured binding: clang 14 cannot capture those
    const internal::BatchRecord seen = (*latest)->second;
    const std::string inc_prefix = fmt::format("{}/incremental/{}/", options_.key_prefix, date);
    auto incs = store_.scan(inc_prefix);
    if (!incs) return fail(incs.error());
    bool inc_running = false;
    for (const auto& row : *incs) inc_running = inc_running || row.value.find("\"running\"") != std::string::npos;
    if (seen.state != "running" && !inc_running) return false;
    auto expected = ledger_.expected(date);
    if (!expected) return fail(expected.error());
    auto predicted = ledger_.predicted(date);
    if (!predicted) return fail(predicted.error());
    bool completed = false;
    if (seen.state == "running" && missing_at(*expected, *predicted, seen.version).empty()) {
      auto phase4 = phase4_completed_at(date);
      auto st = store_.transact([&](Transaction& tx) -> Status {
        completed = false;
        auto rec = read_batch(tx, key);
        if (!rec) return fail(rec.error());
        if (rec->state != "running") return ok();
        auto first = tx.insert(fmt::format("{}/done/{}", options_.key_prefix, rec->batch_id), "complete");
        if (!first) return fail(first.error());
        if (!*first) return ok();
        rec->state = "complete";
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
    }
    for (const auto& row : *incs) {
      auto inc = internal::IncrementalRecord::decode(row.value);
      if (!inc) return fail(inc.error());
      if (inc->state != "running") continue;
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
        done.state = "complete";
        PIPELINE_TRY(tx.put(row.key, done.encode()));
        Message m;
        m.processor_name = options_.processor_name;
        m.phase = options_.phase;
        m.execution_id = fmt::format("{}/v{}", inc->batch_id, inc->version);
        m.correlation_id = m.execution_id;
        m.game_date = date;
        m.output_table = options_.output_table;
        m.record_count = static_cast<std::int64_t>(inc->entities.size());
        m.is_incremental = true;
        m.entities_changed = EntityChanges{{options_.entity_kind, inc->entities}};
        m.metadata = {{"batch_id", inc->batch_id}, {"version", inc->version}, {"incremental_number", inc->number}};
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

  /// The date's status from the latest batch row and the ledger.
  Result<BatchReport> status(CalendarDate date) {
    BatchReport r;
    r.date = date;
    auto latest = latest_batch(date);
    if (!latest) return fail(latest.error());
    auto expected = ledger_.expected(date);
    if (!expected) return fail(expected.error());
    auto predicted = ledger_.predicted(date);
    if (!predicted) return fail(predicted.error());
    std::set<std::string> exp(expected->begin(), expected->end());
    r.expected = exp.size();
    for (const auto& e : exp) {
      if (predicted->count(e))
        ++r.done;
      else
        r.missing.push_back(e);
    }
    r.fully_complete = r.expected > 0 && r.missing.empty();
    r.partially_complete = r.done > 0 && !r.missing.empty();
    r.completion_rate = r.expected == 0 ? 0.0 : static_cast<double>(r.done) / static_cast<double>(r.expected);
    auto phase4 = phase4_completed_at(date);
    if (!phase4) return fail(phase4.error());
    r.phase4_completed_at = *phase4;
    if (*latest) {
      const auto& rec = (*latest)->second;
      r.batch_id = rec.batch_id;
      r.batch_number = rec.number;
      r.state = rec.state;
      r.triggered_by = rec.triggered_by;
      r.attempts = rec.attempts;
      r.version = rec.version;
      r.message = rec.message;
      if (rec.started_ns) r.started_at = internal::from_ns(rec.started_ns);
      if (rec.completed_ns) r.completed_at = internal::from_ns(rec.completed_ns);
      if (r.completed_at && r.phase4_completed_at)
        r.phase4_to_phase5_latency = *r.completed_at - *r.phase4_completed_at;
      auto incs = store_.scan(fmt::format("{}/incremental/{}/", options_.key_prefix, date));
      if (!incs) return fail(incs.error());
      r.incremental_count = incs->size();
    }
    if (r.message.empty())
      r.message = fmt::format("{}: {} of {} predicted ({:.1f}%)", date, r.done, r.expected, 100.0 * r.completion_rate);
    return r;
  }

  /// The 07:00 job: `status`, then `CoverageRules::alert_if_low_coverage` on scope
  /// `<prefix>/<date>` (an alert below 90% by default).
  Result<StatusCheckResult> status_check(CalendarDate date) {
    auto report = status(date);
    if (!report) return fail(report.error());
    StatusCheckResult out{std::move(*report), false};
    out.alerted = options_.coverage.alert_if_low_coverage(alerts_, fmt::format("{}/{}", options_.key_prefix, date),
                                                          out.report.expected, out.report.done);
    return out;
  }

  /// Batches waiting / running (a scan of every batch row), outbox backlog, last error.
  Result<CoordinatorHealth> health() {
    CoordinatorHealth h;
    auto rows = store_.scan(options_.key_prefix + "/batch/");
    if (!rows) return fail(rows.error());
    for (const auto& row : *rows) {
      auto rec = internal::BatchRecord::decode(row.value);
      if (!rec) continue;
      if (rec->state == "waiting") ++h.batches_waiting;
      if (rec->state == "running") ++h.batches_running;
    }
    auto pending = store_.pending_outbox();
    if (!pending) return fail(pending.error());
    h.outbox_pending = *pending;
    std::lock_guard lock(mu_);
    h.last_error = last_error_;
    return h;
  }

 private:
  using Latest = std::optional<std::pair<std::string, internal::BatchRecord>>;

  std::string batch_prefix(CalendarDate date) const { return fmt::format("{}/batch/{}/", options_.key_prefix, date); }

  static Result<internal::BatchRecord> read_batch(Transaction& tx, const std::string& key) {
    auto v = tx.get(key);
    if (!v) return fail(v.error());
    if (!*v) return fail(ErrorCode::kNotFound, "batch row '{}' vanished", key);
    return internal::BatchRecord::decode(**v);
  }

  static Result<Latest> latest_in(Transaction& tx, const std::string& prefix) {
    auto rows = tx.scan(prefix);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return Latest{};
    auto rec = internal::BatchRecord::decode(rows->back().value);
    if (!rec) return fail(rec.error());
    return Latest{std::pair{rows->back().key, std::move(*rec)}};
  }

  Result<Latest> latest_batch(CalendarDate date) {
    return store_.read([&](Transaction& tx) { return latest_in(tx, batch_prefix(date)); });
  }

  Result<std::optional<TimePoint>> phase4_completed_at(CalendarDate date) {
    auto v = store_.get(fmt::format("{}/phase4/{}", options_.key_prefix, date));
    if (!v) return fail(v.error());
    if (!*v) return std::optional<TimePoint>{};
    try {
      return std::optional<TimePoint>{internal::from_ns(std::stoll(**v))};
    } catch (const std::exception&) {
      return fail(ErrorCode::kDataLoss, "phase4 completion row for {} is not a number", date);
    }
  }

  Result<std::int64_t> next_version(Transaction& tx, CalendarDate date) {
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

  Status enqueue_work(Transaction& tx, const internal::BatchRecord& rec, CalendarDate date, const std::string& entity,
                      std::string kind) {
    PredictionWork w{rec.batch_id, date, entity, kind == "incremental" ? 0 : rec.attempts, rec.version, std::move(kind)};
    auto e = tx.enqueue({options_.work_topic, {w.message_id(), w.encode(), {}}});
    if (!e) return fail(e.error());
    return ok();
  }

  /// Expected entities whose stored version is below `version` (or absent), sorted.
  static std::vector<std::string> missing_at(const std::vector<std::string>& expected,
                                             const std::map<std::string, std::int64_t>& predicted,
                                             std::int64_t version) {
    std::set<std::string> out;
    for (const auto& e : expected) {
      auto it = predicted.find(e);
      if (it == predicted.end() || it->second < version) out.insert(e);
    }
    return {out.begin(), out.end()};
  }

  Message completion_message(CalendarDate date, const internal::BatchRecord& rec, std::size_t expected,
                             std::optional<TimePoint> phase4) const {
    Message m;
    m.processor_name = options_.processor_name;
    m.phase = options_.phase;
    m.execution_id = rec.batch_id;
    m.correlation_id = rec.batch_id;
    m.game_date = date;
    m.output_table = options_.output_table;
    m.record_count = static_cast<std::int64_t>(expected);
    m.duration_seconds =
        rec.started_ns ? std::max(0.0, static_cast<double>(rec.completed_ns - rec.started_ns) / 1e9) : 0.0;
    m.metadata = {{"batch_id", rec.batch_id},
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

  void relay() {
    if (relay_ == nullptr) return;
    if (auto n = relay_->drain(); !n) note_error(n.error().to_string());
  }

  void note_error(std::string text) {
    std::lock_guard lock(mu_);
    last_error_ = std::move(text);
  }

  Result<BatchResult> start_impl(CalendarDate date, bool force, BatchTrigger triggered_by,
                                 std::optional<ReadinessCounts> counts) {
    const std::string prefix = batch_prefix(date);
    BatchResult out;
    std::string key;
    bool created = false;
    auto st = store_.transact([&](Transaction& tx) -> Status {
      out = {};
      created = false;
      auto latest = latest_in(tx, prefix);
      if (!latest) return fail(latest.error());
      int number = 1;
      if (*latest) {
        const auto& rec = (*latest)->second;
        number = rec.number + 1;
        if (rec.state == "waiting" || rec.state == "running") {
          out = BatchResult{rec.batch_id,
                            rec.state == "waiting" ? BatchOutcome::kWaiting : BatchOutcome::kRunning,
                            fmt::format("batch {} is already {} (triggered by {})", rec.batch_id, rec.state,
                                        to_string(rec.triggered_by)),
                            rec.attempts, rec.version, {}};
          return ok();
        }
        if (rec.state == "complete" && !force) {
          out = BatchResult{rec.batch_id, BatchOutcome::kAlreadyComplete,
                            fmt::format("batch {} already completed for {}", rec.batch_id, date), rec.attempts,
                            rec.version, {}};
          return ok();
        }
      }
      internal::BatchRecord rec;
      rec.number = number;
      rec.batch_id = fmt::format("{}-{}-b{}", options_.key_prefix, date, number);
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
    if (!created) return out;

    // From here on only this call owns the new batch. The wait may answer now (on this
    // thread) or later on the clock; `answer` tells which.
    auto answer = std::make_shared<std::optional<BatchResult>>();
    auto on_ready = [this, date, key, answer](const Readiness& r) { *answer = proceed(date, key, r); };
    if (counts) {
      Readiness r = gate_.evaluate(date, *counts);
      if (r.proceed) {
        on_ready(r);
        return answer->value_or(out);
      }
    }
    gate_.wait_until_ready(date, on_ready);
    if (*answer) return **answer;
    out.message = fmt::format("batch {} waits up to {} min for Phase 4 on the clock", out.batch_id,
                              std::chrono::duration_cast<std::chrono::minutes>(options_.readiness.max_wait).count());
    return out;
  }

  /// The end of a wait: fan out, or refuse with a critical alert.
  BatchResult proceed(CalendarDate date, const std::string& key, const Readiness& r) {
    std::vector<std::string> entities;
    std::string refusal;
    if (!r.proceed) {
      refusal = r.message;
    } else if (auto expected = ledger_.expected(date); !expected) {
      refusal = fmt::format("{}: cannot list the expected entities: {}", date, expected.error().to_string());
      note_error(refusal);
    } else if (expected->empty()) {
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
      if (rec->state != "waiting") {
        out = BatchResult{rec->batch_id, BatchOutcome::kRunning, "decided elsewhere", rec->attempts, rec->version, {}};
        return ok();
      }
      if (!refusal.empty()) {
        rec->state = "refused";
        rec->message = refusal;
        PIPELINE_TRY(tx.put(key, rec->encode()));
        out = BatchResult{rec->batch_id, BatchOutcome::kRefused, refusal, 0, 0, {}};
        return ok();
      }
      auto v = next_version(tx, date);
      if (!v) return fail(v.error());
      rec->version = *v;
      rec->state = "running";
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
      alerts_.raise(Severity::kCritical, fmt::format("{}/refused/{}", options_.key_prefix, date),
                    fmt::format("Phase 5 batch {} refused: {}", out.batch_id, out.message),
                    {{"game_date", date.to_string()},
                     {"batch_id", out.batch_id},
                     {"ready", r.counts.ready},
                     {"total", r.counts.total},
                     {"outcome", std::string(to_string(r.outcome))}});
      return out;
    }
    if (out.status == BatchOutcome::kStarted) {
      relay();
      if (auto p = note_progress(date); !p) note_error(p.error().to_string());
    }
    return out;
  }

  Clock& clock_;
  StateStore& store_;
  AlertManager& alerts_;
  PredictionLedger& ledger_;
  OutboxRelay* relay_;
  BatchCoordinatorOptions options_;
  std::mutex mu_;  // guards last_error_
  std::string last_error_;
  ReadinessGate gate_;  // last: destroyed first, cancelling waits that point at this object
};

}  // namespace pipeline::inline v0
