#include "phase5_coordinator/phase4_complete.hpp"

#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/ids.hpp"

namespace nba::phase5 {

// The adapter follows the library's own legacy adapters: the same field readers, unknown
// fields kept, and the unified rules applied at the end (pipeline/core/legacy_messages.hpp).
pipeline::Result<pipeline::Message> phase4_message_from_json(const nlohmann::json& j) {
  using namespace pipeline::internal;
  using pipeline::CompletionStatus;
  using pipeline::ErrorCode;
  constexpr std::string_view kWhat = "legacy phase4_complete message";
  if (!j.is_object())
    return pipeline::fail(ErrorCode::kInvalidArgument, "{} must be a JSON object, got {}", kWhat, j.type_name());
  static constexpr std::string_view kKnown[] = {"event_type",    "game_date",      "players_ready", "players_total",
                                                "processor_name", "execution_id", "correlation_id"};
  FieldErrors errors;
  pipeline::Message m;
  m.phase = std::string(kLegacyPrecomputePhase);
  std::string event_type;
  read_string(j, "event_type", event_type, true, errors);
  if (!event_type.empty() && event_type != "phase4_complete")
    errors.add("event_type", fmt::format("'{}' is not phase4_complete", clip(event_type)));
  read_date(j, "game_date", m.partition_date, errors);
  std::int64_t ready = -1, total = -1;
  auto read_required_count = [&](std::string_view field, std::int64_t& out) {
    if (!j.contains(field)) {
      errors.add(std::string(field), "is required but missing");
      return;
    }
    read_count(j, field, out, errors);
    if (out < 0 && !errors.has(field)) errors.add(std::string(field), "must be a whole number >= 0, got null");
  };
  read_required_count("players_ready", ready);
  read_required_count("players_total", total);
  if (ready >= 0 && total >= 0 && ready > total)
    errors.add("players_ready", fmt::format("{} players ready is more than the {} in total", ready, total));
  // The seeds' message names no processor or execution: the stage and a stable id stand in,
  // so a redelivered message maps to the same execution.
  if (j.contains("processor_name"))
    read_string(j, "processor_name", m.processor_name, true, errors);
  else
    m.processor_name = "phase4_complete";
  if (j.contains("execution_id"))
    read_string(j, "execution_id", m.execution_id, true, errors);
  else if (!errors.has("game_date"))
    m.execution_id = pipeline::stable_id({"phase4_complete", m.partition_date.to_string()});
  else
    m.execution_id = "phase4_complete";
  if (const auto it = j.find("correlation_id"); it != j.end() && !it->is_null())
    read_string(j, "correlation_id", m.correlation_id, false, errors);
  else
    m.correlation_id = m.execution_id;
  if (ready >= 0 && total >= 0) {
    m.record_count = ready;
    m.status = total == 0 ? CompletionStatus::kNoData
               : ready < total ? CompletionStatus::kPartial
                               : CompletionStatus::kSuccess;
    // The library's generic readiness fields (ReadinessGate::counts_from_message).
    m.metadata["entities_ready"] = ready;
    m.metadata["entities_total"] = total;
  }
  keep_unknown_legacy_fields(j, kKnown, m);
  return finish_legacy(std::move(m), errors, kWhat, {{"record_count", "players_ready"}});
}

pipeline::Result<pipeline::Message> adapt_phase4_message(std::string_view json, const pipeline::DecodeLimits& limits) {
  auto parsed = pipeline::internal::parse_bounded_json(json, limits, "legacy phase4_complete message");
  if (!parsed) return pipeline::fail(std::move(parsed).error());
  return phase4_message_from_json(*parsed);
}

pipeline::Result<pipeline::Message> decode_any_message(std::string_view json,
                                                       std::optional<pipeline::CalendarDate> game_date,
                                                       const pipeline::DecodeLimits& limits) {
  return pipeline::decode_any_message(json, game_date, limits, {{"phase4_complete", &phase4_message_from_json}});
}

}  // namespace nba::phase5
