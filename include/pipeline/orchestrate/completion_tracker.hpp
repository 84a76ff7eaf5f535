#pragma once
/// @file
/// `CompletionTracker`: waits for a phase's upstream processors on a date and decides
/// the downstream trigger exactly once per wave.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline::inline v0 {

/// What one `CompletionTracker` waits for and what it triggers.
struct CompletionTrackerConfig {
  /// Names the tracker in state keys, trigger ids and alerts ("phase3_analytics");
  /// `[A-Za-z0-9_.-]`, no '/'. Also the trigger message's `processor_name`.
  std::string name;
  std::string upstream_phase;    ///< Phase of the completions it counts ("phase2_raw").
  std::string downstream_phase;  ///< Phase it triggers ("phase3_analytics"): the trigger's `phase`.
  /// The upstream processors a full wave waits for (`processor_name` of their completions).
  std::vector<std::string> expected;
  std::string trigger_topic;     ///< Where triggers are published (through the outbox).
  /// Partial readiness: this long after the wave's first completion, trigger if at least
  /// `partial_threshold` of `expected` is done. nullopt: wait for all, however long.
  std::optional<Duration> deadline = std::chrono::minutes(30);
  double partial_threshold = 0.8;  ///< In (0, 1].
  /// An incremental wave (changes after a trigger) waits this long from its first
  /// completion and coalesces everything that arrives meanwhile. Zero: trigger at once.
  Duration debounce = std::chrono::minutes(5);
  /// What each upstream processor triggers. A full wave runs the targets of every
  /// expected processor; an incremental wave the targets of that wave's processors.
  TriggerRegistry registry;
};

/// One wave of triggers for a date, as `CompletionTracker::status` reports it.
struct WaveStatus {
  int number = 0;                          ///< 0: the full wave; 1, 2, ...: incremental waves.
  bool decided = false;
  std::string trigger_id;                  ///< Set when decided.
  bool partial = false;                    ///< Decided by the deadline with processors missing.
  std::string reason;                      ///< "complete" | "deadline" | "debounce" when decided.
  std::string trigger_status;              ///< The trigger's status ("success" | "partial").
  std::optional<TimePoint> first_completion;
  std::optional<TimePoint> triggered_at;
  std::vector<std::string> processors;     ///< Upstream processors recorded in this wave.
  std::vector<std::string> run_processors; ///< What the trigger runs (when decided).
  bool below_threshold_alerted = false;    ///< The deadline passed below the threshold.
};

/// A date's state of one tracker: who is done, who is missing, what was triggered.
struct TrackerStatus {
  std::string tracker;
  std::string upstream_phase;
  std::string downstream_phase;
  CalendarDate date;
  std::vector<std::string> expected;
  std::vector<std::string> done;        ///< Expected processors whose latest completion did not fail.
  std::vector<std::string> failed;      ///< Expected processors whose latest completion failed.
  std::vector<std::string> missing;     ///< Expected processors with no completion.
  std::vector<std::string> unexpected;  ///< Completions from processors not expected (recorded, not counted).
  std::vector<WaveStatus> waves;
  std::optional<TimePoint> first_completion;
  std::optional<TimePoint> last_completion;
  /// From the first to the last recorded completion (nullopt before the first).
  [[nodiscard]] std::optional<Duration> latency() const {
    if (!first_completion || !last_completion) return std::nullopt;
    return *last_completion - *first_completion;
  }
  /// Nothing recorded for this date.
  [[nodiscard]] bool empty() const {
    return done.empty() && failed.empty() && unexpected.empty() && waves.empty();
  }

  /// The state of each processor that has one (expected and unexpected upstream ones).
  [[nodiscard]] std::map<std::string, ProcessorState, std::less<>> processor_states() const {
    std::map<std::string, ProcessorState, std::less<>> out;
    for (const auto& p : missing) out[p] = ProcessorState::kMissing;
    for (const auto& p : done) out[p] = ProcessorState::kDone;
    for (const auto& p : failed) out[p] = ProcessorState::kFailed;
    return out;
  }

  /// JSON for scripts; instants are RFC 3339 UTC.
  [[nodiscard]] nlohmann::json to_json() const {
    auto instant = [](const std::optional<TimePoint>& t) {
      return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json();
    };
    nlohmann::json j{{"tracker", tracker},
                     {"upstream_phase", upstream_phase},
                     {"downstream_phase", downstream_phase},
                     {"date", date.to_string()},
                     {"expected", expected},
                     {"done", done},
                     {"failed", failed},
                     {"missing", missing},
                     {"unexpected", unexpected},
                     {"first_completion", instant(first_completion)},
                     {"last_completion", instant(last_completion)},
                     {"waves", nlohmann::json::array()}};
    const auto lat = latency();
    j["latency_seconds"] = lat ? nlohmann::json(std::chrono::duration<double>(*lat).count()) : nlohmann::json();
    for (const auto& w : waves) {
      j["waves"].push_back({{"wave", w.number},
                            {"decided", w.decided},
                            {"trigger_id", w.decided ? nlohmann::json(w.trigger_id) : nlohmann::json()},
                            {"partial", w.partial},
                            {"reason", w.decided ? nlohmann::json(w.reason) : nlohmann::json()},
                            {"trigger_status", w.decided ? nlohmann::json(w.trigger_status) : nlohmann::json()},
                            {"first_completion", instant(w.first_completion)},
                            {"triggered_at", instant(w.triggered_at)},
                            {"processors", w.processors},
                            {"run_processors", w.run_processors},
                            {"below_threshold_alerted", w.below_threshold_alerted}});
    }
    return j;
  }
};

/// A tracker's configuration as stored for tools (`pipelinectl status`).
struct TrackerDescription {
  std::string name;
  std::string upstream_phase;
  std::string downstream_phase;
  std::string trigger_topic;
  std::vector<std::string> expected;
};

/// What `record_completion` did with one message.
enum class RecordKind {
  kCounted,     ///< An expected processor's completion, recorded in the current wave.
  kDuplicate,   ///< This execution was already recorded for the date: nothing changed.
  kUnexpected,  ///< From a processor not expected: recorded and reported, not counted.
  kNoChange,    ///< After the date's trigger, with no changes: recorded, no new wave.
};

/// "counted" | "duplicate" | "unexpected" | "no_change".
constexpr std::string_view to_string(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::kCounted: return "counted";
    case RecordKind::kDuplicate: return "duplicate";
    case RecordKind::kUnexpected: return "unexpected";
    case RecordKind::kNoChange: return "no_change";
  }
  return "counted";
}

/// The result of recording one completion (or of checking deadlines).
struct RecordOutcome {
  RecordKind kind = RecordKind::kCounted;
  int wave = 0;                          ///< The wave the completion went to.
  std::vector<std::string> triggered;    ///< Trigger ids decided by this call (0 or 1).

  /// Work for after the commit: alerts to raise and deadline timers to arm. Filled by
  /// the transaction body; applied by `CompletionTracker::after_commit`.
  struct Effects {
    std::vector<std::tuple<Severity, std::string, std::string, nlohmann::json>> alerts;
    std::vector<std::tuple<CalendarDate, int, TimePoint>> timers;
  } effects;
};

/// Waits, for one downstream phase and each date, for the expected upstream processors
/// and decides the downstream trigger **once** — the seeds' Phase 2→3 and 3→4
/// orchestrators (`_triggered`), made durable and race-free.
///
/// State is rows, never one hot document (keys under `tracker/<name>/<date>/`):
/// `exec/<execution_id>` (dedup of deliveries), `w<NNN>/done/<processor>` (one row per
/// wave and processor: its status, executions and changes), `w<NNN>/first` (the
/// wave's first completion time, so any process can evaluate its deadline),
/// `decision/w<NNN>` (inserted conditionally: one decision per wave, even across
/// processes), plus `tracker/<name>/open/<date>/w<NNN>` while a wave waits for a
/// deadline and `trackers/<name>` describing the tracker for tools.
///
/// Rules:
/// - a duplicate delivery (same execution id for the date) is a no-op; a completion
///   from a processor not expected is recorded and reported, not counted; a `failed`
///   completion counts as done-with-failure and is reported;
/// - when all expected are done, the trigger is decided: a `Message` with the stable id
///   `<name>/<date>/w<N>`, enqueued in the outbox **in the same transaction** as the
///   decision row. It carries the union of upstream changes (full if any was full;
///   `no_data` and `failed` completions change nothing), `is_incremental`, trace links
///   to every upstream execution, a traceparent that is a child of an upstream one, and
///   metadata {tracker, wave, trigger_id, reason, run_processors, succeeded, partial,
///   no_data, failed, missing, unexpected, partial_readiness};
/// - partial readiness: `deadline` after the wave's first completion (a clock timer in
///   this process, `check_deadlines()` in any), at least `partial_threshold` done fires
///   a partial trigger and a warning alert; below it, an error alert and no trigger
///   (a completion after the deadline that reaches the threshold then triggers);
/// - after a wave is decided, a completion with changes (non-empty or full) opens an
///   incremental wave that waits `debounce` from its first completion, coalesces what
///   arrives meanwhile and triggers once; it runs only the registry's targets of its
///   processors. A completion without changes opens nothing.
///
/// **Thread safety:** every member may be called from any thread, and several trackers
/// with the same config may share one store from several processes. Deadline timers run
/// on the clock's thread; alerts are raised on the thread that recorded (or on the timer
/// thread), never inside a store transaction. The destructor cancels timers and waits for
/// a running one; the store, clock and alert manager must outlive the tracker.
/// **Performance:** one store transaction per completion: a few point reads and writes
/// plus counts of the date's decision rows and the wave's done rows (no row copied); a
/// decision also scans and decodes each processor's info row and encodes the trigger.
/// **Errors:** `create`: `kInvalidArgument` for a bad config (naming the field), store
/// errors. `record_completion`: `kInvalidArgument` for a message with a bad processor
/// name or execution id, or a store error (`kUnavailable`, `kConflict`) — nothing is
/// recorded then, so redelivery is safe; `kDataLoss` for unreadable rows.
///
/// **Example:**
/// @code
///   auto tracker = pipeline::CompletionTracker::create(store, clock, config, &alerts);
///   auto outcome = (*tracker)->record_completion(message);   // from the upstream topic
///   if (outcome && !outcome->triggered.empty()) log("decided {}", outcome->triggered[0]);
///   auto status = (*tracker)->status(date);                   // status->to_json()
/// @endcode
class CompletionTracker {
 public:
  /// Validates `config`, stores its description for tools and returns the tracker.
  static Result<std::unique_ptr<CompletionTracker>> create(StateStore& store, Clock& clock,
                                                          CompletionTrackerConfig config,
                                                          AlertManager* alerts = nullptr) {
    PIPELINE_TRY(validate_config(config));
    std::unique_ptr<CompletionTracker> t(new CompletionTracker(store, clock, std::move(config), alerts));
    nlohmann::json desc{{"name", t->config_.name},
                        {"upstream_phase", t->config_.upstream_phase},
                        {"downstream_phase", t->config_.downstream_phase},
                        {"trigger_topic", t->config_.trigger_topic},
                        {"expected", t->config_.expected}};
    const std::string key = "trackers/" + t->config_.name, value = desc.dump();
    PIPELINE_TRY(store.transact([&](Transaction& tx) -> Status {
      auto cur = tx.get(key);
      if (!cur) return fail(cur.error());
      if (*cur == value) return ok();
      return tx.put(key, value);
    }));
    return t;
  }

  /// Checks a configuration without creating anything.
  static Status validate_config(const CompletionTrackerConfig& c) {
    if (auto st = TriggerRegistry::validate_name(c.name); !st)
      return fail(st.error().with("field", "name"));
    if (c.expected.empty())
      return fail(ErrorCode::kInvalidArgument, "tracker '{}' expects no upstream processor (expected is empty)", c.name);
    std::set<std::string_view> seen;
    for (const auto& p : c.expected) {
      if (auto st = TriggerRegistry::validate_name(p); !st) return fail(st.error().with("field", "expected"));
      if (!seen.insert(p).second)
        return fail(ErrorCode::kInvalidArgument, "tracker '{}' lists '{}' twice in expected", c.name, p);
    }
    if (auto st = TopicNaming::validate_topic_name(c.trigger_topic); !st)
      return fail(st.error().with("field", "trigger_topic"));
    if (!(c.partial_threshold > 0.0 && c.partial_threshold <= 1.0))
      return fail(ErrorCode::kInvalidArgument, "partial_threshold of tracker '{}' must be in (0, 1], got {}", c.name,
                  c.partial_threshold);
    if (c.deadline && *c.deadline <= Duration::zero())
      return fail(ErrorCode::kInvalidArgument, "deadline of tracker '{}' must be positive (or unset)", c.name);
    if (c.debounce < Duration::zero())
      return fail(ErrorCode::kInvalidArgument, "debounce of tracker '{}' must not be negative", c.name);
    if (auto st = c.registry.validate(); !st) return fail(st.error().with("field", "registry"));
    for (const auto& p : c.expected)
      if (!c.registry.contains(p))
        return fail(ErrorCode::kInvalidArgument, "expected processor '{}' of tracker '{}' is unknown to its registry", p,
                    c.name);
    if (c.registry.targets_of(c.expected).empty())
      return fail(ErrorCode::kInvalidArgument,
                  "the registry of tracker '{}' maps none of its expected processors to a downstream processor", c.name);
    return ok();
  }

  CompletionTracker(const CompletionTracker&) = delete;
  CompletionTracker& operator=(const CompletionTracker&) = delete;

  ~CompletionTracker() {
    std::unique_lock lock(guard_->mu);
    guard_->closing = true;
    for (const auto& [key, id] : guard_->armed) clock_.cancel(id);
    guard_->armed.clear();
    guard_->idle.wait(lock, [&] { return guard_->running == 0; });
  }

  [[nodiscard]] const CompletionTrackerConfig& config() const noexcept { return config_; }

  /// Records one upstream completion in its own transaction; decides the trigger when
  /// the rules say so; then raises alerts and arms deadline timers.
  Result<RecordOutcome> record_completion(const Message& m) {
    RecordOutcome outcome;
    PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
      auto r = record_completion(tx, m);
      if (!r) return fail(r.error());
      outcome = std::move(*r);
      return ok();
    }));
    after_commit(outcome);
    return outcome;
  }

  /// Records one completion inside the caller's open transaction (an idempotent
  /// consumer's body): the decision and its outbox entry commit with the caller's
  /// writes. The body may re-run: keep the last outcome, and once the transaction has
  /// committed pass it to `after_commit` (alerts, timers). If that never happens (a
  /// crash), `check_deadlines()` still finds the deadline.
  Result<RecordOutcome> record_completion(Transaction& tx, const Message& m) {
    RecordOutcome out;
    PIPELINE_TRY(TriggerRegistry::validate_name(m.processor_name));
    if (m.execution_id.empty())
      return fail(ErrorCode::kInvalidArgument, "completion of '{}' has no execution_id", m.processor_name);
    const TimePoint now = clock_.now();
    const std::string base = date_prefix(m.game_date);

    auto fresh = tx.insert(base + "exec/" + m.execution_id, m.processor_name);
    if (!fresh) return fail(fresh.error());
    if (!*fresh) {
      out.kind = RecordKind::kDuplicate;
      return out;
    }
    auto decided = decided_waves(tx, base);
    if (!decided) return fail(decided.error());
    const int wave = *decided;
    out.wave = wave;
    const bool expected = std::binary_search(expected_sorted_.begin(), expected_sorted_.end(), m.processor_name);
    const ChangedEntities changes = effective_changes(m);
    const std::string wbase = wave_prefix(base, wave);

    if (!expected) {
      out.kind = RecordKind::kUnexpected;
      PIPELINE_TRY(merge_record(tx, wbase + "unexpected/" + m.processor_name, m, changes, now));
      return out;
    }
    const bool has_changes = !changes || !changes->empty();
    if (wave > 0 && !has_changes) {
      out.kind = RecordKind::kNoChange;
      PIPELINE_TRY(merge_record(tx, base + "late/" + m.processor_name, m, changes, now));
      return out;
    }

    out.kind = RecordKind::kCounted;
    PIPELINE_TRY(merge_record(tx, wbase + "done/" + m.processor_name, m, changes, now));
    auto first = tx.insert(wbase + "first", encode_time(now));
    if (!first) return fail(first.error());
    std::optional<TimePoint> first_at;
    if (*first) {
      first_at = now;
      const Duration wait = wave == 0 ? config_.deadline.value_or(Duration::zero()) : config_.debounce;
      if (wave > 0 || config_.deadline) {
        const TimePoint due = now + wait;
        if (wait > Duration::zero()) {
          PIPELINE_TRY(tx.put(open_key(m.game_date, wave), encode_time(due)));
          out.effects.timers.emplace_back(m.game_date, wave, due);
        }
      }
    }
    auto read_first = [&]() -> Result<TimePoint> {
      if (first_at) return *first_at;
      auto v = tx.get(wbase + "first");
      if (!v) return fail(v.error());
      if (!*v) return fail(ErrorCode::kDataLoss, "row {}first vanished", wbase);
      return decode_time(**v);
    };

    if (wave == 0) {
      // Counted, not scanned: most completions only need to know how many are done,
      // and copying every done row on each one would make a date O(expected^2).
      auto n = tx.count(wbase + "done/");
      if (!n) return fail(n.error());
      if (*n >= config_.expected.size()) {
        PIPELINE_TRY(decide(tx, m.game_date, 0, "complete", now, {}, out));
      } else if (config_.deadline && reaches_threshold(*n)) {
        auto f = read_first();
        if (!f) return fail(f.error());
        if (now >= *f + *config_.deadline) PIPELINE_TRY(decide(tx, m.game_date, 0, "deadline", now, {}, out));
      }
    } else {
      auto f = read_first();
      if (!f) return fail(f.error());
      if (now >= *f + config_.debounce) PIPELINE_TRY(decide(tx, m.game_date, wave, "debounce", now, {}, out));
    }
    return out;
  }

  /// Applies the effects of a committed `record_completion(tx, m)`: raises its alerts
  /// and arms its deadline timers. Calling it twice for one outcome arms nothing twice.
  void after_commit(const RecordOutcome& outcome) {
    for (const auto& [date, wave, due] : outcome.effects.timers) arm(date, wave, due);
    if (alerts_)
      for (const auto& [severity, key, message, context] : outcome.effects.alerts)
        alerts_->raise(severity, key, message, context);
  }

  /// Evaluates the deadline or debounce window of one wave now: decides it when due
  /// (partial trigger, or an alert below the threshold). Idempotent.
  Result<RecordOutcome> check_wave(CalendarDate date, int wave) {
    RecordOutcome outcome;
    outcome.wave = wave;
    PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
      outcome = RecordOutcome{};
      outcome.wave = wave;
      return check_wave(tx, date, wave, outcome);
    }));
    after_commit(outcome);
    return outcome;
  }

  /// Evaluates every wave waiting for a deadline (any process's), deciding what is due
  /// and arming timers in this process for what is not. Call it at start-up and, if you
  /// like, periodically. Returns the trigger ids it decided.
  Result<std::vector<std::string>> check_deadlines() {
    auto rows = store_.scan(open_prefix());
    if (!rows) return fail(rows.error());
    std::vector<std::string> decided;
    const TimePoint now = clock_.now();
    for (const auto& row : *rows) {
      auto parsed = parse_open_key(row.key);
      auto due = decode_time(row.value);
      if (!parsed || !due) continue;  // foreign or damaged row: ignore, never crash
      const auto [date, wave] = *parsed;
      if (*due > now) {
        arm(date, wave, *due);
        continue;
      }
      auto r = check_wave(date, wave);
      if (!r) return fail(r.error());
      decided.insert(decided.end(), r->triggered.begin(), r->triggered.end());
    }
    return decided;
  }

  /// The state of `date` (an empty status when nothing is recorded).
  [[nodiscard]] Result<TrackerStatus> status(CalendarDate date) const { return load_status(store_, config_.name, date); }

  /// Trackers described in `store` (by any process), sorted by name.
  static Result<std::vector<TrackerDescription>> list_trackers(StateStore& store) {
    auto rows = store.scan("trackers/");
    if (!rows) return fail(rows.error());
    std::vector<TrackerDescription> out;
    for (const auto& row : *rows) {
      auto d = parse_description(row.value);
      if (!d) return fail(d.error().with("key", row.key));
      out.push_back(std::move(*d));
    }
    return out;
  }

  /// The state of tracker `name` on `date`, from the rows alone (for tools).
  /// **Errors:** `kNotFound` when no tracker of that name was ever created in `store`.
  static Result<TrackerStatus> load_status(StateStore& store, std::string_view name, CalendarDate date) {
    auto desc_row = store.get(fmt::format("trackers/{}", name));
    if (!desc_row) return fail(desc_row.error());
    if (!*desc_row) return fail(ErrorCode::kNotFound, "no tracker named '{}' is recorded in this store", name);
    auto desc = parse_description(**desc_row);
    if (!desc) return fail(desc.error());
    const std::string base = fmt::format("tracker/{}/{}/", name, date);
    auto rows = store.scan(base);
    if (!rows) return fail(rows.error());

    TrackerStatus s;
    s.tracker = desc->name;
    s.upstream_phase = desc->upstream_phase;
    s.downstream_phase = desc->downstream_phase;
    s.date = date;
    s.expected = desc->expected;
    std::sort(s.expected.begin(), s.expected.end());
    std::map<int, WaveStatus> waves;
    // Latest completion per processor: (time, status).
    std::map<std::string, std::pair<TimePoint, CompletionStatus>, std::less<>> latest;
    std::set<std::string> unexpected;
    auto note = [&](const std::string& processor, const WaveRecord& r) {
      if (!s.first_completion || r.first_at < *s.first_completion) s.first_completion = r.first_at;
      if (!s.last_completion || r.last_at > *s.last_completion) s.last_completion = r.last_at;
      auto& l = latest[processor];
      if (l.first <= r.last_at) l = {r.last_at, r.status};
    };
    for (const auto& row : *rows) {
      std::string_view rest = std::string_view(row.key).substr(base.size());
      if (rest.starts_with("decision/w")) {
        auto d = parse_wave_number(rest.substr(10));
        if (!d) continue;
        auto& w = waves[*d];
        w.number = *d;
        w.decided = true;
        auto j = nlohmann::json::parse(row.value, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "row {} is not valid JSON", row.key);
        w.trigger_id = j.value("trigger_id", "");
        w.partial = j.value("partial_readiness", false);
        w.reason = j.value("reason", "");
        w.trigger_status = j.value("status", "");
        if (auto t = decode_time(j.value("decided_at", ""))) w.triggered_at = *t;
        if (j.contains("run_processors") && j["run_processors"].is_array())
          for (const auto& p : j["run_processors"])
            if (p.is_string()) w.run_processors.push_back(p.get<std::string>());
      } else if (rest.starts_with("late/")) {
        auto r = decode_record(row.value);
        if (!r) return fail(r.error().with("key", row.key));
        note(std::string(rest.substr(5)), *r);
      } else if (rest.starts_with("w")) {
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos) continue;
        auto n = parse_wave_number(rest.substr(1, slash - 1));
        if (!n) continue;
        auto& w = waves[*n];
        w.number = *n;
        const std::string_view what = rest.substr(slash + 1);
        if (what == "first") {
          if (auto t = decode_time(row.value)) w.first_completion = *t;
        } else if (what == "alerted") {
          w.below_threshold_alerted = true;
        } else if (what.starts_with("done/")) {
          auto r = decode_record(row.value);
          if (!r) return fail(r.error().with("key", row.key));
          const std::string processor(what.substr(5));
          w.processors.push_back(processor);
          note(processor, *r);
        } else if (what.starts_with("unexpected/")) {
          auto r = decode_record(row.value);
          if (!r) return fail(r.error().with("key", row.key));
          unexpected.insert(std::string(what.substr(11)));
          if (!s.first_completion || r->first_at < *s.first_completion) s.first_completion = r->first_at;
          if (!s.last_completion || r->last_at > *s.last_completion) s.last_completion = r->last_at;
        }
      }
    }
    for (auto& [n, w] : waves)
      if (w.decided || !w.processors.empty() || w.first_completion || w.below_threshold_alerted)
        s.waves.push_back(std::move(w));
    for (const auto& p : s.expected) {
      auto it = latest.find(p);
      if (it == latest.end())
        s.missing.push_back(p);
      else if (it->second.second == CompletionStatus::kFailed)
        s.failed.push_back(p);
      else
        s.done.push_back(p);
    }
    s.unexpected.assign(unexpected.begin(), unexpected.end());
    return s;
  }

  /// The stable trigger id of `wave` on `date`: `<name>/<date>/w<wave>`.
  [[nodiscard]] std::string trigger_id(CalendarDate date, int wave) const {
    return fmt::format("{}/{}/w{}", config_.name, date, wave);
  }

 private:
  // One processor's completions within one wave, as stored in its info row.
  struct WaveRecord {
    CompletionStatus status = CompletionStatus::kSuccess;
    std::vector<TraceLink> executions;
    std::string traceparent;
    ChangedEntities changes;
    TimePoint first_at{};
    TimePoint last_at{};
  };

  // Timer bookkeeping shared with the timer callbacks, so a callback that starts while
  // the tracker is being destroyed finds `closing` instead of a dangling tracker.
  struct TimerGuard {
    std::mutex mu;
    std::condition_variable idle;
    bool closing = false;
    int running = 0;
    std::map<std::pair<CalendarDate, int>, TimerId> armed;
  };

  CompletionTracker(StateStore& store, Clock& clock, CompletionTrackerConfig config, AlertManager* alerts)
      : store_(store), clock_(clock), config_(std::move(config)), alerts_(alerts), guard_(std::make_shared<TimerGuard>()) {
    expected_sorted_ = config_.expected;
    std::sort(expected_sorted_.begin(), expected_sorted_.end());
    full_run_ = config_.registry.targets_of(config_.expected);
  }

  static char status_code(CompletionStatus s) {
    switch (s) {
      case CompletionStatus::kSuccess: return 's';
      case CompletionStatus::kPartial: return 'p';
      case CompletionStatus::kNoData: return 'n';
      case CompletionStatus::kFailed: return 'f';
    }
    return 'f';
  }

  // What a completion changed for the downstream: failed and no_data runs change nothing.
  static ChangedEntities effective_changes(const Message& m) {
    if (m.status == CompletionStatus::kFailed || m.status == CompletionStatus::kNoData) return EntityChanges{};
    if (!m.entities_changed) return std::nullopt;
    EntityChanges c = *m.entities_changed;
    normalize(c);
    return c;
  }

  [[nodiscard]] bool reaches_threshold(std::size_t done) const {
    return static_cast<double>(done) >= config_.partial_threshold * static_cast<double>(config_.expected.size()) - 1e-9;
  }

  // Keys are built by appending (not formatted): several are built per completion.
  [[nodiscard]] std::string date_prefix(CalendarDate date) const {
    std::string out;
    out.reserve(32 + config_.name.size());
    out += "tracker/";
    out += config_.name;
    out += '/';
    out += date.to_string();
    out += '/';
    return out;
  }
  // "w" and the wave number, zero-padded to 3 digits so keys sort by wave.
  static void append_wave(std::string& out, int wave) {
    char digits[16];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, wave);
    (void)ec;  // an int always fits
    out += 'w';
    out.append(static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, 3 - (end - digits))), '0');
    out.append(digits, end);
  }
  static std::string wave_prefix(const std::string& base, int wave) {
    std::string out;
    out.reserve(base.size() + 24);
    out += base;
    append_wave(out, wave);
    out += '/';
    return out;
  }
  [[nodiscard]] std::string open_prefix() const { return fmt::format("tracker/{}/open/", config_.name); }
  [[nodiscard]] std::string open_key(CalendarDate date, int wave) const {
    return fmt::format("{}{}/w{:03}", open_prefix(), date, wave);
  }
  [[nodiscard]] std::optional<std::pair<CalendarDate, int>> parse_open_key(std::string_view key) const {
    const std::string prefix = open_prefix();
    if (!key.starts_with(prefix)) return std::nullopt;
    key.remove_prefix(prefix.size());
    if (key.size() < 13 || key[10] != '/' || key[11] != 'w') return std::nullopt;
    auto date = CalendarDate::parse(key.substr(0, 10));
    auto wave = parse_wave_number(key.substr(12));
    if (!date || !wave) return std::nullopt;
    return std::make_pair(*date, *wave);
  }

  static std::optional<int> parse_wave_number(std::string_view s) {
    int n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n < 0) return std::nullopt;
    return n;
  }

  static void append_json_array(std::string& out, const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i != 0) out += ',';
      internal::append_json_string(out, items[i]);
    }
    out += ']';
  }

  // Instants are stored as microseconds since the epoch: exact and cheap to compare.
  static std::string encode_time(TimePoint t) {
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
  }
  static Result<TimePoint> decode_time(std::string_view s) {
    long long us = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), us);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
      return fail(ErrorCode::kDataLoss, "stored instant '{}' is not a number of microseconds", s.substr(0, 40));
    return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::microseconds(us)));
  }

  // Number of decided waves = the current wave (waves are decided in order).
  static Result<int> decided_waves(Transaction& tx, const std::string& base) {
    auto n = tx.count(base + "decision/");
    if (!n) return fail(n.error());
    return static_cast<int>(*n);
  }

  // A record is stored in a compact length-prefixed form, cheap to write on every
  // completion and to read back at the decision: numbers end with ';', strings are
  // "<length>:<bytes>". Layout: version 1, status, first_at, last_at, traceparent,
  // executions (count, then id and correlation id each), changes ('F' for full, or 'C',
  // kind count, then each kind with its id count and ids).
  static void put_number(std::string& out, long long n) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    (void)ec;  // a long long always fits
    out.append(digits, end);
    out += ';';
  }
  static void put_string(std::string& out, std::string_view v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v.size());
    (void)ec;
    out.append(digits, end);
    out += ':';
    out.append(v);
  }
  static long long micros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  static TimePoint from_micros(long long us) {
    return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::microseconds(us)));
  }

  // The head of a record, up to and including its execution count; then each
  // execution (put_execution) and the changes (put_changes) follow.
  static void put_record_head(std::string& out, CompletionStatus status, TimePoint first_at, TimePoint last_at,
                              std::string_view traceparent, std::size_t executions) {
    put_number(out, 1);
    out += status_code(status);
    put_number(out, micros(first_at));
    put_number(out, micros(last_at));
    put_string(out, traceparent);
    put_number(out, static_cast<long long>(executions));
  }
  static void put_execution(std::string& out, std::string_view execution_id, std::string_view correlation_id) {
    put_string(out, execution_id);
    put_string(out, correlation_id);
  }

  static std::string encode_record(const WaveRecord& r) {
    std::string out;
    out.reserve(96 + r.traceparent.size() + r.executions.size() * 80);
    put_record_head(out, r.status, r.first_at, r.last_at, r.traceparent, r.executions.size());
    for (const auto& e : r.executions) put_execution(out, e.execution_id, e.correlation_id);
    put_changes(out, r.changes);
    return out;
  }

  static void put_changes(std::string& out, const ChangedEntities& changes) {
    if (!changes) {
      out += 'F';
    } else {
      out += 'C';
      put_number(out, static_cast<long long>(changes->size()));
      for (const auto& [kind, ids] : *changes) {
        put_string(out, kind);
        put_number(out, static_cast<long long>(ids.size()));
        for (const auto& id : ids) put_string(out, id);
      }
    }
  }

  // Reads what encode_record wrote; anything else is kDataLoss.
  class RecordReader {
   public:
    explicit RecordReader(std::string_view s) : s_(s) {}
    bool number(long long& n) {
      auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), n);
      if (ec != std::errc() || p == s_.data() + s_.size() || *p != ';') return false;
      pos_ = static_cast<std::size_t>(p - s_.data()) + 1;
      return true;
    }
    bool count(std::size_t& n) {
      long long v = 0;
      if (!number(v) || v < 0 || static_cast<std::size_t>(v) > s_.size()) return false;
      n = static_cast<std::size_t>(v);
      return true;
    }
    bool string(std::string& out) {
      std::size_t len = 0;
      auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), len);
      if (ec != std::errc() || p == s_.data() + s_.size() || *p != ':') return false;
      const std::size_t start = static_cast<std::size_t>(p - s_.data()) + 1;
      if (len > s_.size() - start) return false;
      out.assign(s_.substr(start, len));
      pos_ = start + len;
      return true;
    }
    bool byte(char& c) {
      if (pos_ >= s_.size()) return false;
      c = s_[pos_++];
      return true;
    }
    [[nodiscard]] bool at_end() const { return pos_ == s_.size(); }

   private:
    std::string_view s_;
    std::size_t pos_ = 0;
  };

  static Result<WaveRecord> decode_record(std::string_view text) {
    auto bad = [&] {
      return fail(ErrorCode::kDataLoss, "tracker row '{}' is not a completion record", text.substr(0, 80));
    };
    RecordReader in(text);
    WaveRecord r;
    long long version = 0, first = 0, last = 0;
    char status = 0, kind_mark = 0;
    std::size_t n = 0;
    if (!in.number(version) || version != 1 || !in.byte(status) || !in.number(first) || !in.number(last) ||
        !in.string(r.traceparent) || !in.count(n))
      return bad();
    switch (status) {
      case 's': r.status = CompletionStatus::kSuccess; break;
      case 'p': r.status = CompletionStatus::kPartial; break;
      case 'n': r.status = CompletionStatus::kNoData; break;
      case 'f': r.status = CompletionStatus::kFailed; break;
      default: return bad();
    }
    r.first_at = from_micros(first);
    r.last_at = from_micros(last);
    r.executions.resize(n);
    for (auto& e : r.executions)
      if (!in.string(e.execution_id) || !in.string(e.correlation_id)) return bad();
    if (!in.byte(kind_mark)) return bad();
    if (kind_mark == 'C') {
      EntityChanges changes;
      std::size_t kinds = 0;
      if (!in.count(kinds)) return bad();
      for (std::size_t k = 0; k < kinds; ++k) {
        std::string kind;
        std::size_t ids = 0;
        if (!in.string(kind) || !in.count(ids)) return bad();
        EntityIds list(ids);
        for (auto& id : list)
          if (!in.string(id)) return bad();
        changes.emplace(std::move(kind), std::move(list));
      }
      r.changes = std::move(changes);
    } else if (kind_mark != 'F') {
      return bad();
    }
    if (!in.at_end()) return bad();
    return r;
  }

  static Result<TrackerDescription> parse_description(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(ErrorCode::kDataLoss, "tracker description '{}' is not valid JSON", text.substr(0, 80));
    try {
      TrackerDescription d;
      d.name = j.at("name").get<std::string>();
      d.upstream_phase = j.value("upstream_phase", "");
      d.downstream_phase = j.value("downstream_phase", "");
      d.trigger_topic = j.value("trigger_topic", "");
      d.expected = j.at("expected").get<std::vector<std::string>>();
      return d;
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::kDataLoss, "tracker description is malformed: {}", e.what());
    }
  }

  // Adds the completion `m` to the record at `key`: a conditional insert in the common
  // case (the processor's first completion in this wave), a read-merge-write otherwise.
  static Status merge_record(Transaction& tx, const std::string& key, const Message& m, const ChangedEntities& changes,
                             TimePoint now) {
    // The common case is encoded straight from the message (no intermediate record).
    const std::string& correlation = m.correlation_id.empty() ? m.execution_id : m.correlation_id;
    std::string fresh;
    fresh.reserve(128 + m.traceparent.size() + m.execution_id.size() + correlation.size());
    put_record_head(fresh, m.status, now, now, m.traceparent, 1);
    put_execution(fresh, m.execution_id, correlation);
    put_changes(fresh, changes);
    auto inserted = tx.insert(key, fresh);
    if (!inserted) return fail(inserted.error());
    if (*inserted) return ok();

    const TraceLink execution{m.execution_id, correlation};

    auto cur = tx.get(key);
    if (!cur) return fail(cur.error());
    if (!*cur) return fail(ErrorCode::kInternal, "row {} vanished inside a transaction", key);
    auto old = decode_record(**cur);
    if (!old) return fail(old.error().with("key", key));
    WaveRecord merged = std::move(*old);
    merged.status = m.status;  // the latest run of the processor decides its state
    if (std::find(merged.executions.begin(), merged.executions.end(), execution) == merged.executions.end())
      merged.executions.push_back(execution);
    if (merged.traceparent.empty()) merged.traceparent = m.traceparent;
    merge_into(merged.changes, changes);
    merged.last_at = now;
    return tx.put(key, encode_record(merged));
  }

  Status check_wave(Transaction& tx, CalendarDate date, int wave, RecordOutcome& out) {
    const std::string base = date_prefix(date);
    auto decided = decided_waves(tx, base);
    if (!decided) return fail(decided.error());
    if (*decided > wave) return tx.erase(open_key(date, wave)).map([](bool) {});
    if (*decided < wave) return ok();  // cannot happen: waves open in order
    const std::string wbase = wave_prefix(base, wave);
    auto first = tx.get(wbase + "first");
    if (!first) return fail(first.error());
    if (!*first) return ok();
    auto f = decode_time(**first);
    if (!f) return fail(f.error());
    const TimePoint now = clock_.now();
    if (wave > 0) {
      if (now >= *f + config_.debounce) return decide(tx, date, wave, "debounce", now, {}, out);
      out.effects.timers.emplace_back(date, wave, *f + config_.debounce);
      return ok();
    }
    if (!config_.deadline) return ok();
    if (now < *f + *config_.deadline) {
      out.effects.timers.emplace_back(date, wave, *f + *config_.deadline);
      return ok();
    }
    auto done = tx.scan(wbase + "done/");
    if (!done) return fail(done.error());
    const std::size_t n = done->size();
    if (n >= config_.expected.size()) return decide(tx, date, 0, "complete", now, std::move(*done), out);
    if (reaches_threshold(n)) return decide(tx, date, 0, "deadline", now, std::move(*done), out);
    auto alerted = tx.insert(wbase + "alerted", encode_time(now));
    if (!alerted) return fail(alerted.error());
    if (*alerted) {
      std::vector<std::string> have, missing;
      for (const auto& row : *done) have.push_back(row.key.substr(wbase.size() + 5));
      std::set_difference(expected_sorted_.begin(), expected_sorted_.end(), have.begin(), have.end(),
                          std::back_inserter(missing));
      out.effects.alerts.emplace_back(
          Severity::kError, fmt::format("tracker/{}/{}/below_threshold", config_.name, date),
          fmt::format("{} for {}: only {} of {} upstream processors done at the deadline (threshold {:.0f}%); "
                      "not triggered; missing: {}",
                      config_.name, date, n, config_.expected.size(), config_.partial_threshold * 100,
                      fmt::join(missing, ", ")),
          nlohmann::json{{"tracker", config_.name}, {"date", date.to_string()}, {"done", n},
                         {"expected", config_.expected.size()}, {"missing", missing}});
    }
    return ok();
  }

  // Decides `wave` of `date`: inserts the decision row and enqueues the trigger, both in
  // `tx`. A decision row already present means another process decided: nothing to do.
  // `done_rows` are the wave's done rows when the caller has just scanned them.
  Status decide(Transaction& tx, CalendarDate date, int wave, std::string_view reason, TimePoint now,
                std::optional<std::vector<Row>> done_rows, RecordOutcome& out) {
    const std::string base = date_prefix(date), wbase = wave_prefix(base, wave);
    const std::string id = trigger_id(date, wave);
    if (!done_rows) {
      auto scanned = tx.scan(wbase + "done/");
      if (!scanned) return fail(scanned.error());
      done_rows = std::move(*scanned);
    }

    std::vector<std::pair<std::string, WaveRecord>> records;
    for (const auto& row : *done_rows) {
      auto r = decode_record(row.value);
      if (!r) return fail(r.error().with("key", row.key));
      records.emplace_back(row.key.substr(wbase.size() + 5), std::move(*r));
    }
    std::vector<std::string> succeeded, partial, no_data, failed, processors, missing;
    ChangedEntities changes = EntityChanges{};
    std::vector<TraceLink> links;
    const WaveRecord* earliest = nullptr;
    const WaveRecord* traced = nullptr;
    for (auto& [p, r] : records) {
      processors.push_back(p);
      switch (r.status) {
        case CompletionStatus::kSuccess: succeeded.push_back(p); break;
        case CompletionStatus::kPartial: partial.push_back(p); break;
        case CompletionStatus::kNoData: no_data.push_back(p); break;
        case CompletionStatus::kFailed: failed.push_back(p); break;
      }
      // The union of changes: gathered here, sorted and deduplicated once below
      // (merging record by record would copy the growing union each time).
      if (changes && !r.changes)
        changes.reset();
      else if (changes)
        for (auto& [kind, ids] : *r.changes) {
          auto& dst = (*changes)[kind];
          dst.insert(dst.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
        }
      links.insert(links.end(), r.executions.begin(), r.executions.end());
      if (!earliest || r.first_at < earliest->first_at) earliest = &r;
      if (!r.traceparent.empty() && (!traced || r.first_at < traced->first_at) && TraceContext::parse(r.traceparent))
        traced = &r;  // parsed only when it would win
    }
    if (wave == 0)
      std::set_difference(expected_sorted_.begin(), expected_sorted_.end(), processors.begin(), processors.end(),
                          std::back_inserter(missing));
    if (changes) normalize(*changes);
    std::sort(links.begin(), links.end());
    links.erase(std::unique(links.begin(), links.end()), links.end());
    const std::vector<std::string> run = wave == 0 ? full_run_ : config_.registry.targets_of(processors);
    const bool partial_readiness = wave == 0 && !missing.empty();
    const bool degraded = !missing.empty() || !failed.empty() || !partial.empty();

    // The decision row, written directly (no JSON tree), keys in sorted order as a
    // JSON library would write them. Every string is a validated name or a literal.
    std::string decision;
    decision.reserve(160 + 32 * (processors.size() + run.size()));
    decision += "{\"decided_at\":\"";
    decision += encode_time(now);
    decision += partial_readiness ? "\",\"partial_readiness\":true" : "\",\"partial_readiness\":false";
    decision += ",\"processors\":";
    append_json_array(decision, processors);
    decision += ",\"reason\":";
    internal::append_json_string(decision, reason);
    decision += ",\"run_processors\":";
    append_json_array(decision, run);
    decision += degraded ? ",\"status\":\"partial\"" : ",\"status\":\"success\"";
    decision += ",\"trigger_id\":";
    internal::append_json_string(decision, id);
    decision += '}';
    std::string decision_key = base + "decision/";
    append_wave(decision_key, wave);
    auto inserted = tx.insert(decision_key, decision);
    if (!inserted) return fail(inserted.error());
    if (!*inserted) return ok();

    Message t;
    t.processor_name = config_.name;
    t.phase = config_.downstream_phase.empty() ? config_.name : config_.downstream_phase;
    t.execution_id = id;
    t.correlation_id = earliest && !earliest->executions.empty() ? earliest->executions.front().correlation_id : id;
    t.trace_links = std::move(links);
    if (traced) {
      t.traceparent = TraceContext::parse(traced->traceparent)->child().to_string();
    } else {
      t.traceparent = TraceContext::create().to_string();
    }
    t.game_date = date;
    t.status = degraded ? CompletionStatus::kPartial : CompletionStatus::kSuccess;
    t.record_count = static_cast<std::int64_t>(processors.size());
    t.is_incremental = changes.has_value();
    t.entities_changed = std::move(changes);
    t.metadata = nlohmann::json{{"tracker", config_.name},
                                {"upstream_phase", config_.upstream_phase},
                                {"wave", wave},
                                {"trigger_id", id},
                                {"reason", reason},
                                {"run_processors", run},
                                {"succeeded", succeeded},
                                {"partial", partial},
                                {"no_data", no_data},
                                {"failed", failed},
                                {"missing", missing},
                                {"partial_readiness", partial_readiness}};
    OutboxMessage entry{config_.trigger_topic, OutgoingMessage{id, encode_message(t), {}}};
    entry.message.attributes.emplace(std::string(attributes::kTraceparent), t.traceparent);
    auto enq = tx.enqueue(std::move(entry));
    if (!enq) return fail(enq.error());
    auto erased = tx.erase(open_key(date, wave));
    if (!erased) return fail(erased.error());
    out.triggered.push_back(id);

    if (partial_readiness || !failed.empty()) {
      out.effects.alerts.emplace_back(
          Severity::kWarning, fmt::format("tracker/{}/{}/partial", config_.name, date),
          partial_readiness
              ? fmt::format("{} for {} triggered with partial readiness at the deadline: {} of {} done; missing: {}{}",
                            config_.name, date, processors.size(), config_.expected.size(), fmt::join(missing, ", "),
                            failed.empty() ? std::string() : fmt::format("; failed: {}", fmt::join(failed, ", ")))
              : fmt::format("{} for {} triggered with failed upstream processors: {}", config_.name, date,
                            fmt::join(failed, ", ")),
          nlohmann::json{{"tracker", config_.name}, {"date", date.to_string()}, {"trigger_id", id},
                         {"missing", missing}, {"failed", failed}});
    }
    return ok();
  }

  void arm(CalendarDate date, int wave, TimePoint due) {
    std::lock_guard lock(guard_->mu);
    if (guard_->closing || guard_->armed.count({date, wave})) return;
    std::weak_ptr<TimerGuard> weak = guard_;
    const TimerId id = clock_.schedule_at(due, [this, weak, date, wave] {
      auto g = weak.lock();
      if (!g) return;
      {
        std::lock_guard l(g->mu);
        if (g->closing) return;
        g->armed.erase({date, wave});
        ++g->running;
      }
      // Errors (store down) leave the open row; check_deadlines() finds it later.
      (void)check_wave(date, wave);
      {
        std::lock_guard l(g->mu);
        --g->running;
      }
      g->idle.notify_all();
    });
    guard_->armed[{date, wave}] = id;
  }

  StateStore& store_;
  Clock& clock_;
  CompletionTrackerConfig config_;
  AlertManager* alerts_;
  std::vector<std::string> expected_sorted_;
  std::vector<std::string> full_run_;
  std::shared_ptr<TimerGuard> guard_;
};

}  // namespace pipeline::inline v0
