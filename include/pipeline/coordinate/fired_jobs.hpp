#pragma once
/// @file
/// `FiredJobs`: which scheduled jobs have fired, per date, recorded in the `StateStore`.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// One scheduled job of a date: its name and scheduled instant.
struct ScheduledRun {
  std::string job;
  TimePoint at;
  friend bool operator==(const ScheduledRun&, const ScheduledRun&) = default;
};

/// A fired job as recorded: the job, its scheduled instant and the instance that fired it.
struct FiredJob {
  std::string job;
  TimePoint at;
  std::string owner;
};

/// Options of `FiredJobs`.
struct FiredJobsOptions {
  /// The rows live under `<key_prefix>/<date>/...` ("phase5/fired"); required, no trailing '/'.
  std::string key_prefix;
};

/// The record of which scheduled jobs fired for a date, one row per job and instant
/// (`<prefix>/<date>/<instant RFC 3339>/<job>`, value: the owner) written by a
/// conditional insert, so of several processes sharing the store exactly one claims a
/// job. A job is recorded *before* it runs: a process that dies while running it does not
/// run it again on restart (the coordinator's own recovery handles what it left), and no
/// job runs twice. `HybridTrigger` claims each job here before running it, and on start
/// runs the date's past-due jobs nobody claimed.
///
/// **Thread safety:** every member may be called from any thread and from several
/// processes sharing the store.
/// **Performance:** `claim` is one transaction of one insert per job; `list` and `forget`
/// scan the date's rows (a handful).
/// **Errors:** the store's; `kInvalidArgument` for a job name that is not a valid key part;
/// `kDataLoss` from `list` for a row whose key does not name an instant.
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp fired_jobs
class FiredJobs {
 public:
  /// Checks the key prefix, then builds the records (movable: a reference and a prefix).
  /// **Errors:** `kInvalidArgument` for an empty prefix or one ending in '/'.
  static Result<FiredJobs> create(StateStore& store, FiredJobsOptions options);

  /// Claims every job of `runs` (all of `date`) that nobody has claimed, in ONE
  /// transaction: of two callers racing for the same jobs, one gets all of them, so a
  /// catch-up runs them in order in one process. Returns, per job, whether this call
  /// claimed it (false: it fired already, here or elsewhere).
  Result<std::vector<bool>> claim(CalendarDate date, const std::vector<ScheduledRun>& runs, std::string_view owner);

  /// The jobs fired for `date`, by instant.
  Result<std::vector<FiredJob>> list(CalendarDate date);

  /// Forgets the jobs fired for `date` (a backfill or a manual re-run fires them again);
  /// returns how many were forgotten.
  Result<std::size_t> forget(CalendarDate date);

 private:
  FiredJobs(StateStore& store, std::string key_prefix) : store_(store), prefix_(std::move(key_prefix)) {}

  [[nodiscard]] std::string date_prefix(CalendarDate date) const;

  StateStore& store_;
  std::string prefix_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/fired_jobs-inl.hpp"
#endif
