#pragma once
/// @file
/// The NBA pipeline's legacy Phase 4 → 5 message, `phase4_complete`, read into the unified
/// `Message` — an example of a pipeline's own legacy shape plugged into
/// `pipeline::decode_any_message`. Include as "phase5_coordinator/phase4_complete.hpp".

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/legacy_messages.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/result.hpp"

namespace nba::phase5 {

/// The phase the adapter assigns.
inline constexpr std::string_view kLegacyPrecomputePhase = "phase4_precompute";

/// Reads a parsed `phase4_complete` object (the `LegacyEventAdapter` of the shape).
pipeline::Result<pipeline::Message> phase4_message_from_json(const nlohmann::json& j);

/// Adapts a Phase 4 `phase4_complete` message — `{event_type, game_date, players_ready,
/// players_total}`, as the seeds publish it by hand — into a `Message` (phase
/// "phase4_precompute").
///
/// `players_ready` becomes `record_count`; the counts go to the library's generic
/// `metadata.entities_ready` / `entities_total`. Status:
/// `no_data` when `players_total` is 0, `partial` when fewer are ready than in total,
/// else `success`. The message names no processor or execution: unless it carries them,
/// `processor_name` is "phase4_complete" and `execution_id` the stable
/// "phase4_complete/<date>", so redeliveries map to one execution.
///
/// **Thread safety:** pure function. **Performance:** a JSON parse plus a few copies.
/// **Errors:** `kInvalidArgument`, every bad field named; `0 <= players_ready <=
/// players_total` is required.
///
/// **Example:**
/// @code
///   auto m = nba::phase5::adapt_phase4_message(R"({"event_type":"phase4_complete",
///       "game_date":"2025-11-28","players_ready":100,"players_total":450})");
/// @endcode
pipeline::Result<pipeline::Message> adapt_phase4_message(std::string_view json,
                                                         const pipeline::DecodeLimits& limits = {});

/// `pipeline::decode_any_message` that also reads `phase4_complete`: every shape the NBA
/// pipeline has published (unified, raw_data_loaded, phase4_complete, scraper).
pipeline::Result<pipeline::Message> decode_any_message(std::string_view json,
                                                       std::optional<pipeline::CalendarDate> game_date = std::nullopt,
                                                       const pipeline::DecodeLimits& limits = {});

}  // namespace nba::phase5
