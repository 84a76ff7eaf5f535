#pragma once
/// @file
/// `Retention`: deletes the state rows of old game dates, so a store that runs for a
/// season stops growing with the number of days.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
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

/// Settings of `Retention`.
struct RetentionOptions {
  /// Rows of game dates more than this before the newest date in the store go (rounded
  /// up to whole days: `72h` keeps the newest date and the three before it).
  Duration older_than = std::chrono::hours(24 * 14);
  /// The longest a message can still be delivered or redelivered after it was first sent
  /// (the transport's redelivery and message retention, a replay window). Every row that
  /// deduplicates a delivery — consumer markers, processor successes, tracker decisions,
  /// outbox ids — must outlive it, or a late redelivery would run or decide again, so
  /// `older_than` may not be shorter.
  Duration redelivery_horizon = std::chrono::hours(72);
  /// Dead letters are kept at least this long after they were recorded (the seeds: 7
  /// days), so an operator can still list and replay them.
  Duration dead_letters = std::chrono::hours(24 * 7);
  /// The key prefixes of the Phase 5 coordinators on this store
  /// (`BatchCoordinatorOptions::key_prefix`).
  std::vector<std::string> batch_prefixes{"phase5"};
  /// Further prefixes (ending in '/') whose rows are aged by the first date in their key,
  /// with nothing live among them (e.g. a scheduler's fired-job records).
  std::vector<std::string> dated_prefixes;
  /// Count what would go; delete nothing.
  bool dry_run = false;
  /// Rows deleted per transaction.
  std::size_t batch_size = 256;

  /// **Errors:** `kInvalidArgument` when `older_than` is shorter than
  /// `redelivery_horizon`, a duration is not positive, a prefix is empty or `batch_size`
  /// is 0.
  [[nodiscard]] Status validate() const;
};

/// What one `Retention::run_once` did (or, in a dry run, would do).
struct RetentionReport {
  bool dry_run = false;
  std::optional<CalendarDate> newest;       ///< The newest game date found; none: nothing to age.
  std::optional<CalendarDate> oldest_kept;  ///< Rows of dates before this one went.
  /// Rows deleted (or that a dry run would delete), by family: "tracker", "run_history",
  /// "process", "consumed", "change" (fingerprints of a dated scope), "alert", "dlq", and each
  /// batch and dated prefix.
  std::map<std::string, std::size_t> deleted;
  /// Rows of old dates kept because they are live, by family: undecided tracker waves,
  /// runs whose lease has not ended, Phase 5 batches still waiting or running.
  std::map<std::string, std::size_t> kept_live;
  /// Sent outbox entries deleted; none in a dry run (the port cannot count them without
  /// deleting them).
  std::optional<std::size_t> outbox_deleted;

  /// Rows deleted in all families, outbox entries included.
  [[nodiscard]] std::size_t total() const;
  /// `{"dry_run", "newest", "oldest_kept", "deleted": {...}, "kept_live": {...},
  /// "outbox_deleted", "total"}`; dates as `YYYY-MM-DD`, absent ones null.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Deletes what a store keeps per game date once the date is old: tracker rows of decided
/// waves, run history, processor completion records, consumer markers, change-detection
/// fingerprints of a dated scope, recorded alerts (`StoreAlertSink`), Phase 5 batch and
/// fired-job rows, dead letters past
/// their retention and sent outbox entries. Age is by **game date**,
/// counted back from the newest date in the store — not from the wall clock — so a store
/// left idle for a month is not wiped when it is next pruned.
///
/// Never deleted, whatever their age: unsent outbox entries; tracker dates with a wave
/// still undecided (an armed deadline or debounce, or a first completion without a
/// decision); run-history records still running under a lease that has not ended; the
/// rows of a date whose Phase 5 batch is waiting or running; dead letters younger than
/// `dead_letters` (measured from the start of the day after the newest date); rows whose
/// key names no date (descriptions, registries). A consumer marker whose message id names
/// no date is aged by the date in the row it points to (a `Processor`'s completion key),
/// and kept when it has none.
///
/// **Thread safety:** safe to run while the pipeline runs (each deletion batch is one
/// transaction, and what is live is kept); two prunes at once delete each row once.
/// **Performance:** scans each family's rows once (memory proportional to the rows of the
/// families, about 500 per game date in the NBA example) and deletes `batch_size` rows a
/// transaction.
/// **Errors:** the store's; `kInvalidArgument` from `create` for bad options.
///
/// **Example:**
/// @snippet runtime_snippets_test.cpp retention
class Retention {
 public:
  /// Validates `options`, then builds a `Retention`.
  /// **Errors:** `kInvalidArgument` naming the bad option.
  [[nodiscard]] static Result<std::unique_ptr<Retention>> create(Clock& clock, StateStore& store,
                                                                 RetentionOptions options);

  /// One pass over the store. **Errors:** the store's (rows deleted before the error stay
  /// deleted; a rerun continues).
  [[nodiscard]] Result<RetentionReport> run_once();

 private:
  Retention(Clock& clock, StateStore& store, RetentionOptions options)
      : clock_(clock), store_(store), options_(std::move(options)) {}

  Status erase(const std::vector<std::string>& keys);

  Clock& clock_;
  StateStore& store_;
  RetentionOptions options_;
};

namespace internal {
/// The first `YYYY-MM-DD` in `text` that is a real date and not part of a longer number:
/// how `Retention` finds the game date a row key (or a marker's value) belongs to.
std::optional<CalendarDate> first_date_in(std::string_view text);
}  // namespace internal

/// Parses `3d`, `72h`, `90m` (a positive whole number and a unit: d, h or m).
/// **Errors:** `kInvalidArgument` for anything else.
Result<Duration> parse_retention_duration(std::string_view text);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/runtime/retention-inl.hpp"
#endif
