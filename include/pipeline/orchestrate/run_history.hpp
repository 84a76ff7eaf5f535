#pragma once
/// @file
/// `RunHistory`: one row per (processor, date, wave) saying running / success / failed.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

/// What a run is doing or did.
enum class RunState { kRunning, kSuccess, kFailed };

/// "running", "success", "failed".
constexpr std::string_view to_string(RunState s) noexcept {
  switch (s) {
    case RunState::kRunning: return "running";
    case RunState::kSuccess: return "success";
    case RunState::kFailed: return "failed";
  }
  return "unknown";
}

/// Which run: a processor's work for one date and wave (0 = the full wave).
struct RunKey {
  std::string processor;
  CalendarDate date;
  int wave = 0;
  friend bool operator==(const RunKey&, const RunKey&) = default;
};

/// The stored record of the latest run of a `RunKey`.
struct RunRecord {
  RunKey key;
  RunState state = RunState::kRunning;
  std::string owner;                     ///< Who started the latest attempt.
  TimePoint started_at{};
  std::optional<TimePoint> finished_at;  ///< Set for success and failed.
  TimePoint lease_until{};               ///< A running record is reclaimable after this.
  int attempts = 0;                      ///< Starts so far (reruns and reclaims included).
  std::string error;                     ///< The last failure's message.
};

/// What `try_start` decided.
enum class StartDecision {
  kStarted,  ///< The caller now holds the run (lease until now + lease).
  kSkipped,  ///< A success exists within the skip window (and the start was not forced).
  kBusy,     ///< Another runner holds an unexpired lease.
};

struct StartOutcome {
  StartDecision decision = StartDecision::kStarted;
  RunRecord record;  ///< The new record (started) or the existing one (skipped, busy).
};

struct RunHistoryOptions {
  /// How long a start (or `renew_lease`) reserves the run; a crashed runner's record is
  /// reclaimable after it.
  Duration lease = std::chrono::minutes(10);
};

/// Run history over the `StateStore`: decides whether a processor should run for a date
/// and wave, and records how it went — the seeds' RunHistoryMixin as rows.
///
/// Rows are keyed `run_history/<date>/<processor>/w<wave>` (JSON values) so a day's runs
/// are one prefix scan. `try_start` is a conditional read-modify-write in one
/// transaction, so of two concurrent starters (threads or processes on one store)
/// exactly one gets `kStarted`. A `running` record whose lease ended (its runner
/// crashed) is reclaimed by the next `try_start`. The `Transaction&` overloads let a
/// caller record success and enqueue the completion message in ONE transaction.
///
/// **Thread safety:** every member may be called from any thread. **Performance:** one
/// small transaction per call; JSON encode/decode of one row. **Errors:**
/// `kInvalidArgument` (bad processor name), `kFailedPrecondition` (marking or renewing a
/// run the owner does not hold: no record, another owner, or not running), the store's
/// errors.
///
/// **Example:**
/// @code
///   pipeline::RunHistory history(store, clock);
///   pipeline::RunKey key{"player_game_summary", date, 0};
///   auto start = history.try_start(key, worker_id, std::chrono::hours(2));
///   if (start && start->decision == pipeline::StartDecision::kStarted) {
///     store.transact([&](auto& tx) -> pipeline::Status {
///       PIPELINE_TRY(history.mark_success(tx, key, worker_id));
///       return tx.enqueue(completion).map([](bool) {});
///     });
///   }
/// @endcode
class RunHistory {
 public:
  /// The stored row's format: 2 carries a "format" field; rows without one (format 1,
  /// written before the field existed) read the same.
  static constexpr int kRecordFormat = 2;

  RunHistory(StateStore& store, Clock& clock, RunHistoryOptions options = {})
      : store_(store), clock_(clock), options_(options) {}

  /// The row key of a run.
  static std::string key_of(const RunKey& key) {
    return fmt::format("run_history/{}/{}/w{}", key.date.to_string(), key.processor, key.wave);
  }

  /// The record of `key`, if any.
  Result<std::optional<RunRecord>> get(Transaction& tx, const RunKey& key) const {
    PIPELINE_TRY(check(key));
    auto raw = tx.get(key_of(key));
    if (!raw) return fail(raw.error());
    if (!raw->has_value()) return std::optional<RunRecord>();
    auto rec = decode(key, **raw);
    if (!rec) return fail(rec.error());
    return std::optional<RunRecord>(std::move(*rec));
  }
  Result<std::optional<RunRecord>> get(const RunKey& key) {
    return store_.read([&](Transaction& tx) { return get(tx, key); });
  }

  /// Every run recorded for `date`, ordered by processor then wave text.
  Result<std::vector<RunRecord>> list(CalendarDate date) {
    const std::string prefix = fmt::format("run_history/{}/", date.to_string());
    auto rows = store_.scan(prefix);
    if (!rows) return fail(rows.error());
    std::vector<RunRecord> out;
    for (const auto& row : *rows) {
      const std::string_view rest = std::string_view(row.key).substr(prefix.size());
      const auto slash = rest.rfind("/w");
      if (slash == std::string_view::npos) continue;
      RunKey key{std::string(rest.substr(0, slash)), date, 0};
      try {
        key.wave = std::stoi(std::string(rest.substr(slash + 2)));
      } catch (const std::exception&) {
        continue;
      }
      auto rec = decode(key, row.value);
      if (!rec) return fail(rec.error());
      out.push_back(std::move(*rec));
    }
    return out;
  }

  /// Whether `try_start` would start now: no record, a failure, an expired `running`
  /// lease, or a success older than `skip_if_success_within` (any success when `force`
  /// is false and the window is not over; `force` ignores successes but never a live lease).
  Result<bool> should_run(const RunKey& key, Duration skip_if_success_within, bool force = false) {
    auto rec = get(key);
    if (!rec) return fail(rec.error());
    return decide(*rec, skip_if_success_within, force, clock_.now()) == StartDecision::kStarted;
  }

  /// Starts a run inside the caller's transaction (see `try_start`).
  Result<StartOutcome> try_start(Transaction& tx, const RunKey& key, std::string_view owner,
                                 Duration skip_if_success_within, bool force = false) {
    auto existing = get(tx, key);
    if (!existing) return fail(existing.error());
    const TimePoint now = clock_.now();
    const StartDecision decision = decide(*existing, skip_if_success_within, force, now);
    if (decision != StartDecision::kStarted) return StartOutcome{decision, std::move(**existing)};
    RunRecord rec;
    rec.key = key;
    rec.state = RunState::kRunning;
    rec.owner = std::string(owner);
    rec.started_at = now;
    rec.lease_until = now + options_.lease;
    rec.attempts = (*existing ? (*existing)->attempts : 0) + 1;
    PIPELINE_TRY(tx.put(key_of(key), encode(rec)));
    return StartOutcome{StartDecision::kStarted, std::move(rec)};
  }

  /// Starts a run unless a success exists within `skip_if_success_within` (ignored when
  /// `force`) or another runner holds an unexpired lease. Exactly one of several
  /// concurrent starters gets `kStarted`.
  Result<StartOutcome> try_start(const RunKey& key, std::string_view owner, Duration skip_if_success_within,
                                 bool force = false) {
    std::optional<StartOutcome> out;
    auto st = store_.transact([&](Transaction& tx) -> Status {
      auto r = try_start(tx, key, owner, skip_if_success_within, force);
      if (!r) return fail(r.error());
      out = std::move(*r);
      return ok();
    });
    if (!st) return fail(st.error());
    return std::move(*out);
  }

  /// Extends the lease of a running record held by `owner` to now + lease.
  Status renew_lease(const RunKey& key, std::string_view owner) {
    return store_.transact([&](Transaction& tx) -> Status {
      auto rec = held(tx, key, owner);
      if (!rec) return fail(rec.error());
      rec->lease_until = clock_.now() + options_.lease;
      return tx.put(key_of(key), encode(*rec));
    });
  }

  /// Records success inside the caller's transaction (commit it with the completion message).
  Status mark_success(Transaction& tx, const RunKey& key, std::string_view owner) {
    return finish(tx, key, owner, RunState::kSuccess, {});
  }

  /// Records failure with `error` inside the caller's transaction.
  Status mark_failure(Transaction& tx, const RunKey& key, std::string_view owner, std::string_view error) {
    return finish(tx, key, owner, RunState::kFailed, error);
  }

  /// `mark_success` in a transaction of its own.
  Status record_success(const RunKey& key, std::string_view owner) {
    return store_.transact([&](Transaction& tx) { return mark_success(tx, key, owner); });
  }

  /// `mark_failure` in a transaction of its own.
  Status record_failure(const RunKey& key, std::string_view owner, std::string_view error) {
    return store_.transact([&](Transaction& tx) { return mark_failure(tx, key, owner, error); });
  }

 private:
  static Status check(const RunKey& key) {
    if (key.processor.empty() || key.processor.find('/') != std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "run history processor name '{}' must be non-empty and without '/'",
                  key.processor);
    return validate_key(key_of(key));
  }

  StartDecision decide(const std::optional<RunRecord>& rec, Duration within, bool force, TimePoint now) const {
    if (!rec) return StartDecision::kStarted;
    if (rec->state == RunState::kRunning && rec->lease_until > now) return StartDecision::kBusy;
    if (rec->state == RunState::kSuccess && !force && rec->finished_at && *rec->finished_at + within > now)
      return StartDecision::kSkipped;
    return StartDecision::kStarted;
  }

  Result<RunRecord> held(Transaction& tx, const RunKey& key, std::string_view owner) const {
    auto rec = get(tx, key);
    if (!rec) return fail(rec.error());
    if (!*rec) return fail(ErrorCode::kFailedPrecondition, "no run recorded for {}", key_of(key));
    if ((*rec)->state != RunState::kRunning || (*rec)->owner != owner)
      return fail(ErrorCode::kFailedPrecondition, "{} is {} by '{}', not running by '{}' (lease lost?)", key_of(key),
                  to_string((*rec)->state), (*rec)->owner, owner);
    return std::move(**rec);
  }

  Status finish(Transaction& tx, const RunKey& key, std::string_view owner, RunState state, std::string_view error) {
    auto rec = held(tx, key, owner);
    if (!rec) return fail(rec.error());
    rec->state = state;
    rec->finished_at = clock_.now();
    rec->error = std::string(error);
    return tx.put(key_of(key), encode(*rec));
  }

  static std::string encode(const RunRecord& r) {
    nlohmann::json j{{"state", to_string(r.state)},          {"owner", r.owner},
                     {"started_at", format_rfc3339(r.started_at)}, {"lease_until", format_rfc3339(r.lease_until)},
                     {"attempts", r.attempts},                {"error", r.error},
                     {"format", kRecordFormat}};
    if (r.finished_at) j["finished_at"] = format_rfc3339(*r.finished_at);
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  static Result<RunRecord> decode(const RunKey& key, const std::string& text) {
    auto bad = [&](std::string_view why) {
      return fail(ErrorCode::kDataLoss, "run history row {} is unreadable: {}", key_of(key), why);
    };
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    try {
      return decode_object(key, j);
    } catch (const nlohmann::json::exception& e) {
      return bad(e.what());
    }
  }

  static Result<RunRecord> decode_object(const RunKey& key, const nlohmann::json& j) {
    auto bad = [&](std::string_view why) {
      return fail(ErrorCode::kDataLoss, "run history row {} is unreadable: {}", key_of(key), why);
    };
    if (const auto f = j.find("format");
        f != j.end() && (!f->is_number_integer() || f->get<long long>() < 1 || f->get<long long>() > kRecordFormat))
      return bad(fmt::format("format {}, this code reads formats 1 to {}", f->dump(), kRecordFormat));
    RunRecord r;
    r.key = key;
    const std::string state = j.value("state", "");
    if (state == "running")
      r.state = RunState::kRunning;
    else if (state == "success")
      r.state = RunState::kSuccess;
    else if (state == "failed")
      r.state = RunState::kFailed;
    else
      return bad("unknown state");
    r.owner = j.value("owner", "");
    r.attempts = j.value("attempts", 0);
    r.error = j.value("error", "");
    auto started = parse_rfc3339(j.value("started_at", ""));
    auto lease = parse_rfc3339(j.value("lease_until", ""));
    if (!started || !lease) return bad("bad timestamps");
    r.started_at = *started;
    r.lease_until = *lease;
    if (j.contains("finished_at")) {
      auto finished = parse_rfc3339(j.value("finished_at", ""));
      if (!finished) return bad("bad finished_at");
      r.finished_at = *finished;
    }
    return r;
  }

  StateStore& store_;
  Clock& clock_;
  RunHistoryOptions options_;
};

}  // namespace pipeline::inline v0
