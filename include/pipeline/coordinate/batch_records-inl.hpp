#pragma once

#include "pipeline/coordinate/batch_records.hpp"

#include <nlohmann/json.hpp>

namespace pipeline::inline v0::internal {


/// A stored state name read back (never "none"); `what` names the row kind in the error.
PIPELINE_INLINE Result<BatchState> read_stored_state(const std::string& name, const char* what) {
  auto s = parse_batch_state(name);
  if (!s || *s == BatchState::kNone) return fail(ErrorCode::kDataLoss, "{} row: unknown state '{}'", what, name);
  return *s;
}

PIPELINE_INLINE std::string BatchRecord::encode() const {
  nlohmann::json j{{"batch_id", batch_id},   {"number", number},         {"state", std::string(to_string(state))},
                   {"triggered_by", std::string(to_string(triggered_by))},
                   {"attempts", attempts},   {"version", version},       {"created_ns", created_ns},
                   {"started_ns", started_ns}, {"completed_ns", completed_ns}, {"expected", expected},
                   {"message", message}};
  if (!correlation_id.empty()) j["correlation_id"] = correlation_id;
  return j.dump();
}

PIPELINE_INLINE Result<BatchRecord> BatchRecord::decode(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "batch row is not a JSON object");
  try {
    BatchRecord r;
    r.batch_id = j.at("batch_id").get<std::string>();
    r.number = j.at("number").get<int>();
    auto s = read_stored_state(j.at("state").get<std::string>(), "batch");
    if (!s) return fail(s.error());
    r.state = *s;
    auto t = parse_batch_trigger(j.at("triggered_by").get<std::string>());
    if (!t) return fail(ErrorCode::kDataLoss, "batch row: {}", t.error().message);
    r.triggered_by = *t;
    r.attempts = j.at("attempts").get<int>();
    r.version = j.at("version").get<std::int64_t>();
    r.created_ns = j.at("created_ns").get<std::int64_t>();
    r.started_ns = j.at("started_ns").get<std::int64_t>();
    r.completed_ns = j.at("completed_ns").get<std::int64_t>();
    r.expected = j.at("expected").get<std::size_t>();
    r.message = j.at("message").get<std::string>();
    r.correlation_id = j.value("correlation_id", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kDataLoss, "batch row is malformed: {}", e.what());
  }
}

PIPELINE_INLINE std::string IncrementalRecord::encode() const {
  nlohmann::json j{{"batch_id", batch_id}, {"number", number}, {"version", version},
                   {"entities", entities}, {"state", std::string(to_string(state))},
                   {"triggered_by", std::string(to_string(triggered_by))}};
  if (!correlation_id.empty()) j["correlation_id"] = correlation_id;
  return j.dump();
}

PIPELINE_INLINE Result<IncrementalRecord> IncrementalRecord::decode(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "incremental row is not a JSON object");
  try {
    IncrementalRecord r;
    r.batch_id = j.at("batch_id").get<std::string>();
    r.number = j.at("number").get<int>();
    r.version = j.at("version").get<std::int64_t>();
    r.entities = j.at("entities").get<std::vector<std::string>>();
    auto s = read_stored_state(j.at("state").get<std::string>(), "incremental");
    if (!s) return fail(s.error());
    r.state = *s;
    auto t = parse_batch_trigger(j.at("triggered_by").get<std::string>());
    if (!t) return fail(ErrorCode::kDataLoss, "incremental row: {}", t.error().message);
    r.triggered_by = *t;
    r.correlation_id = j.value("correlation_id", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kDataLoss, "incremental row is malformed: {}", e.what());
  }
}

}  // namespace pipeline::inline v0::internal
