#pragma once
/// @file
/// Bodies of pipeline/core/legacy_messages.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/legacy_messages.hpp"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

namespace internal {

PIPELINE_INLINE void keep_unknown_legacy_fields(const nlohmann::json& j, std::span<const std::string_view> known,
                                                Message& m) {
  for (const auto& [key, value] : j.items()) {
    bool is_known = false;
    for (auto k : known) is_known = is_known || k == key;
    if (is_known) continue;
    if (is_message_field(key))
      m.metadata["legacy_" + key] = value;
    else
      m.extensions[key] = value;
  }
}

PIPELINE_INLINE void read_legacy_timestamp(const nlohmann::json& j, Message& m, FieldErrors& errors) {
  std::string text;
  read_string(j, "timestamp", text, false, errors);
  if (text.empty()) return;
  if (auto t = parse_rfc3339(text); !t) {
    errors.add("timestamp", t.error().message);
    return;
  }
  m.metadata["timestamp"] = text;
}

PIPELINE_INLINE void read_legacy_error(const nlohmann::json& j, Message& m, FieldErrors& errors, std::string fallback) {
  read_string(j, "error", m.error, false, errors);
  if (m.status == CompletionStatus::kFailed && m.error.empty()) m.error = std::move(fallback);
}

PIPELINE_INLINE Result<Message> finish_legacy(Message m, FieldErrors& errors, std::string_view what,
                                              std::initializer_list<DerivedField> derived) {
  FieldErrors rules;
  check_message(m, rules, /*check_utf8=*/false);
  for (const auto& [field, reason] : rules.items()) {
    bool source_reported = errors.has(field);
    for (const auto& d : derived) source_reported = source_reported || (d.unified == field && errors.has(d.legacy));
    if (!source_reported) errors.add(field, reason);
  }
  if (!errors.empty()) return fail(errors.to_error(what));
  return m;
}

PIPELINE_INLINE Result<Message> scraper_message_from_json(const nlohmann::json& j, CalendarDate game_date) {
  constexpr std::string_view kWhat = "legacy scraper message";
  if (!j.is_object())
    return fail(ErrorCode::kInvalidArgument, "{} must be a JSON object, got {}", kWhat, j.type_name());
  static constexpr std::string_view kKnown[] = {"name",         "scraper_name", "execution_id", "status", "gcs_path",
                                                "record_count", "timestamp",    "workflow",     "error"};
  FieldErrors errors;
  Message m;
  m.phase = std::string(kLegacyScraperPhase);
  m.partition_date = game_date;
  // scraper_name is the processor; `name` is its older duplicate, used when it is absent.
  std::string name;
  read_string(j, "name", name, false, errors);
  if (j.contains("scraper_name") || name.empty())
    read_string(j, "scraper_name", m.processor_name, true, errors);
  else
    m.processor_name = name;
  read_string(j, "execution_id", m.execution_id, true, errors);
  m.correlation_id = m.execution_id;  // a scrape is the root of everything it causes
  read_status(j, "status", m.status, true, errors);
  if (m.status == CompletionStatus::kPartial && !errors.has("status"))
    errors.add("status", "unknown status 'partial' (a scraper reports success, no_data or failed)");
  read_count(j, "record_count", m.record_count, errors);
  std::string text;
  read_string(j, "gcs_path", text, false, errors);
  if (!text.empty()) m.metadata["gcs_path"] = text;
  text.clear();
  read_string(j, "workflow", text, false, errors);
  if (!text.empty()) m.metadata["workflow"] = text;
  read_legacy_timestamp(j, m, errors);
  read_legacy_error(
      j, m, errors,
      fmt::format("scraper '{}' reported failed (the legacy message gives no reason)", clip(m.processor_name)));
  keep_unknown_legacy_fields(j, kKnown, m);
  return finish_legacy(std::move(m), errors, kWhat, {{"processor_name", "scraper_name"}});
}

PIPELINE_INLINE Result<Message> raw_loaded_message_from_json(const nlohmann::json& j) {
  constexpr std::string_view kWhat = "legacy raw_data_loaded message";
  if (!j.is_object())
    return fail(ErrorCode::kInvalidArgument, "{} must be a JSON object, got {}", kWhat, j.type_name());
  static constexpr std::string_view kKnown[] = {
      "event_type", "source_table", "target_table", "processor_name", "execution_id", "correlation_id",
      "game_date",  "game_ids",     "record_count", "status",         "timestamp",    "source_scraper_execution_id",
      "metadata",   "error"};
  FieldErrors errors;
  Message m;
  m.phase = std::string(kLegacyRawPhase);
  std::string event_type;
  read_string(j, "event_type", event_type, true, errors);
  if (!event_type.empty() && event_type != "raw_data_loaded")
    errors.add("event_type", fmt::format("'{}' is not raw_data_loaded", clip(event_type)));
  read_string(j, "source_table", m.output_table, true, errors);
  std::string target;
  read_string(j, "target_table", target, false, errors);
  if (!target.empty()) {
    m.metadata["target_table"] = target;
    if (const auto dot = target.find('.'); dot != std::string::npos) m.output_dataset = target.substr(0, dot);
  }
  // Older Phase 2 publishers send no processor_name; the table they load names them.
  if (const auto it = j.find("processor_name"); it != j.end() && !it->is_null())
    read_string(j, "processor_name", m.processor_name, true, errors);
  else
    m.processor_name = m.output_table;
  read_string(j, "execution_id", m.execution_id, true, errors);
  std::string scraper_execution;
  read_string(j, "source_scraper_execution_id", scraper_execution, false, errors);
  if (const auto it = j.find("correlation_id"); it != j.end() && !it->is_null())
    read_string(j, "correlation_id", m.correlation_id, false, errors);
  else  // the scrape is the root of the correlation (as adapt_scraper_message sets it)
    m.correlation_id = scraper_execution.empty() ? m.execution_id : scraper_execution;
  if (!scraper_execution.empty()) m.trace_links.push_back(TraceLink{scraper_execution, m.correlation_id});
  read_date(j, "game_date", m.partition_date, errors);
  if (const auto it = j.find("game_ids"); it != j.end() && !it->is_null()) {
    bool all_strings = it->is_array();
    if (all_strings)
      for (const auto& id : *it) all_strings = all_strings && id.is_string();
    if (all_strings)
      m.metadata["game_ids"] = *it;
    else
      errors.add("game_ids", fmt::format("must be an array of game id strings, got {}", describe_json(*it)));
  }
  read_count(j, "record_count", m.record_count, errors);
  // The seeds' early samples carry no status; a load that published succeeded.
  read_status(j, "status", m.status, false, errors);
  read_legacy_timestamp(j, m, errors);
  nlohmann::json legacy_metadata = nlohmann::json::object();
  read_object(j, "metadata", legacy_metadata, errors);
  if (legacy_metadata.contains("duration_seconds")) {
    read_duration(legacy_metadata, "duration_seconds", m.duration_seconds, errors);
    legacy_metadata.erase("duration_seconds");
  }
  for (const char* count : {"rows_inserted", "rows_updated"}) {
    const auto it = legacy_metadata.find(count);
    if (it == legacy_metadata.end() || it->is_null()) continue;
    std::int64_t v = 0;
    if (!it->is_number() || !json_to_int64(*it, v) || v < 0)
      errors.add(fmt::format("metadata.{}", count),
                 fmt::format("must be a whole number >= 0, got {}", describe_json(*it)));
  }
  for (const auto& [key, value] : legacy_metadata.items())
    if (!m.metadata->contains(key)) m.metadata[key] = value;
  read_legacy_error(
      j, m, errors,
      fmt::format("raw load of '{}' reported failed (the legacy message gives no reason)", clip(m.output_table)));
  keep_unknown_legacy_fields(j, kKnown, m);
  return finish_legacy(std::move(m), errors, kWhat,
                       {{"processor_name", "source_table"}, {"output_table", "source_table"}});
}

}  // namespace internal

PIPELINE_INLINE Result<Message> adapt_scraper_message(std::string_view json, CalendarDate game_date,
                                                      const DecodeLimits& limits) {
  auto parsed = internal::parse_bounded_json(json, limits, "legacy scraper message");
  if (!parsed) return fail(std::move(parsed).error());
  return internal::scraper_message_from_json(*parsed, game_date);
}

PIPELINE_INLINE Result<Message> adapt_raw_loaded_message(std::string_view json, const DecodeLimits& limits) {
  auto parsed = internal::parse_bounded_json(json, limits, "legacy raw_data_loaded message");
  if (!parsed) return fail(std::move(parsed).error());
  return internal::raw_loaded_message_from_json(*parsed);
}

PIPELINE_INLINE Result<Message> decode_any_message(std::string_view json, std::optional<CalendarDate> game_date,
                                                   const DecodeLimits& limits,
                                                   std::initializer_list<LegacyEventAdapter> more) {
  auto parsed = internal::parse_bounded_json(json, limits, "completion message");
  if (!parsed) return fail(std::move(parsed).error());
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || j.contains("phase")) return internal::message_from_json(j);
  if (const auto it = j.find("event_type"); it != j.end()) {
    if (*it == "raw_data_loaded") return internal::raw_loaded_message_from_json(j);
    std::string known = "raw_data_loaded";
    for (const auto& a : more) {
      if (it->is_string() && it->get_ref<const std::string&>() == a.event_type) return a.adapt(j);
      known += fmt::format(", {}", a.event_type);
    }
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("completion message has event_type {}, which no adapter reads (known: {})",
                                  internal::describe_json(*it), known),
                      {{"fields", "event_type"}}});
  }
  if (j.contains("scraper_name")) {
    if (!game_date)
      return fail(Error{ErrorCode::kInvalidArgument,
                        "legacy scraper message carries no game date: its timestamp is UTC and game dates are "
                        "US/Eastern days, so the caller must supply the game date",
                        {{"fields", "game_date"}}});
    return internal::scraper_message_from_json(j, *game_date);
  }
  return internal::message_from_json(j);
}

}  // namespace pipeline::inline v0
