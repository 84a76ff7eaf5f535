#pragma once
/// @file
/// `RunHistory`: one row per (processor, date, wave) saying running / success / failed.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

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
  int failures_in_a_row = 0;             ///< Failed runs since the last success (stored when > 0).
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

  /// A positive `lease`. **Errors:** `kInvalidArgument` naming the bad option.
  [[nodiscard]] Status validate() const;
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
/// @snippet orchestrate_snippets_test.cpp run_history
class RunHistory {
 public:
  /// The stored row's format: 2 carries a "format" field; rows without one (format 1,
  /// written before the field existed) read the same.
  static constexpr int kRecordFormat = 2;

  /// Validates `options`, then builds a run history (movable: it holds only references).
  /// **Errors:** `kInvalidArgument` naming the bad option.
  static Result<RunHistory> create(Clock& clock, StateStore& store, RunHistoryOptions options = {});

  /// The row key of a run.
  static std::string key_of(const RunKey& key);

  /// The record of `key`, if any.
  Result<std::optional<RunRecord>> get(Transaction& tx, const RunKey& key) const;
  Result<std::optional<RunRecord>> get(const RunKey& key);

  /// Every run recorded for `date`, ordered by processor then wave text.
  Result<std::vector<RunRecord>> list(CalendarDate date);

  /// Whether `try_start` would start now: no record, a failure, an expired `running`
  /// lease, or a success older than `skip_if_success_within` (any success when `force`
  /// is false and the window is not over; `force` ignores successes but never a live lease).
  Result<bool> should_run(const RunKey& key, Duration skip_if_success_within, bool force = false);

  /// Starts a run inside the caller's transaction (see `try_start`).
  Result<StartOutcome> try_start(Transaction& tx, const RunKey& key, std::string_view owner,
                                 Duration skip_if_success_within, bool force = false);

  /// Starts a run unless a success exists within `skip_if_success_within` (ignored when
  /// `force`) or another runner holds an unexpired lease. Exactly one of several
  /// concurrent starters gets `kStarted`.
  Result<StartOutcome> try_start(const RunKey& key, std::string_view owner, Duration skip_if_success_within,
                                 bool force = false);

  /// Extends the lease of a running record held by `owner` to now + lease.
  Status renew_lease(const RunKey& key, std::string_view owner);

  /// Records success inside the caller's transaction (commit it with the completion message).
  Status mark_success(Transaction& tx, const RunKey& key, std::string_view owner);

  /// Records failure with `error` inside the caller's transaction.
  Status mark_failure(Transaction& tx, const RunKey& key, std::string_view owner, std::string_view error);

  /// Ends every `running` record of `date` as failed with `reason`, so the next
  /// `try_start` starts at once instead of waiting out the lease, and returns how many it
  /// ended. Only for a caller that knows their owners are dead — the holder of a date
  /// lease taken over from a process that died, say — since a live owner would then run
  /// beside the next one. **Errors:** the store's; `kDataLoss` for an unreadable row.
  Result<int> abandon_running(CalendarDate date, std::string_view reason);

  /// `mark_success` in a transaction of its own.
  Status record_success(const RunKey& key, std::string_view owner);

  /// `mark_failure` in a transaction of its own.
  Status record_failure(const RunKey& key, std::string_view owner, std::string_view error);

 private:
  RunHistory(Clock& clock, StateStore& store, RunHistoryOptions options)
      : store_(store), clock_(clock), options_(options) {}

  static Status check(const RunKey& key);

  StartDecision decide(const std::optional<RunRecord>& rec, Duration within, bool force, TimePoint now) const;

  Result<RunRecord> held(Transaction& tx, const RunKey& key, std::string_view owner) const;

  Status finish(Transaction& tx, const RunKey& key, std::string_view owner, RunState state, std::string_view error);

  static std::string encode(const RunRecord& r);

  static Result<RunRecord> decode(const RunKey& key, const std::string& text);

  static Result<RunRecord> decode_object(const RunKey& key, const nlohmann::json& j);

  StateStore& store_;
  Clock& clock_;
  RunHistoryOptions options_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/run_history-inl.hpp"
#endif
