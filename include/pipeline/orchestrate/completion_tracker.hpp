#pragma once
/// @file
/// `CompletionTracker`: waits for a phase's upstream processors on a date and decides
/// the downstream trigger exactly once per wave. Its key schema is `tracker_keys.hpp`,
/// its stored rows `tracker_records.hpp`, and what tools read `tracker_status.hpp`.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>


#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"
#include "pipeline/orchestrate/tracker_records.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline::inline v0 {

class OutboxRelay;

/// What one `CompletionTracker` waits for and what it triggers.
struct CompletionTrackerOptions {
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
  /// Stored by `create` (`tracker/<name>/registry`), so `pipelinectl graph` can draw it;
  /// phase names of at most `kMaxRegistryPhaseBytes` bytes of UTF-8.
  TriggerRegistry registry;
  /// Woken (`notify`) after each commit that decided a trigger, so the trigger reaches
  /// the transport right away instead of on the relay's next poll. Null: the relay's poll
  /// publishes it. Must outlive the tracker; not stored.
  OutboxRelay* relay = nullptr;
  /// Where the tracker raises its alerts (partial trigger, below threshold, unexpected
  /// or failed upstream). Null: none are raised. Must outlive the tracker; not stored.
  AlertManager* alerts = nullptr;
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
    std::vector<std::tuple<Severity, std::string, std::string, JsonObject>> alerts;
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
/// deadline, and for tools `trackers/<name>` describing the tracker and
/// `tracker/<name>/registry` holding its trigger registry (`registry_store.hpp`).
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
///   no_data, failed, missing, unexpected, partial_readiness}; its status is `partial`
///   when a run failed, was partial or is missing, `no_data` when every run found nothing
///   to do (a date without games: the downstream has nothing to do either), else `success`;
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
/// with the same options may share one store from several processes. Deadline timers run
/// on the clock's thread; alerts are raised on the thread that recorded (or on the timer
/// thread), never inside a store transaction. The destructor cancels timers and waits for
/// a running one; the store, clock and alert manager must outlive the tracker.
/// **Performance:** one store transaction per completion: a few point reads and writes
/// plus counts of the date's decision rows and the wave's done rows (no row copied); a
/// decision also scans and decodes each processor's info row and encodes the trigger.
/// **Errors:** `create`: `kInvalidArgument` for a bad option (naming the field), store
/// errors. `record_completion`: `kInvalidArgument` for a message that fails
/// `validate_message` (an unset date, ids not normalized, …) or has a processor name the
/// registry refuses — checked before anything is stored or counted — or a store error (`kUnavailable`, `kConflict`) — nothing is
/// recorded then, so redelivery is safe; `kDataLoss` for unreadable rows.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp completion_tracker
class CompletionTracker {
 public:
  /// Validates `options`, stores its description and its trigger registry for tools (one
  /// transaction; nothing is written when the store already holds both) and returns the
  /// tracker. Trackers sharing a store each store their own registry; tools merge them
  /// (`load_registry`).
  static Result<std::unique_ptr<CompletionTracker>> create(Clock& clock, StateStore& store,
                                                          CompletionTrackerOptions options);

  /// Checks options without creating anything.
  static Status validate_options(const CompletionTrackerOptions& c);

  CompletionTracker(const CompletionTracker&) = delete;
  CompletionTracker& operator=(const CompletionTracker&) = delete;
  /// Cancels this tracker's timers and waits for a running one.
  ~CompletionTracker();

  [[nodiscard]] const CompletionTrackerOptions& options() const noexcept { return options_; }
  /// The store it records in (for a caller that records several completions in one
  /// transaction with `record_completion(tx, m)`).
  [[nodiscard]] StateStore& store() const noexcept { return store_; }

  /// Records one upstream completion in its own transaction; decides the trigger when
  /// the rules say so; then raises alerts and arms deadline timers.
  Result<RecordOutcome> record_completion(const Message& m);

  /// Records one completion inside the caller's open transaction (an idempotent
  /// consumer's body): the decision and its outbox entry commit with the caller's
  /// writes. The body may re-run: keep the last outcome, and once the transaction has
  /// committed pass it to `after_commit` (alerts, timers). If that never happens (a
  /// crash), `check_deadlines()` still finds the deadline.
  Result<RecordOutcome> record_completion(Transaction& tx, const Message& m);

  /// Applies the effects of a committed `record_completion(tx, m)`: raises its alerts
  /// and arms its deadline timers. Calling it twice for one outcome arms nothing twice.
  void after_commit(const RecordOutcome& outcome);

  /// Evaluates the deadline or debounce window of one wave now: decides it when due
  /// (partial trigger, or an alert below the threshold). Idempotent.
  Result<RecordOutcome> check_wave(CalendarDate date, int wave);

  /// Evaluates every wave waiting for a deadline (any process's), deciding what is due
  /// and arming timers in this process for what is not. Call it at start-up and, if you
  /// like, periodically. Returns the trigger ids it decided.
  Result<std::vector<std::string>> check_deadlines();

  /// The state of `date` (an empty status when nothing is recorded).
  [[nodiscard]] Result<TrackerStatus> status(CalendarDate date) const;

  /// Trackers described in `store` (by any process), sorted by name; see
  /// `pipeline::list_trackers`.
  static Result<std::vector<TrackerDescription>> list_trackers(StateStore& store);

  /// The state of tracker `name` on `date`, from the rows alone (for tools); see
  /// `pipeline::load_tracker_status`.
  /// **Errors:** `kNotFound` when no tracker of that name was ever created in `store`.
  static Result<TrackerStatus> load_status(StateStore& store, std::string_view name, CalendarDate date);

  /// The stable trigger id of `wave` on `date`: `<name>/<date>/w<wave>`.
  [[nodiscard]] std::string trigger_id(CalendarDate date, int wave) const;

 private:
  // Timer bookkeeping shared with the timer callbacks (defined with the bodies).
  struct TimerGuard;

  CompletionTracker(Clock& clock, StateStore& store, CompletionTrackerOptions options);

  // What a completion changed for the downstream: failed and no_data runs change nothing.
  static ChangedEntities effective_changes(const Message& m);
  [[nodiscard]] bool reaches_threshold(std::size_t done) const;
  // Number of decided waves = the current wave (waves are decided in order).
  static Result<int> decided_waves(Transaction& tx, const std::string& base);
  // Adds the completion `m` to the record at `key`: a conditional insert in the common
  // case (the processor's first completion in this wave), a read-merge-write otherwise.
  // Returns whether the record is new.
  static Result<bool> merge_record(Transaction& tx, const std::string& key, const Message& m, const ChangedEntities& changes,
                             TimePoint now);
  Status check_wave(Transaction& tx, CalendarDate date, int wave, RecordOutcome& out);
  // Decides `wave` of `date`: inserts the decision row and enqueues the trigger, both in
  // `tx`. A decision row already present means another process decided: nothing to do.
  // `done_rows` are the wave's done rows when the caller has just scanned them.
  Status decide(Transaction& tx, CalendarDate date, int wave, std::string_view reason, TimePoint now,
                std::optional<std::vector<Row>> done_rows, RecordOutcome& out);
  void arm(CalendarDate date, int wave, TimePoint due);

  StateStore& store_;
  Clock& clock_;
  CompletionTrackerOptions options_;
  TrackerKeys keys_;
  std::vector<std::string> expected_sorted_;
  std::vector<std::string> full_run_;
  std::shared_ptr<TimerGuard> guard_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/completion_tracker-inl.hpp"
#endif
