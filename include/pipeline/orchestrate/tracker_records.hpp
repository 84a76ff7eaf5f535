#pragma once
/// @file
/// The rows a `CompletionTracker` writes and reads: completion records, decision rows,
/// stored instants and the tracker's description (see `tracker_keys.hpp` for where).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// A tracker's configuration as stored for tools (`pipelinectl status`), at
/// `trackers/<name>`.
struct TrackerDescription {
  std::string name;
  std::string upstream_phase;
  std::string downstream_phase;
  std::string trigger_topic;
  std::vector<std::string> expected;
};

/// The format of the rows a tracker writes. Format 1 (no "format" field in JSON rows,
/// records starting "1;") kept instants in microseconds; format 2 keeps them in
/// nanoseconds, like the rest of the library's stored records. Both read.
inline constexpr int kTrackerRecordFormat = 2;

namespace internal {

/// One processor's completions within one wave, as stored in its record row.
struct WaveRecord {
  CompletionStatus status = CompletionStatus::kSuccess;
  std::vector<TraceLink> executions;
  std::string traceparent;
  ChangedEntities changes;
  TimePoint first_at{};
  TimePoint last_at{};
};

/// A decision row, as read back (for status).
struct DecisionRecord {
  std::string trigger_id;
  bool partial_readiness = false;
  std::string reason;
  std::string status;  ///< "success" | "partial" | "no_data".
  std::optional<TimePoint> decided_at;
  std::vector<std::string> processors;
  std::vector<std::string> run_processors;
};

/// A stored instant (the `first`, `alerted` and `open` rows, `decided_at`): "2;" and
/// nanoseconds since the epoch; format 1's bare microseconds still read.
std::string encode_time(TimePoint t);
/// **Errors:** `kDataLoss` when `s` is not a stored instant.
Result<TimePoint> decode_time(std::string_view s);

/// A completion record is stored in a compact length-prefixed form, cheap to write on
/// every completion and to read back at the decision: numbers end with ';', strings are
/// "<length>:<bytes>". Layout: format (1: instants in µs, 2: ns), status, first_at, last_at, traceparent,
/// executions (count, then id and correlation id each), changes ('F' for full, or 'C',
/// kind count, then each kind with its id count and ids).
/// The head of a record, up to and including its execution count; then each execution
/// (`put_execution`) and the changes (`put_changes`) follow.
void put_record_head(std::string& out, CompletionStatus status, TimePoint first_at, TimePoint last_at,
                     std::string_view traceparent, std::size_t executions);
void put_execution(std::string& out, std::string_view execution_id, std::string_view correlation_id);
void put_changes(std::string& out, const ChangedEntities& changes);
std::string encode_record(const WaveRecord& r);
/// Reads what `encode_record` wrote; anything else is `kDataLoss`.
Result<WaveRecord> decode_record(std::string_view text);

/// The decision row, written directly (no JSON tree), keys in sorted order as a JSON
/// library would write them. Every string is a validated name or a literal.
std::string encode_decision(TimePoint decided_at, bool partial_readiness, const std::vector<std::string>& processors,
                            std::string_view reason, const std::vector<std::string>& run_processors,
                            CompletionStatus status, std::string_view trigger_id);
/// **Errors:** `kDataLoss` when `text` is not a JSON object.
Result<DecisionRecord> decode_decision(std::string_view text);

std::string encode_description(const TrackerDescription& d);
/// **Errors:** `kDataLoss` when `text` is not a tracker description.
Result<TrackerDescription> decode_description(std::string_view text);

}  // namespace internal
}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/tracker_records-inl.hpp"
#endif
