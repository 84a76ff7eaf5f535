#pragma once
/// @file
/// The coordinator's stored rows (implementation detail of `BatchCoordinator`): one batch
/// per date and number, one incremental re-prediction per date and number, and their JSON
/// codec. The stored format (keys, state names, nanosecond instants) is the one rows were
/// written in before these types existed, so existing stores still read.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/coordinate/batch_state.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0::internal {

/// One batch row, stored as JSON under `<prefix>/batch/<date>/<number:04>`.
struct BatchRecord {
  std::string batch_id;
  int number = 0;
  BatchState state = BatchState::kWaiting;  // waiting | running | complete | refused
  BatchTrigger triggered_by = BatchTrigger::kManual;
  int attempts = 0;
  std::int64_t version = 0;
  std::int64_t created_ns = 0, started_ns = 0, completed_ns = 0;
  std::size_t expected = 0;
  std::string message;
  /// The run's correlation id: the triggering message's, else the batch id. Stored only
  /// when not empty; a row written before it existed reads as empty.
  std::string correlation_id;

  [[nodiscard]] std::string encode() const;
  /// **Errors:** `kDataLoss` when the row is not a batch row (not JSON, a missing or
  /// mistyped field, an unknown state or trigger).
  static Result<BatchRecord> decode(std::string_view text);
};

/// One incremental re-prediction, under `<prefix>/incremental/<date>/<number:04>`.
struct IncrementalRecord {
  std::string batch_id;
  int number = 0;
  std::int64_t version = 0;
  std::vector<std::string> entities;
  BatchState state = BatchState::kRunning;  // running | complete
  BatchTrigger triggered_by = BatchTrigger::kManual;
  std::string correlation_id;  ///< As in `BatchRecord`.

  [[nodiscard]] std::string encode() const;
  /// **Errors:** `kDataLoss` as for `BatchRecord::decode`.
  static Result<IncrementalRecord> decode(std::string_view text);
};

inline std::int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_ns(std::int64_t ns) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/batch_records-inl.hpp"
#endif
