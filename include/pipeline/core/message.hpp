#pragma once
/// @file
/// `Message`: the unified completion message every processor of every phase publishes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/enum_names.hpp"
#include "pipeline/core/json_object.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// How a processor's run ended.
enum class CompletionStatus {
  kSuccess,  ///< Everything it was asked to do is done.
  kPartial,  ///< Some entities were processed, some were not (counts say which).
  kNoData,   ///< Ran correctly and found nothing to do (an off day, an empty feed).
  kFailed,   ///< Did not complete; `Message::error` says why.
};

/// The wire names of `CompletionStatus` (see enum_names.hpp).
template <>
struct EnumNames<CompletionStatus> {
  static constexpr EnumName<CompletionStatus> kTable[] = {
      {CompletionStatus::kSuccess, "success"},
      {CompletionStatus::kPartial, "partial"},
      {CompletionStatus::kNoData, "no_data"},
      {CompletionStatus::kFailed, "failed"},
  };
};

/// "success" | "partial" | "no_data" | "failed" — the wire names.
constexpr std::string_view to_string(CompletionStatus s) noexcept { return enum_name(s, "failed"); }

/// Parses a wire name. **Errors:** `kInvalidArgument` for anything else.
Result<CompletionStatus> parse_completion_status(std::string_view s);

/// One upstream execution a message descends from (a span link, in tracing terms).
struct TraceLink {
  std::string execution_id;
  std::string correlation_id;
  friend bool operator==(const TraceLink&, const TraceLink&) = default;
  friend auto operator<=>(const TraceLink&, const TraceLink&) = default;
};

/// Ids of one entity kind, sorted and unique.
using EntityIds = std::vector<std::string>;

/// Changed entity ids by kind ("customers", "stores", ... — kinds are the caller's vocabulary).
using EntityChanges = std::map<std::string, EntityIds, std::less<>>;

/// Which entities a run touched. `std::nullopt` means a **full** run over all entities;
/// an empty map means **nothing** changed; otherwise the ids per kind.
using ChangedEntities = std::optional<EntityChanges>;

/// Sorts and deduplicates every kind's ids, and drops kinds left empty.
void normalize(EntityChanges& changes);

/// Adds `from` into `into`: the union per kind; a full side makes the result full.
void merge_into(ChangedEntities& into, const ChangedEntities& from);

/// The unified completion message, wire-compatible with the seeds' format.
///
/// One shape for every phase: who ran (`processor_name`, `phase`, `execution_id`), for
/// which date, with what outcome (`status`, `record_count`, `error`), which entities
/// changed, and how it links to the upstream work that caused it (`correlation_id`,
/// `trace_links`, `traceparent`). Encode and decode with `encode_message` /
/// `decode_message` (message_codec.hpp).
///
/// Unknown top-level JSON fields are **kept** in `extensions` and written back on
/// encode, so a newer producer's fields survive an older relay; they are never fatal.
///
/// **Thread safety:** a plain value. **Performance:** owns its strings; copying costs
/// allocations — move it into the publisher.
///
/// **Example:**
/// @snippet core_snippets_test.cpp message
struct Message {
  /// The schema this library writes. Decoding accepts versions 1..kSchemaVersion.
  static constexpr int kSchemaVersion = 1;

  int schema_version = kSchemaVersion;
  std::string processor_name;   ///< Required, non-empty.
  std::string phase;            ///< Required, non-empty (e.g. "phase2_raw").
  std::string execution_id;     ///< Required: this attempt's id.
  std::string correlation_id;   ///< The id shared by everything one scrape caused; defaults to execution_id.
  std::vector<TraceLink> trace_links;  ///< Upstream executions this one consumed.
  std::string traceparent;      ///< W3C traceparent; empty when absent.
  CalendarDate partition_date;  ///< The date partition; its wire name is `game_date`. Required: unset fails validation.
  std::string output_table;
  std::string output_dataset;
  CompletionStatus status = CompletionStatus::kSuccess;
  std::int64_t record_count = 0;      ///< >= 0.
  double duration_seconds = 0.0;      ///< >= 0, finite.
  /// nullopt: full run (wire: field absent). The one rule for ids, checked by
  /// `validate_message` at every entry point (publisher, tracker, processor, coordinator):
  /// each kind's ids sorted and unique, no empty kind, each id valid (entity_id.hpp) —
  /// call `normalize()` on ids built in code; the decoder and `Processor` normalize what
  /// they build.
  ChangedEntities entities_changed;
  bool is_incremental = false;
  std::string error;                  ///< Required when status is failed; empty otherwise allowed.
  JsonObject metadata;    ///< Free JSON object, phase-specific (json_object.hpp: `m.metadata["k"] = v`).
  JsonObject extensions;  ///< Unknown top-level fields, kept verbatim.

  friend bool operator==(const Message&, const Message&) = default;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/message-inl.hpp"
#endif
