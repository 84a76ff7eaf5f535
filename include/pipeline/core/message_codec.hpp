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

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/trace_context.hpp"

namespace pipeline::inline v0 {

/// Bounds a decoder enforces before it parses anything.
///
/// Both are checked without recursion, so hostile input (a 10 MB blob, 100000 nested
/// brackets) is refused cheaply instead of exhausting memory or the stack.
///
/// **Thread safety:** a plain value. **Performance:** checking costs one pass over the bytes.
/// **Errors:** exceeding either bound is `kInvalidArgument` from the decoder.
///
/// **Example:**
/// @code
///   pipeline::DecodeLimits limits;
///   limits.max_bytes = 64 * 1024;
///   auto m = pipeline::decode_message(body, limits);
/// @endcode
struct DecodeLimits {
  std::size_t max_bytes = 1024 * 1024;  ///< Larger input is refused before parsing.
  int max_depth = 64;                   ///< Deepest nesting of objects/arrays (the top object is 1).
};

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

/// Bad fields collected during a decode or a validation, reported together.
class FieldErrors {
 public:
  void add(std::string field, std::string reason) { items_.emplace_back(std::move(field), std::move(reason)); }

  [[nodiscard]] bool has(std::string_view field) const {
    for (const auto& item : items_)
      if (item.first == field) return true;
    return false;
  }
  [[nodiscard]] bool empty() const { return items_.empty(); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  /// "invalid <what>: field 'a': ...; field 'b': ..." with context["fields"] = "a,b".
  [[nodiscard]] Error to_error(std::string_view what) const {
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

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// Length of the well-formed UTF-8 sequence starting at `s[i]` (a byte >= 0x80), or 0.
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

inline bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  // ASCII fast path, eight bytes at a time: names and ids are nearly always ASCII.
  for (std::uint64_t word = 0; i + 8 <= s.size(); i += 8) {
    std::memcpy(&word, s.data() + i, 8);
    if ((word & 0x8080808080808080ull) != 0) break;
  }
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

/// Appends `s` as a JSON string literal. Ill-formed UTF-8 becomes U+FFFD so the output
/// is always valid JSON (a validated message never has any).
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n != 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD for an ill-formed byte
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

/// Free JSON as text; never throws (ill-formed UTF-8 is replaced, as in the encoder).
inline void append_free_json(std::string& out, const nlohmann::json& j) {
  if (!j.is_object() || j.empty()) {
    out += "{}";
    return;
  }
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// A shortest round-trip number; `null` for a non-finite one so the output stays JSON.
inline void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

/// True when the nesting of objects/arrays in `text` stays within `max_depth`. Strings
/// are skipped so brackets inside them do not count. Malformed text is left to the parser.
inline bool nesting_within(std::string_view text, int max_depth) {
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

/// Size check, depth pre-scan, then parse. `what` names the message in errors.
inline Result<nlohmann::json> parse_bounded_json(std::string_view text, const DecodeLimits& limits,
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

/// Integral value of a JSON number (an integral float like 450.0 included).
inline bool json_to_int64(const nlohmann::json& v, std::int64_t& out) {
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

/// Short description of a JSON value for error messages: its type, and the value when small.
inline std::string describe_json(const nlohmann::json& v) {
  if (v.is_string() || v.is_number() || v.is_boolean()) {
    std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return fmt::format("{} {}", v.type_name(), text);
  }
  return v.type_name();
}

/// Cuts a user-supplied string for an error message.
inline std::string_view clip(std::string_view s) { return s.substr(0, 64); }

/// Checks free JSON (metadata, extensions) for what could not survive a round trip:
/// non-finite numbers and ill-formed UTF-8. Returns the problem, or an empty string.
inline std::string free_json_problem(const nlohmann::json& j, bool check_utf8) {
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

/// The rules every message obeys, added to `errors` for fields not already reported.
/// `check_utf8` is off for decoded messages (the JSON parser already rejects bad UTF-8).
inline void check_message(const Message& m, FieldErrors& errors, bool check_utf8) {
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
  if (m.game_date.year() < 1900 || m.game_date.year() > 9999)
    add("game_date", fmt::format("game_date '{}' is outside years 1900..9999", m.game_date));
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
  if (!m.metadata.is_object()) {
    add("metadata", fmt::format("must be a JSON object, got {}", m.metadata.type_name()));
  } else if (auto p = free_json_problem(m.metadata, check_utf8); !p.empty()) {
    add("metadata", std::move(p));
  }
  if (!m.extensions.is_object()) {
    add("extensions", fmt::format("must be a JSON object, got {}", m.extensions.type_name()));
  } else {
    for (const auto& [key, value] : m.extensions.items()) {
      if (is_message_field(key)) {
        add("extensions", fmt::format("key '{}' collides with the known field of that name", key));
        break;
      }
    }
    if (auto p = free_json_problem(m.extensions, check_utf8); !p.empty()) add("extensions", std::move(p));
  }
}

/// Reads an optional/required string field. Returns false when it reported an error.
inline void read_string(const nlohmann::json& j, std::string_view field, std::string& out, bool required,
                        FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || (it->is_null() && !required)) {
    if (required) errors.add(std::string(field), "is required but missing");
    return;
  }
  if (!it->is_string()) {
    errors.add(std::string(field), fmt::format("must be a string, got {}", describe_json(*it)));
    return;
  }
  out = it->get_ref<const std::string&>();
  if (required && out.empty()) errors.add(std::string(field), "must be a non-empty string");
}

/// Reads `game_date` (or another date field) as a `CalendarDate`.
inline void read_date(const nlohmann::json& j, std::string_view field, CalendarDate& out, FieldErrors& errors) {
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

/// Reads an optional count (>= 0; integral floats such as 450.0 accepted).
inline void read_count(const nlohmann::json& j, std::string_view field, std::int64_t& out, FieldErrors& errors) {
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

/// Reads an optional duration in seconds (finite, >= 0).
inline void read_duration(const nlohmann::json& j, std::string_view field, double& out, FieldErrors& errors) {
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

/// Reads a status wire name.
inline void read_status(const nlohmann::json& j, std::string_view field, CompletionStatus& out, bool required,
                        FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || (it->is_null() && !required)) {
    if (required) errors.add(std::string(field), "is required but missing");
    return;
  }
  if (!it->is_string()) {
    errors.add(std::string(field), fmt::format("must be a string, got {}", describe_json(*it)));
    return;
  }
  auto s = parse_completion_status(it->get_ref<const std::string&>());
  if (!s) {
    errors.add(std::string(field),
               fmt::format("unknown status '{}' (expected success, partial, no_data or failed)",
                           clip(it->get_ref<const std::string&>())));
    return;
  }
  out = *s;
}

/// Reads an optional free JSON object (`null` counts as `{}`).
inline void read_object(const nlohmann::json& j, std::string_view field, nlohmann::json& out, FieldErrors& errors) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) {
    errors.add(std::string(field), fmt::format("must be a JSON object, got {}", describe_json(*it)));
    return;
  }
  out = *it;
}

/// Reads `entities_changed`: absent/null = full run, else {kind: [ids]} normalized.
inline void read_entities(const nlohmann::json& j, std::string_view field, ChangedEntities& out,
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

/// Reads `trace_links`: an array of {execution_id, correlation_id?}.
inline void read_trace_links(const nlohmann::json& j, std::string_view field, std::vector<TraceLink>& out,
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

/// Builds a `Message` from parsed JSON in the unified shape (see the wire rules above).
inline Result<Message> message_from_json(const nlohmann::json& j) {
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
  read_date(j, "game_date", m.game_date, errors);
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
  read_object(j, "metadata", m.metadata, errors);
  for (const auto& [key, value] : j.items())
    if (!is_message_field(key)) m.extensions[key] = value;
  check_message(m, errors, /*check_utf8=*/false);
  if (!errors.empty()) return fail(errors.to_error("completion message"));
  return m;
}

}  // namespace internal

/// Checks `m` against every rule of the wire format: non-empty `processor_name`,
/// `phase`, `execution_id`; `record_count >= 0`; finite `duration_seconds >= 0`; a failed
/// status carries an `error`; `traceparent` (when set) is W3C; `schema_version` in
/// 1..`Message::kSchemaVersion`; `entities_changed` normalized (sorted, unique, no empty
/// kind or id); `metadata`/`extensions` are objects with finite numbers, and extension
/// keys are not known field names; every string is well-formed UTF-8.
///
/// **Thread safety:** reads `m` only. **Performance:** one pass over the message,
/// including its free JSON; allocates only on failure.
/// **Errors:** `kInvalidArgument` naming every bad field ("invalid completion message:
/// field 'status': ...; field 'error': ..."), `context["fields"]` = "status,error".
///
/// **Example:**
/// @code
///   if (auto st = pipeline::validate_message(m); !st) log(st.error().to_string());
/// @endcode
inline Status validate_message(const Message& m) {
  internal::FieldErrors errors;
  internal::check_message(m, errors, /*check_utf8=*/true);
  if (!errors.empty()) return fail(errors.to_error("completion message"));
  return ok();
}

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
/// @code
///   std::string body = pipeline::encode_message(m);
///   transport.publish(topic, body, attributes);
/// @endcode
inline std::string encode_message(const Message& m) {
  using internal::append_json_string;
  std::string out;
  out.reserve(384 + m.processor_name.size() + m.error.size());
  fmt::format_to(std::back_inserter(out), "{{\"schema_version\":{}", m.schema_version);
  out += ",\"processor_name\":";
  append_json_string(out, m.processor_name);
  out += ",\"phase\":";
  append_json_string(out, m.phase);
  out += ",\"execution_id\":";
  append_json_string(out, m.execution_id);
  out += ",\"correlation_id\":";
  append_json_string(out, m.correlation_id);
  if (!m.trace_links.empty()) {
    out += ",\"trace_links\":[";
    for (std::size_t i = 0; i < m.trace_links.size(); ++i) {
      out += i == 0 ? "{\"execution_id\":" : ",{\"execution_id\":";
      append_json_string(out, m.trace_links[i].execution_id);
      out += ",\"correlation_id\":";
      append_json_string(out, m.trace_links[i].correlation_id);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (!m.traceparent.empty()) {
    out += ",\"traceparent\":";
    append_json_string(out, m.traceparent);
  }
  out += ",\"game_date\":\"";
  out += m.game_date.to_string();
  out += "\",\"output_table\":";
  append_json_string(out, m.output_table);
  out += ",\"output_dataset\":";
  append_json_string(out, m.output_dataset);
  out += ",\"status\":\"";
  out += to_string(m.status);
  fmt::format_to(std::back_inserter(out), "\",\"record_count\":{},\"duration_seconds\":", m.record_count);
  internal::append_double(out, m.duration_seconds);
  if (m.entities_changed) {
    out += ",\"entities_changed\":{";
    bool first_kind = true;
    for (const auto& [kind, ids] : *m.entities_changed) {
      if (!first_kind) out.push_back(',');
      first_kind = false;
      append_json_string(out, kind);
      out += ":[";
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i != 0) out.push_back(',');
        append_json_string(out, ids[i]);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out += m.is_incremental ? ",\"is_incremental\":true" : ",\"is_incremental\":false";
  if (!m.error.empty()) {
    out += ",\"error\":";
    append_json_string(out, m.error);
  }
  out += ",\"metadata\":";
  internal::append_free_json(out, m.metadata);
  if (m.extensions.is_object() && !m.extensions.empty()) {
    for (const auto& [key, value] : m.extensions.items()) {
      if (internal::is_message_field(key)) continue;  // never let an extension shadow a field
      out.push_back(',');
      append_json_string(out, key);
      out.push_back(':');
      out += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  out.push_back('}');
  return out;
}

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
/// @code
///   auto m = pipeline::decode_message(delivery.data());
///   if (!m) return delivery.nack();   // ends in the DLQ after max attempts
///   tracker.record(*m);
/// @endcode
inline Result<Message> decode_message(std::string_view json, const DecodeLimits& limits = {}) {
  auto parsed = internal::parse_bounded_json(json, limits, "completion message");
  if (!parsed) return fail(std::move(parsed).error());
  return internal::message_from_json(*parsed);
}

}  // namespace pipeline::inline v0
