#pragma once
/// @file
/// `PredictionWork`: one unit of Phase 5 work (predict one entity for one date) and its
/// JSON codec, the payload of the coordinator's per-entity work messages.

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// One unit of prediction work: predict `entity` for `game_date` as `version`.
/// Its message id is `<batch_id>/a<attempt>/<entity>` (batch and retries) or
/// `<batch_id>/v<version>/<entity>` (incremental), so consumers are idempotent per
/// (date, entity, batch attempt). `correlation_id` is the id the pipeline's run carries
/// from its first message (Phase 1's scraper) on, so a prediction row can name it beside
/// its batch id.
///
/// **Thread safety:** a value type. **Performance:** `encode` writes the JSON directly
/// (one per entity of a batch; a JSON tree cost ten times as much); `decode` reads SAX
/// events into the fields (no JSON tree: one decode per delivery).
/// **Errors:** `decode` returns `kInvalidArgument` naming the problem.
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp prediction_work
/// @snippet coordinate_snippets_test.cpp prediction_work_decode
struct PredictionWork {
  std::string batch_id;
  CalendarDate game_date;
  std::string entity;
  int attempt = 0;            ///< 0 for incremental work.
  std::int64_t version = 1;   ///< Higher versions supersede lower ones.
  std::string kind;           ///< "batch" | "retry" | "incremental".
  /// The run's correlation id (the triggering message's); empty when unknown. Written
  /// only when not empty, read as empty when absent (work from an older coordinator).
  std::string correlation_id{};

  /// `<batch_id>/a<attempt>/<entity>`, or `<batch_id>/v<version>/<entity>` for incremental work.
  [[nodiscard]] std::string message_id() const;

  /// The JSON object, keys in sorted order.
  [[nodiscard]] std::string encode() const;

  /// **Errors:** `kInvalidArgument` naming the problem (not JSON, a missing field, a bad date).
  /// A repeated key keeps its last value, unknown keys are skipped.
  static Result<PredictionWork> decode(std::string_view payload);
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/prediction_work-inl.hpp"
#endif
