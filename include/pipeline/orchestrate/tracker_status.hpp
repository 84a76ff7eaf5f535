#pragma once
/// @file
/// What tools read about a `CompletionTracker` from the store alone: `TrackerStatus`
/// (who is done, missing, what was triggered) and the trackers a store describes.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/orchestrate/tracker_records.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline::inline v0 {

/// One wave of triggers for a date, as `CompletionTracker::status` reports it.
struct WaveStatus {
  int number = 0;                          ///< 0: the full wave; 1, 2, ...: incremental waves.
  bool decided = false;
  std::string trigger_id;                  ///< Set when decided.
  bool partial = false;                    ///< Decided by the deadline with processors missing.
  std::string reason;                      ///< "complete" | "deadline" | "debounce" when decided.
  std::string trigger_status;              ///< The trigger's status ("success" | "partial" | "no_data").
  std::optional<TimePoint> first_completion;
  std::optional<TimePoint> triggered_at;
  std::vector<std::string> processors;     ///< Upstream processors recorded in this wave.
  std::vector<std::string> run_processors; ///< What the trigger runs (when decided).
  bool below_threshold_alerted = false;    ///< The deadline passed below the threshold.
  /// The union of the entities the wave's recorded completions changed: `std::nullopt`
  /// when one of them was a full run, an empty map when none changed anything.
  ChangedEntities entities_changed = EntityChanges{};

  /// The hand-off's latency for this wave: from its first completion to its decision
  /// (nullopt while undecided).
  [[nodiscard]] std::optional<Duration> latency() const {
    if (!first_completion || !triggered_at) return std::nullopt;
    return *triggered_at - *first_completion;
  }
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
  std::optional<TimePoint> first_completion;  ///< Over every wave.
  std::optional<TimePoint> last_completion;   ///< Over every wave (a late one may be hours after).
  /// Nothing recorded for this date.
  [[nodiscard]] bool empty() const {
    return done.empty() && failed.empty() && unexpected.empty() && waves.empty();
  }

  /// The state of each processor that has one (expected and unexpected upstream ones).
  [[nodiscard]] std::map<std::string, ProcessorState, std::less<>> processor_states() const;

  /// JSON for scripts; instants are RFC 3339 UTC.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Trackers described in `store` (by any process), sorted by name.
///
/// **Thread safety:** as the store. **Performance:** one scan of `trackers/`.
/// **Errors:** the store's; `kDataLoss` for an unreadable description (with its key).
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp list_trackers
Result<std::vector<TrackerDescription>> list_trackers(StateStore& store);

/// The state of tracker `name` on `date`, from the rows alone (for tools).
///
/// **Thread safety:** as the store. **Performance:** one point read and one scan of the
/// date's rows, each record decoded.
/// **Errors:** `kNotFound` when no tracker of that name was ever created in `store`;
/// `kDataLoss` for unreadable rows; the store's.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp load_tracker_status
Result<TrackerStatus> load_tracker_status(StateStore& store, std::string_view name, CalendarDate date);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/tracker_status-inl.hpp"
#endif
