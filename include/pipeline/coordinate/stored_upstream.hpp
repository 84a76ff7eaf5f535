#pragma once
/// @file
/// `StoredUpstream`: Phase 5's readiness and work, read from the store alone — for tools
/// (`pipelinectl phase5`) that run a `BatchCoordinator` without the pipeline's warehouse.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// What an upstream completion said about a date, as `BatchCoordinator::trigger` stores it
/// (row `<prefix>/upstream/<date>`): its generic readiness fields — `metadata.entities_ready`
/// and `metadata.entities_total` — and the entity ids it lists in
/// `entities_changed[<entity kind>]` (a full, not incremental, completion).
struct UpstreamSummary {
  std::optional<ReadinessCounts> counts;
  std::optional<std::vector<std::string>> entities;  ///< Sorted, unique.
  std::string execution_id;

  /// What `m` says, for the coordinator's entity kind; nullopt when it says neither.
  static std::optional<UpstreamSummary> from_message(const Message& m, const std::string& entity_kind);
  [[nodiscard]] std::string encode() const;
  /// **Errors:** `kDataLoss` when `text` is not a summary row.
  static Result<UpstreamSummary> decode(std::string_view text);
};

/// Options of a `StoredUpstream`.
struct StoredUpstreamOptions {
  std::string key_prefix = "phase5";                     ///< `BatchCoordinatorOptions::key_prefix`.
  std::string worker_name = "phase5-prediction-worker";  ///< The `PredictionWorker`'s consumer name.
};

/// A `ReadinessSource` and `PredictionLedger` over the store: readiness and the expected
/// entities are the last upstream completion's (`UpstreamSummary`); the predicted entities
/// are the work the library's `PredictionWorker` finished — its consumer markers
/// (`consumed/<worker>/<work message id>`) of the date's batches, at each batch's version
/// (an incremental re-prediction's marker names its own version).
///
/// **Thread safety:** as the store. **Performance:** `counts`/`expected` read one row;
/// `predicted` scans the date's batch rows and each batch's markers.
/// **Errors:** the store's; `kFailedPrecondition` from `expected` when no upstream
/// completion listed the date's entities; `kDataLoss` for unreadable rows.
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp stored_upstream
class StoredUpstream final : public ReadinessSource, public PredictionLedger {
 public:
  /// Validates `options` (names set, a key prefix without '/'), then builds the source
  /// (movable: it holds a reference and two names). **Errors:** `kInvalidArgument` naming
  /// the bad option.
  static Result<StoredUpstream> create(StateStore& store, StoredUpstreamOptions options = {});

  /// The last upstream completion's counts; {0, 0} (not ready) when there is none.
  Result<ReadinessCounts> counts(CalendarDate date) override;
  Result<std::vector<std::string>> expected(CalendarDate date) override;
  Result<std::map<std::string, std::int64_t>> predicted(CalendarDate date) override;

  /// The stored summary of `date`, if an upstream completion left one.
  Result<std::optional<UpstreamSummary>> summary(CalendarDate date);

  /// Where `BatchCoordinator::trigger` stores it: `<key_prefix>/upstream/<date>`.
  static std::string summary_key(std::string_view key_prefix, CalendarDate date);

 private:
  StoredUpstream(StateStore& store, StoredUpstreamOptions options) : store_(store), options_(std::move(options)) {}

  StateStore& store_;
  StoredUpstreamOptions options_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/stored_upstream-inl.hpp"
#endif
