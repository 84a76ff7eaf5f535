#pragma once
/// @file
/// Bodies of pipeline/core/message_codec.hpp: validation, encoding, decoding.

#include "pipeline/core/message_codec.hpp"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/trace_context.hpp"

namespace pipeline::inline v0 {

namespace internal {

PIPELINE_INLINE void check_message(const Message& m, FieldErrors& errors, bool check_utf8) {
  auto add = [&](std::string_view field, std::string reason) {
    if (!errors.has(field)) errors.add(std::string(field), std::move(reason));
  };
  auto string_field = [&](std::string_view field, const std::string& value, bool required) {
    if (required && value.empty())
      add(field, "must be a non-empty string");
    else if (check_utf8 && !is_valid_utf8(value))
      add(field, "contains ill-formed UTF-8");
  };
  if (m.schema_version < 1 || m.schema_version > Message::kSchemaVersion)
    add("schema_version", fmt::format("{} is not a version this library reads (1..{})", m.schema_version,
                                      Message::kSchemaVersion));
  string_field("processor_name", m.processor_name, true);
  string_field("phase", m.phase, true);
  string_field("execution_id", m.execution_id, true);
  string_field("correlation_id", m.correlation_id, false);
  string_field("output_table", m.output_table, false);
  string_field("output_dataset", m.output_dataset, false);
  for (const auto& link : m.trace_links) {
    if (link.execution_id.empty()) {
      add("trace_links", "every link needs a non-empty execution_id");
      break;
    }
    if (check_utf8 && (!is_valid_utf8(link.execution_id) || !is_valid_utf8(link.correlation_id))) {
      add("trace_links", "contains ill-formed UTF-8");
      break;
    }
  }
  if (!m.traceparent.empty()) {
    if (auto tc = TraceContext::parse(m.traceparent); !tc) add("traceparent", tc.error().message);
  }
  if (!m.partition_date.is_set())
    add("game_date", "game_date is not set");
  else if (m.partition_date.year() < 1900 || m.partition_date.year() > 9999)
    add("game_date", fmt::format("game_date '{}' is outside years 1900..9999", m.partition_date));
  if (m.record_count < 0) add("record_count", fmt::format("{} is negative; counts are >= 0", m.record_count));
  if (!std::isfinite(m.duration_seconds) || m.duration_seconds < 0)
    add("duration_seconds", fmt::format("{} is not a finite number >= 0", m.duration_seconds));
  if (m.status == CompletionStatus::kFailed && m.error.empty())
    add("error", "a failed message must say why: error must be a non-empty string");
  else
    string_field("error", m.error, false);
  if (m.entities_changed) {
    for (const auto& [kind, ids] : *m.entities_changed) {
      std::string problem;
      if (check_utf8 && !is_valid_utf8(kind))
        problem = "has a kind with ill-formed UTF-8";
      else if (ids.empty())
        problem = fmt::format("kind '{}' has no ids (drop the kind; normalize() does)", clip(kind));
      for (std::size_t i = 0; problem.empty() && i < ids.size(); ++i) {
        if (ids[i].empty())
          problem = fmt::format("kind '{}' has an empty id", clip(kind));
        else if (!is_valid_entity_id(ids[i]))
          problem = fmt::format("kind '{}': {}", clip(kind), validate_entity_id(ids[i]).error().message);
        else if (i > 0 && !(ids[i - 1] < ids[i]))
          problem = fmt::format("ids of kind '{}' must be sorted and unique (call normalize())", clip(kind));
        else if (check_utf8 && !is_valid_utf8(ids[i]))
          problem = fmt::format("kind '{}' has an id with ill-formed UTF-8", clip(kind));
      }
      if (!problem.empty()) {
        add("entities_changed", std::move(problem));
        break;
      }
    }
  }
  if (!m.metadata->is_object()) {
    add("metadata", fmt::format("must be a JSON object, got {}", m.metadata->type_name()));
  } else if (auto p = free_json_problem(*m.metadata, check_utf8); !p.empty()) {
    add("metadata", std::move(p));
  }
  if (!m.extensions->is_object()) {
    add("extensions", fmt::format("must be a JSON object, got {}", m.extensions->type_name()));
  } else {
    for (const auto& [key, value] : m.extensions->items()) {
      if (is_message_field(key)) {
        add("extensions", fmt::format("key '{}' collides with the known field of that name", key));
        break;
      }
    }
    if (auto p = free_json_problem(*m.extensions, check_utf8); !p.empty()) add("extensions", std::move(p));
  }
}

PIPELINE_INLINE void read_entities(const nlohmann::json& j, std::string_view field, ChangedEntities& out,
                                   FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) {
    errors.add(std::string(field),
               fmt::format("must be an object of kind -> array of ids (or absent for a full run), got {}",
                           describe_json(*it)));
    return;
  }
  EntityChanges changes;
  for (const auto& [kind, ids] : it->items()) {
    if (!ids.is_array()) {
      errors.add(std::string(field), fmt::format("kind '{}' must be an array of ids, got {}", clip(kind),
                                                 describe_json(ids)));
      return;
    }
    auto& dst = changes[kind];
    dst.reserve(ids.size());
    for (const auto& id : ids) {
      if (!id.is_string()) {
        errors.add(std::string(field),
                   fmt::format("kind '{}' has a non-string id ({})", clip(kind), describe_json(id)));
        return;
      }
      dst.push_back(id.get<std::string>());
    }
  }
  normalize(changes);
  out = std::move(changes);
}

PIPELINE_INLINE void read_trace_links(const nlohmann::json& j, std::string_view field, std::vector<TraceLink>& out,
                                      FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  auto bad = [&](std::string reason) { errors.add(std::string(field), std::move(reason)); };
  if (!it->is_array()) return bad(fmt::format("must be an array of links, got {}", describe_json(*it)));
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& link = (*it)[i];
    if (!link.is_object()) return bad(fmt::format("link {} must be an object, got {}", i, describe_json(link)));
    TraceLink t;
    const auto exec = link.find("execution_id");
    if (exec == link.end() || !exec->is_string() || exec->get_ref<const std::string&>().empty())
      return bad(fmt::format("link {} needs a non-empty string execution_id", i));
    t.execution_id = exec->get<std::string>();
    if (const auto corr = link.find("correlation_id"); corr != link.end() && !corr->is_null()) {
      if (!corr->is_string()) return bad(fmt::format("link {} correlation_id must be a string", i));
      t.correlation_id = corr->get<std::string>();
    }
    out.push_back(std::move(t));
  }
}

PIPELINE_INLINE Result<Message> message_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return fail(ErrorCode::kInvalidArgument, "completion message must be a JSON object, got {}", j.type_name());
  FieldErrors errors;
  Message m;
  if (const auto it = j.find("schema_version"); it != j.end() && !it->is_null()) {
    std::int64_t v = 0;
    if (!it->is_number() || !json_to_int64(*it, v))
      errors.add("schema_version", fmt::format("must be a whole number, got {}", describe_json(*it)));
    else if (v > Message::kSchemaVersion)
      errors.add("schema_version", fmt::format("version {} is newer than this library, which reads versions 1..{}",
                                               v, Message::kSchemaVersion));
    else if (v < 1)
      errors.add("schema_version", fmt::format("version {} does not exist (versions start at 1)", v));
    else
      m.schema_version = static_cast<int>(v);
  } else {
    m.schema_version = 1;
  }
  read_string(j, "processor_name", m.processor_name, true, errors);
  read_string(j, "phase", m.phase, true, errors);
  read_string(j, "execution_id", m.execution_id, true, errors);
  if (const auto it = j.find("correlation_id"); it == j.end() || it->is_null())
    m.correlation_id = m.execution_id;
  else
    read_string(j, "correlation_id", m.correlation_id, false, errors);
  read_trace_links(j, "trace_links", m.trace_links, errors);
  read_string(j, "traceparent", m.traceparent, false, errors);
  read_date(j, "game_date", m.partition_date, errors);
  read_string(j, "output_table", m.output_table, false, errors);
  read_string(j, "output_dataset", m.output_dataset, false, errors);
  read_status(j, "status", m.status, true, errors);
  read_count(j, "record_count", m.record_count, errors);
  read_duration(j, "duration_seconds", m.duration_seconds, errors);
  read_entities(j, "entities_changed", m.entities_changed, errors);
  if (const auto it = j.find("is_incremental"); it != j.end() && !it->is_null()) {
    if (it->is_boolean())
      m.is_incremental = it->get<bool>();
    else
      errors.add("is_incremental", fmt::format("must be true or false, got {}", describe_json(*it)));
  }
  read_string(j, "error", m.error, false, errors);
  read_object(j, "metadata", *m.metadata, errors);
  for (const auto& [key, value] : j.items())
    if (!is_message_field(key)) m.extensions[key] = value;
  check_message(m, errors, /*check_utf8=*/false);
  if (!errors.empty()) return fail(errors.to_error("completion message"));
  return m;
}

}  // namespace internal

PIPELINE_INLINE Status validate_message(const Message& m) {
  internal::FieldErrors errors;
  internal::check_message(m, errors, /*check_utf8=*/true);
  if (!errors.empty()) return fail(errors.to_error("completion message"));
  return ok();
}

PIPELINE_INLINE std::string encode_message(const Message& m) {
  std::string out;
  out.reserve(384 + m.processor_name.size() + m.error.size());
  internal::JsonWriter w(out);
  w.begin_object();
  w.plain_key("schema_version").integer(m.schema_version);
  w.plain_key("processor_name").string(m.processor_name);
  w.plain_key("phase").string(m.phase);
  w.plain_key("execution_id").string(m.execution_id);
  w.plain_key("correlation_id").string(m.correlation_id);
  if (!m.trace_links.empty()) {
    w.plain_key("trace_links").begin_array();
    for (const auto& link : m.trace_links) {
      w.begin_object();
      w.plain_key("execution_id").string(link.execution_id);
      w.plain_key("correlation_id").string(link.correlation_id);
      w.end_object();
    }
    w.end_array();
  }
  if (!m.traceparent.empty()) w.plain_key("traceparent").string(m.traceparent);
  w.plain_key("game_date").plain_string(m.partition_date.to_string());
  w.plain_key("output_table").string(m.output_table);
  w.plain_key("output_dataset").string(m.output_dataset);
  w.plain_key("status").plain_string(to_string(m.status));
  w.plain_key("record_count").integer(m.record_count);
  w.plain_key("duration_seconds").number(m.duration_seconds);
  if (m.entities_changed) {
    w.plain_key("entities_changed").begin_object();
    for (const auto& [kind, ids] : *m.entities_changed) w.key(kind).string_array(ids);
    w.end_object();
  }
  w.plain_key("is_incremental").boolean(m.is_incremental);
  if (!m.error.empty()) w.plain_key("error").string(m.error);
  w.plain_key("metadata").free_object(*m.metadata);
  if (m.extensions->is_object() && !m.extensions.empty()) {
    for (const auto& [key, value] : m.extensions->items()) {
      if (internal::is_message_field(key)) continue;  // never let an extension shadow a field
      w.key(key).value(value);
    }
  }
  w.end_object();
  return out;
}

PIPELINE_INLINE Result<Message> decode_message(std::string_view json, const DecodeLimits& limits) {
  auto parsed = internal::parse_bounded_json(json, limits, "completion message");
  if (!parsed) return fail(std::move(parsed).error());
  return internal::message_from_json(*parsed);
}

}  // namespace pipeline::inline v0
