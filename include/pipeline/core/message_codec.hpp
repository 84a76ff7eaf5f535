#pragma once
/// @file
/// The strict JSON codec of `Message`: `validate_message`, `encode_message`, `decode_message`.
///
/// Wire rules, stated once:
/// - Field names are the seeds' (`game_date`, `record_count`, ...). `schema_version` is
///   written first; a missing one means 1 (the seeds' messages have none).
/// - Required: `processor_name`, `phase`, `execution_id` (non-empty strings), `game_date`
///   (`YYYY-MM-DD`), `status`. Everything else is optional; an optional field that is
///   `null` counts as absent. A missing `correlation_id` defaults to `execution_id`.
/// - `entities_changed` absent or `null`: a full run. An object: ids per kind (each an
///   array of strings, sorted and deduplicated on decode; kinds left empty are dropped).
/// - Unknown top-level fields are **kept** in `Message::extensions` and written back by
///   the encoder: never fatal. Unknown fields inside a trace link are ignored.
/// - Decoding is strict about everything it knows: each bad field is reported, all of
///   them in one `Error` (`context["fields"]` lists them, comma-separated).

#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"
#include "pipeline/core/decode_limits.hpp"
#include "pipeline/core/json_reader.hpp"
#include "pipeline/core/json_writer.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/trace_context.hpp"

namespace pipeline::inline v0 {

namespace internal {

/// Every top-level field name the codec knows; extensions may not reuse them.
inline constexpr std::string_view kMessageFields[] = {
    "schema_version", "processor_name", "phase",          "execution_id",   "correlation_id",
    "trace_links",    "traceparent",    "game_date",      "output_table",   "output_dataset",
    "status",         "record_count",   "duration_seconds", "entities_changed", "is_incremental",
    "error",          "metadata",
};

inline bool is_message_field(std::string_view name) {
  for (auto f : kMessageFields)
    if (f == name) return true;
  return false;
}

/// The rules every message obeys, added to `errors` for fields not already reported.
/// `check_utf8` is off for decoded messages (the JSON parser already rejects bad UTF-8).
void check_message(const Message& m, FieldErrors& errors, bool check_utf8);

/// Reads `entities_changed`: absent/null = full run, else {kind: [ids]} normalized.
void read_entities(const nlohmann::json& j, std::string_view field, ChangedEntities& out,
                   FieldErrors& errors);

/// Reads `trace_links`: an array of {execution_id, correlation_id?}.
void read_trace_links(const nlohmann::json& j, std::string_view field, std::vector<TraceLink>& out,
                      FieldErrors& errors);

/// Builds a `Message` from parsed JSON in the unified shape (see the wire rules above).
Result<Message> message_from_json(const nlohmann::json& j);

}  // namespace internal

/// Checks `m` against every rule of the wire format: non-empty `processor_name`,
/// `phase`, `execution_id`; `record_count >= 0`; finite `duration_seconds >= 0`; a failed
/// status carries an `error`; `traceparent` (when set) is W3C; `schema_version` in
/// 1..`Message::kSchemaVersion`; `entities_changed` normalized (sorted, unique, no empty
/// kind; every id follows the entity-id rule of entity_id.hpp); `metadata`/`extensions` are objects with finite numbers, and extension
/// keys are not known field names; every string is well-formed UTF-8.
///
/// **Thread safety:** reads `m` only. **Performance:** one pass over the message,
/// including its free JSON; allocates only on failure.
/// **Errors:** `kInvalidArgument` naming every bad field ("invalid completion message:
/// field 'status': ...; field 'error': ..."), `context["fields"]` = "status,error".
///
/// **Example:**
/// @snippet core_snippets_test.cpp validate_message
Status validate_message(const Message& m);

/// Encodes `m` as one line of JSON: the hot path, written directly (no JSON tree for the
/// fixed fields; `metadata` and `extensions` are dumped only when non-empty).
///
/// Fields in a fixed order, `schema_version` first; `entities_changed` omitted for a full
/// run and `{}` for "nothing changed"; `traceparent` and `error` omitted when empty;
/// extensions appended as top-level fields. Doubles are written in their shortest
/// round-trip form, so `decode_message(encode_message(m)) == m` for every valid `m`.
///
/// **Thread safety:** reads `m` only. **Performance:** about a microsecond for a typical
/// message; one allocation for the result plus any for non-empty free JSON.
/// **Errors:** none; it does not validate (call `validate_message` where input is
/// untrusted). Whatever it is given, it writes valid JSON: ill-formed UTF-8 becomes
/// U+FFFD and a non-finite duration becomes `null` (which the decoder then rejects).
///
/// **Example:**
/// @snippet core_snippets_test.cpp encode_message
std::string encode_message(const Message& m);

/// Decodes one completion message, strictly (see the wire rules at the top of this file).
///
/// The size limit is checked first and nesting depth by a non-recursive pre-scan, both
/// before the JSON parser runs. Then every field is checked and **all** bad fields are
/// reported together; a decoded message always passes `validate_message`.
///
/// **Thread safety:** pure function. **Performance:** dominated by nlohmann-json parsing
/// (a few µs for a typical message). **Errors:** `kInvalidArgument`: "completion message
/// is N bytes, over the limit ...", "... nests objects/arrays deeper than ...", "... is
/// not valid JSON: ...", "... must be a JSON object ...", or "invalid completion message:
/// field 'game_date': game_date '2025-02-30' is not a calendar date (no such day); field
/// 'status': unknown status 'done' (...)" with `context["fields"]` = "game_date,status".
///
/// **Example:**
/// @snippet core_snippets_test.cpp decode_message
Result<Message> decode_message(std::string_view json, const DecodeLimits& limits = {});

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/message_codec-inl.hpp"
#endif
