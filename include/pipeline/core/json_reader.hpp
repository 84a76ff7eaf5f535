#pragma once
/// @file
/// Internal: the strict reading helpers the decoders share — a bounded parse (size and
/// depth checked before nlohmann-json runs), typed field readers that collect every bad
/// field in `FieldErrors`, and short descriptions of JSON values for error messages.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/decode_limits.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0::internal {

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
  [[nodiscard]] Error to_error(std::string_view what) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// True when the nesting of objects/arrays in `text` stays within `max_depth`. Strings
/// are skipped so brackets inside them do not count. Malformed text is left to the parser.
bool nesting_within(std::string_view text, int max_depth);

/// Size check, depth pre-scan, then parse. `what` names the message in errors.
Result<nlohmann::json> parse_bounded_json(std::string_view text, const DecodeLimits& limits,
                                          std::string_view what);

/// Integral value of a JSON number (an integral float like 450.0 included).
bool json_to_int64(const nlohmann::json& v, std::int64_t& out);

/// Short description of a JSON value for error messages: its type, and the value when small.
std::string describe_json(const nlohmann::json& v);

/// Cuts a user-supplied string for an error message.
inline std::string_view clip(std::string_view s) { return s.substr(0, 64); }

/// Checks free JSON (metadata, extensions) for what could not survive a round trip:
/// non-finite numbers and ill-formed UTF-8. Returns the problem, or an empty string.
std::string free_json_problem(const nlohmann::json& j, bool check_utf8);

/// Reads an optional/required string field; a bad one is added to `errors`.
void read_string(const nlohmann::json& j, std::string_view field, std::string& out, bool required,
                 FieldErrors& errors);

/// Reads `game_date` (or another date field) as a `CalendarDate`.
void read_date(const nlohmann::json& j, std::string_view field, CalendarDate& out, FieldErrors& errors);

/// Reads an optional count (>= 0; integral floats such as 450.0 accepted).
void read_count(const nlohmann::json& j, std::string_view field, std::int64_t& out, FieldErrors& errors);

/// Reads an optional duration in seconds (finite, >= 0).
void read_duration(const nlohmann::json& j, std::string_view field, double& out, FieldErrors& errors);

/// Reads a status wire name.
void read_status(const nlohmann::json& j, std::string_view field, CompletionStatus& out, bool required,
                 FieldErrors& errors);

/// Reads an optional free JSON object (`null` counts as `{}`).
void read_object(const nlohmann::json& j, std::string_view field, nlohmann::json& out, FieldErrors& errors);

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/json_reader-inl.hpp"
#endif
