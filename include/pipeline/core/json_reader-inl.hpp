#pragma once
/// @file
/// Bodies of pipeline/core/json_reader.hpp.

#include "pipeline/core/json_reader.hpp"

#include <cmath>
#include <exception>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/json_writer.hpp"

namespace pipeline::inline v0::internal {

PIPELINE_INLINE Error FieldErrors::to_error(std::string_view what) const {
  std::string message = fmt::format("invalid {}: ", what);
  std::string fields;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (i != 0) {
      message += "; ";
      fields += ',';
    }
    message += fmt::format("field '{}': {}", items_[i].first, items_[i].second);
    fields += items_[i].first;
  }
  return Error{ErrorCode::kInvalidArgument, std::move(message), {{"fields", std::move(fields)}}};
}

PIPELINE_INLINE bool nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

PIPELINE_INLINE Result<nlohmann::json> parse_bounded_json(std::string_view text, const DecodeLimits& limits,
                                                          std::string_view what) {
  if (text.size() > limits.max_bytes)
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("{} is {} bytes, over the limit of {} bytes", what, text.size(), limits.max_bytes),
                      {{"limit", "max_bytes"}}});
  if (!nesting_within(text, limits.max_depth))
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("{} nests objects/arrays deeper than the limit of {}", what, limits.max_depth),
                      {{"limit", "max_depth"}}});
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    std::string_view why = e.what();
    if (const auto pos = why.find("] "); pos != std::string_view::npos) why.remove_prefix(pos + 2);
    return fail(ErrorCode::kInvalidArgument, "{} is not valid JSON: {}", what, why);
  } catch (const std::exception& e) {  // std::bad_alloc and friends: still a value, never a throw
    return fail(ErrorCode::kInvalidArgument, "{} could not be parsed: {}", what, e.what());
  }
}

PIPELINE_INLINE bool json_to_int64(const nlohmann::json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is exactly representable; anything below it in magnitude fits.
    if (!std::isfinite(d) || d != std::trunc(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
      return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

PIPELINE_INLINE std::string describe_json(const nlohmann::json& v) {
  if (v.is_string() || v.is_number() || v.is_boolean()) {
    std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return fmt::format("{} {}", v.type_name(), text);
  }
  return v.type_name();
}

PIPELINE_INLINE std::string free_json_problem(const nlohmann::json& j, bool check_utf8) {
  switch (j.type()) {
    case nlohmann::json::value_t::number_float:
      return std::isfinite(j.get<double>()) ? std::string() : std::string("contains a non-finite number");
    case nlohmann::json::value_t::string:
      return !check_utf8 || is_valid_utf8(j.get_ref<const std::string&>()) ? std::string()
                                                                             : std::string("contains ill-formed UTF-8");
    case nlohmann::json::value_t::object:
      if (j.empty()) return {};  // the usual metadata: skip building the items() view
      for (const auto& [key, value] : j.items()) {
        if (check_utf8 && !is_valid_utf8(key)) return "contains a key with ill-formed UTF-8";
        if (auto p = free_json_problem(value, check_utf8); !p.empty()) return p;
      }
      return {};
    case nlohmann::json::value_t::array:
      for (const auto& value : j)
        if (auto p = free_json_problem(value, check_utf8); !p.empty()) return p;
      return {};
    default:
      return {};
  }
}

// What read_string and read_status share: the field's string, or nullptr when it is
// absent, null where that is allowed, or not a string (added to `errors` as `required` says).
inline const std::string* read_string_field(const nlohmann::json& j, std::string_view field, bool required,
                                            FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || (it->is_null() && !required)) {
    if (required) errors.add(std::string(field), "is required but missing");
    return nullptr;
  }
  if (!it->is_string()) {
    errors.add(std::string(field), fmt::format("must be a string, got {}", describe_json(*it)));
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

PIPELINE_INLINE void read_string(const nlohmann::json& j, std::string_view field, std::string& out, bool required,
                                 FieldErrors& errors) {
  const std::string* value = read_string_field(j, field, required, errors);
  if (value == nullptr) return;
  out = *value;
  if (required && out.empty()) errors.add(std::string(field), "must be a non-empty string");
}

PIPELINE_INLINE void read_date(const nlohmann::json& j, std::string_view field, CalendarDate& out, FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end()) {
    errors.add(std::string(field), "is required but missing");
    return;
  }
  if (!it->is_string()) {
    errors.add(std::string(field), fmt::format("must be a YYYY-MM-DD string, got {}", describe_json(*it)));
    return;
  }
  auto d = CalendarDate::parse(it->get_ref<const std::string&>());
  if (!d) {
    errors.add(std::string(field), fmt::format("{} {}", field, d.error().message));
    return;
  }
  out = *d;
}

PIPELINE_INLINE void read_count(const nlohmann::json& j, std::string_view field, std::int64_t& out, FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  std::int64_t v = 0;
  if (!it->is_number() || !json_to_int64(*it, v)) {
    errors.add(std::string(field), fmt::format("must be a whole number, got {}", describe_json(*it)));
    return;
  }
  if (v < 0) {
    errors.add(std::string(field), fmt::format("{} is negative; counts are >= 0", v));
    return;
  }
  out = v;
}

PIPELINE_INLINE void read_duration(const nlohmann::json& j, std::string_view field, double& out, FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_number()) {
    errors.add(std::string(field), fmt::format("must be a number of seconds, got {}", describe_json(*it)));
    return;
  }
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) {
    errors.add(std::string(field), fmt::format("{} is not a finite number of seconds >= 0", describe_json(*it)));
    return;
  }
  out = v;
}

PIPELINE_INLINE void read_status(const nlohmann::json& j, std::string_view field, CompletionStatus& out, bool required,
                                 FieldErrors& errors) {
  const std::string* value = read_string_field(j, field, required, errors);
  if (value == nullptr) return;
  auto s = parse_completion_status(*value);
  if (!s) {
    errors.add(std::string(field),
               fmt::format("unknown status '{}' (expected success, partial, no_data or failed)", clip(*value)));
    return;
  }
  out = *s;
}

PIPELINE_INLINE void read_object(const nlohmann::json& j, std::string_view field, nlohmann::json& out, FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) {
    errors.add(std::string(field), fmt::format("must be a JSON object, got {}", describe_json(*it)));
    return;
  }
  out = *it;
}

}  // namespace pipeline::inline v0::internal
