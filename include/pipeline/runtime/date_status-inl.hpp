#pragma once
#include "pipeline/runtime/date_status.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE DateState DateStatus::state() const {
  const bool has_batch = !phase5.batch_id.empty();
  bool any = has_batch, gaps = has_batch && phase5.state != BatchState::kComplete;
  for (const auto& s : trackers) {
    any = any || !s.empty();
    gaps = gaps || !s.missing.empty() || !s.failed.empty();
  }
  if (!any) return DateState::kNothingRecorded;
  return gaps ? DateState::kPartial : DateState::kComplete;
}

PIPELINE_INLINE nlohmann::json DateStatus::to_json() const {
  nlohmann::json j{{"date", date.to_string()}, {"state", std::string(to_string(state()))},
                   {"trackers", nlohmann::json::array()}};
  for (const auto& s : trackers) j["trackers"].push_back(s.to_json());
  j["phase5"] = phase5.batch_id.empty() ? nlohmann::json() : phase5.to_json();
  return j;
}

PIPELINE_INLINE Result<std::vector<TrackerStatus>> load_tracker_statuses(StateStore& store, CalendarDate date) {
  auto trackers = CompletionTracker::list_trackers(store);
  if (!trackers) return fail(trackers.error());
  std::vector<TrackerStatus> statuses;
  for (const auto& t : *trackers) {
    auto s = CompletionTracker::load_status(store, t.name, date);
    if (!s) return fail(s.error());
    statuses.push_back(std::move(*s));
  }
  return statuses;
}

PIPELINE_INLINE Result<DateStatus> load_date_status(StateStore& store, CalendarDate date,
                                                    std::string_view phase5_prefix) {
  DateStatus out;
  out.date = date;
  auto trackers = load_tracker_statuses(store, date);
  if (!trackers) return fail(trackers.error());
  out.trackers = std::move(*trackers);
  auto phase5 = BatchCoordinator::load_report(store, phase5_prefix, date);
  if (!phase5) return fail(phase5.error());
  out.phase5 = std::move(*phase5);
  return out;
}

}  // namespace pipeline::inline v0
