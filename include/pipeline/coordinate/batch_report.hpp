#pragma once
/// @file
/// What a `BatchCoordinator` reports: a date's status, its batches and incremental
/// re-predictions as typed values, and the coordinator's health.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/coordinate/batch_state.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

/// What `status` reports for a date.
struct BatchReport {
  CalendarDate date;
  std::string batch_id;       ///< Empty when no batch exists for the date.
  int batch_number = 0;
  BatchState state = BatchState::kNone;  ///< Of the latest batch; `kNone` when there is none.
  std::optional<BatchTrigger> triggered_by;
  int attempts = 0;
  std::int64_t version = 0;
  std::size_t incremental_count = 0;
  std::size_t expected = 0;   ///< From the ledger.
  std::size_t done = 0;       ///< Expected entities with a stored prediction.
  std::vector<std::string> missing;  ///< Expected minus done, sorted.
  bool fully_complete = false;       ///< Something expected and nothing missing.
  bool partially_complete = false;   ///< Some done, some missing.
  double completion_rate = 0.0;      ///< done / expected (0 when nothing is expected).
  std::optional<TimePoint> phase4_completed_at;
  std::optional<TimePoint> started_at;     ///< When the batch fanned out.
  std::optional<TimePoint> completed_at;   ///< When every expected entity was predicted.
  /// completed_at - phase4_completed_at, when both are known (Go/No-Go: < 10 min).
  std::optional<Duration> phase4_to_phase5_latency;
  std::string message;

  /// The report as JSON (instants in RFC 3339, `state` and `triggered_by` by name).
  [[nodiscard]] nlohmann::json to_json() const;
};

/// One batch of a date, as `BatchCoordinator::batches` reads it from the store.
struct BatchInfo {
  std::string batch_id;
  int number = 0;                       ///< 1 for the date's first batch; `force` adds more.
  BatchState state = BatchState::kWaiting;
  BatchTrigger triggered_by = BatchTrigger::kManual;
  int attempts = 0;                     ///< Fan-outs so far (1 + retries); 0 while waiting.
  std::int64_t version = 0;             ///< The prediction version its work writes (0 while waiting).
  std::size_t expected = 0;             ///< Entities expected at its last fan-out or completion.
  TimePoint created_at{};
  std::optional<TimePoint> started_at;    ///< When it fanned out.
  std::optional<TimePoint> completed_at;  ///< When every expected entity was predicted.
  std::string message;
};

/// One incremental re-prediction of a date, as `BatchCoordinator::incrementals` reads it.
struct IncrementalInfo {
  std::string batch_id;                 ///< The batch it re-predicts for.
  int number = 0;                       ///< 1, 2, ... up to `max_incremental_per_date`.
  std::int64_t version = 0;             ///< The version its work writes.
  std::vector<std::string> entities;    ///< Sorted, unique.
  BatchState state = BatchState::kRunning;  ///< `kRunning` or `kComplete`.
  BatchTrigger triggered_by = BatchTrigger::kManual;
};

/// The answer of the 07:00 `status_check`.
struct StatusCheckResult {
  BatchReport report;
  bool alerted = false;  ///< Coverage was below the rule (the alert may be rate-limited).
  bool missing_alerted = false;  ///< More were missing than the rule tolerates (max(5%, 20)).
};

/// A coordinator's health at a glance.
struct CoordinatorHealth {
  std::size_t batches_waiting = 0;
  std::size_t batches_running = 0;
  std::size_t outbox_pending = 0;  ///< Entries committed but not yet published.
  std::string last_error;          ///< The last error a background step recorded; empty if none.
  [[nodiscard]] nlohmann::json to_json() const;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/batch_report-inl.hpp"
#endif
