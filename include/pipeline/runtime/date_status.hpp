#pragma once
/// @file
/// `DateStatus`: one game date's state over every tracker and the Phase 5 batch, read from
/// the store alone — what `pipelinectl status` prints and the status page shows.

#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/coordinate/batch_report.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"

namespace pipeline::inline v0 {

/// How a date stands over every tracker and the Phase 5 batch of a store.
enum class DateState {
  kNothingRecorded,  ///< No tracker and no batch has a row for the date.
  kPartial,          ///< An expected processor is missing or failed, or the batch is not complete.
  kComplete,         ///< Every tracker has all it expects and the batch (if any) is complete.
};

/// "nothing_recorded" | "partial" | "complete".
constexpr std::string_view to_string(DateState s) noexcept {
  switch (s) {
    case DateState::kNothingRecorded: return "nothing_recorded";
    case DateState::kPartial: return "partial";
    case DateState::kComplete: return "complete";
  }
  return "partial";
}

/// One date's state as tools read it: every tracker's `TrackerStatus` and the Phase 5
/// `BatchReport` (empty `batch_id` when there is no batch).
///
/// **Thread safety:** a plain value. **Performance:** `load_date_status` reads each
/// tracker's rows of the date and the coordinator's rows (a few scans).
/// **Errors:** the store's; `kDataLoss` for an unreadable row.
///
/// **Example:**
/// @snippet runtime_snippets_test.cpp date_status
struct DateStatus {
  CalendarDate date;
  std::vector<TrackerStatus> trackers;  ///< Every tracker described in the store, by name.
  BatchReport phase5;

  /// Over every tracker and the batch. A tracker with nothing recorded on a date others
  /// have rows for is missing all of its upstream processors: the date is partial.
  [[nodiscard]] DateState state() const;

  /// `{"date", "state", "trackers": [TrackerStatus::to_json()...], "phase5":
  /// BatchReport::to_json() or null}`.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// The status of every tracker recorded in `store` for `date` (empty when none is).
/// **Errors:** the store's, or a tracker row that cannot be read.
Result<std::vector<TrackerStatus>> load_tracker_statuses(StateStore& store, CalendarDate date);

/// `date`'s trackers and the batch of the coordinator whose rows start with
/// `phase5_prefix` (`BatchCoordinatorOptions::key_prefix`).
/// **Errors:** the store's; `kDataLoss` for an unreadable row.
Result<DateStatus> load_date_status(StateStore& store, CalendarDate date, std::string_view phase5_prefix = "phase5");

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/runtime/date_status-inl.hpp"
#endif
