#pragma once
/// @file
/// Adapters from the seeds' older message shapes into the unified `Message`, and
/// `decode_any_message`, which recognizes which shape it was given.
///
/// The legacy shapes of the seeds' generic stages, as the seeds publish them:
/// - Phase 1 scraper: `{name, scraper_name, execution_id, status (success|no_data|failed),
///   gcs_path, record_count, timestamp, workflow}`.
/// - Phase 2 `raw_data_loaded`: `{event_type, source_table, target_table, processor_name,
///   execution_id, correlation_id, game_date, game_ids, record_count, status, timestamp,
///   source_scraper_execution_id, metadata{duration_seconds, rows_inserted, rows_updated}}`.
///
/// A pipeline's own legacy shapes (a hand-published "stage complete" event, say) plug
/// into `decode_any_message` as `LegacyEventAdapter`s; the examples' Phase 4 one is in
/// examples/phase5_coordinator/phase4_complete.hpp.
///
/// Every adapter is as strict as `decode_message` about the fields it knows, reports all
/// bad fields at once, and returns a message that passes `validate_message`. Fields a
/// shape does not define are kept: in `extensions`, or, when their name is a unified
/// field name (which the legacy shape does not own), in `metadata` as `legacy_<name>`.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Phase names the adapters assign.
inline constexpr std::string_view kLegacyScraperPhase = "phase1_scrapers";
inline constexpr std::string_view kLegacyRawPhase = "phase2_raw";

/// A caller's adapter for one more legacy shape, recognized by its `event_type` field;
/// `adapt` gets the parsed object (see the `internal` helpers above it for the rules the
/// library's own adapters follow).
struct LegacyEventAdapter {
  std::string_view event_type;
  Result<Message> (*adapt)(const nlohmann::json& j) = nullptr;
};

namespace internal {

/// Keeps the fields of `j` not in `known`: see the file comment for where they go.
void keep_unknown_legacy_fields(const nlohmann::json& j, std::span<const std::string_view> known, Message& m);

/// Reads an optional legacy RFC 3339 timestamp and keeps its original text in metadata.
void read_legacy_timestamp(const nlohmann::json& j, Message& m, FieldErrors& errors);

/// Reads an optional legacy "error" text; a failed message without one gets `fallback`.
void read_legacy_error(const nlohmann::json& j, Message& m, FieldErrors& errors, std::string fallback);

/// A unified field an adapter derives from a legacy one: when the legacy field was
/// already reported, the unified rule's complaint about the same value is noise.
struct DerivedField {
  std::string_view unified;
  std::string_view legacy;
};

/// Applies the unified rules to an adapted message and reports everything found.
Result<Message> finish_legacy(Message m, FieldErrors& errors, std::string_view what,
                              std::initializer_list<DerivedField> derived);

}  // namespace internal

/// Adapts a Phase 1 scraper message into a `Message` (phase "phase1_scrapers").
///
/// `scraper_name` (or `name`) becomes `processor_name`; `correlation_id` is the
/// `execution_id` (a scrape starts the chain); `gcs_path`, `workflow` and `timestamp`
/// (validated RFC 3339, kept as written) go to `metadata`. The caller supplies
/// `game_date`: the message's timestamp is UTC and game dates are US/Eastern days, so a
/// date derived from it would be wrong for evening games — this adapter never guesses.
/// A `failed` message without an `error` text gets one saying the reason is unknown.
///
/// **Thread safety:** pure function. **Performance:** a JSON parse plus a few copies.
/// **Errors:** `kInvalidArgument`, every bad field named, as `decode_message`.
///
/// **Example:**
/// @snippet core_snippets_test.cpp adapt_scraper_message
Result<Message> adapt_scraper_message(std::string_view json, CalendarDate game_date,
                                             const DecodeLimits& limits = {});

/// Adapts a Phase 2 `raw_data_loaded` message into a `Message` (phase "phase2_raw").
///
/// `source_table` becomes `output_table` (and the processor name when none is given);
/// `target_table` is kept in metadata and its dataset prefix (e.g. `raw.` of `raw.games`) becomes
/// `output_dataset`; `source_scraper_execution_id` becomes a trace link (and the
/// correlation id when none is given); `game_ids`, `timestamp`, `rows_inserted`,
/// `rows_updated` go to metadata; `metadata.duration_seconds` becomes `duration_seconds`.
/// A missing `status` means success (the seeds' early samples have none).
///
/// **Thread safety:** pure function. **Performance:** a JSON parse plus a few copies.
/// **Errors:** `kInvalidArgument`, every bad field named.
///
/// **Example:**
/// @snippet core_snippets_test.cpp adapt_raw_loaded_message
Result<Message> adapt_raw_loaded_message(std::string_view json, const DecodeLimits& limits = {});

/// Decodes a completion message of any shape the pipeline has published.
///
/// Recognition, in order: a `phase` field → the unified shape; `event_type`
/// "raw_data_loaded" or one of `more` → that adapter (any other `event_type` is an
/// error); a `scraper_name` field → the scraper adapter, which needs `game_date` (see
/// `adapt_scraper_message`); anything else → the unified decoder, whose errors then say
/// what is missing.
///
/// **Thread safety:** pure function. **Performance:** one parse, whatever the shape.
/// **Errors:** `kInvalidArgument` from the chosen decoder; for a scraper message without
/// `game_date`, one saying the caller must supply the (US/Eastern) game date.
///
/// **Example:**
/// @snippet core_snippets_test.cpp decode_any_message
Result<Message> decode_any_message(std::string_view json, std::optional<CalendarDate> game_date = std::nullopt,
                                          const DecodeLimits& limits = {},
                                          std::initializer_list<LegacyEventAdapter> more = {});

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/legacy_messages-inl.hpp"
#endif
