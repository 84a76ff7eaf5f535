#pragma once

#include "pipeline/coordinate/prediction_work.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/json_writer.hpp"
#include "pipeline/core/message_codec.hpp"

namespace pipeline::inline v0 {
namespace internal {

// The top-level fields of a prediction work message seen by the SAX parser; a field of
// the wrong type is unset (as if absent).
struct PredictionWorkFields : nlohmann::json_sax<nlohmann::json> {
  bool object = false;  // the top level is an object
  int depth = 0;
  std::string current;  // the last key at depth 1
  std::optional<std::string> batch_id, game_date, entity, kind, correlation_id;
  std::optional<std::int64_t> attempt, version;

  std::optional<std::string>* string_field() {
    if (current == "batch_id") return &batch_id;
    if (current == "game_date") return &game_date;
    if (current == "entity") return &entity;
    if (current == "kind") return &kind;
    if (current == "correlation_id") return &correlation_id;
    return nullptr;
  }
  std::optional<std::int64_t>* integer_field() {
    if (current == "attempt") return &attempt;
    if (current == "version") return &version;
    return nullptr;
  }
  // A value at depth 1 replaces the key's field: set for its own type, unset for any other.
  bool scalar(const std::string* s, const std::int64_t* i) {
    if (depth != 1) return true;
    if (auto* f = string_field()) *f = s != nullptr ? std::optional<std::string>(*s) : std::nullopt;
    if (auto* f = integer_field()) *f = i != nullptr ? std::optional<std::int64_t>(*i) : std::nullopt;
    return true;
  }
  bool null() override { return scalar(nullptr, nullptr); }
  bool boolean(bool) override { return scalar(nullptr, nullptr); }
  bool number_integer(number_integer_t v) override {
    const std::int64_t i = v;
    return scalar(nullptr, &i);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<number_unsigned_t>(INT64_MAX)) return scalar(nullptr, nullptr);
    const auto i = static_cast<std::int64_t>(v);
    return scalar(nullptr, &i);
  }
  bool number_float(number_float_t, const string_t&) override { return scalar(nullptr, nullptr); }
  bool string(string_t& v) override { return scalar(&v, nullptr); }
  bool binary(binary_t&) override { return scalar(nullptr, nullptr); }
  bool start_object(std::size_t) override {
    if (depth == 0) object = true;
    if (depth == 1) scalar(nullptr, nullptr);  // an object where a field's value goes
    ++depth;
    return true;
  }
  bool key(string_t& k) override {
    if (depth == 1) current = k;
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth == 1) scalar(nullptr, nullptr);
    ++depth;
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    object = false;
    return false;
  }
};

}  // namespace internal

PIPELINE_INLINE std::string PredictionWork::message_id() const {
  return kind == "incremental" ? fmt::format("{}/v{}/{}", batch_id, version, entity)
                               : fmt::format("{}/a{}/{}", batch_id, attempt, entity);
}

PIPELINE_INLINE std::string PredictionWork::encode() const {
  std::string out;
  out.reserve(112 + batch_id.size() + entity.size() + kind.size() + correlation_id.size());
  internal::JsonWriter w(out);
  w.begin_object()
      .plain_key("attempt").integer(attempt)
      .plain_key("batch_id").string(batch_id);
  if (!correlation_id.empty()) w.plain_key("correlation_id").string(correlation_id);
  w.plain_key("entity").string(entity)
      .plain_key("game_date").plain_string(game_date.to_string())
      .plain_key("kind").string(kind)
      .plain_key("version").integer(version)
      .end_object();
  return out;
}

PIPELINE_INLINE Result<PredictionWork> PredictionWork::decode(std::string_view payload) {
  internal::PredictionWorkFields f;
  const bool parsed = nlohmann::json::sax_parse(payload.begin(), payload.end(), &f);
  if (!parsed || !f.object) return fail(ErrorCode::kInvalidArgument, "prediction work is not a JSON object");
  PredictionWork w;
  const std::pair<const char*, std::optional<std::string>*> strings[] = {
      {"batch_id", &f.batch_id}, {"game_date", &f.game_date}, {"entity", &f.entity}, {"kind", &f.kind}};
  for (const auto& [key, value] : strings)
    if (!*value) return fail(ErrorCode::kInvalidArgument, "prediction work lacks string '{}'", key);
  auto d = CalendarDate::parse(*f.game_date);
  if (!d) return fail(d.error());
  if (!f.attempt || !f.version)
    return fail(ErrorCode::kInvalidArgument, "prediction work lacks integer 'attempt' / 'version'");
  w.batch_id = std::move(*f.batch_id);
  w.game_date = *d;
  w.entity = std::move(*f.entity);
  w.kind = std::move(*f.kind);
  if (f.correlation_id) w.correlation_id = std::move(*f.correlation_id);
  w.attempt = static_cast<int>(*f.attempt);
  w.version = *f.version;
  if (w.entity.empty()) return fail(ErrorCode::kInvalidArgument, "prediction work has an empty entity");
  return w;
}

}  // namespace pipeline::inline v0
