#pragma once
/// @file
/// Internal: the one JSON writer of the library's hand-written hot paths (the message
/// encoder, and the other encoders that must not build a JSON tree).
///
/// `JsonWriter` appends to a caller's `std::string` and manages the commas; it does not
/// check that objects and arrays are balanced or that a key precedes each member (the
/// callers are a few fixed encoders, tested against nlohmann's output).
///
/// **Thread safety:** one writer per thread. **Performance:** no allocation beyond the
/// output string's growth; strings are copied in runs, escaping only what JSON requires.
/// **Errors:** none; ill-formed UTF-8 becomes U+FFFD and a non-finite double `null`, so the
/// output is always valid JSON.
///
/// **Example:**
/// @snippet core_snippets_test.cpp json_writer

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/config.hpp"

namespace pipeline::inline v0::internal {

/// Length of the well-formed UTF-8 sequence starting at `s[i]` (a byte >= 0x80), or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

/// Appends `s` as a JSON string literal. Ill-formed UTF-8 becomes U+FFFD so the output
/// is always valid JSON (a validated message never has any).
void append_json_string(std::string& out, std::string_view s);

/// A shortest round-trip number; `null` for a non-finite one so the output stays JSON.
void append_double(std::string& out, double v);

/// Free JSON (an object) as text, `{}` for anything else or an empty one; never throws
/// (ill-formed UTF-8 is replaced, as in the encoder).
void append_free_json(std::string& out, const nlohmann::json& j);

/// Any JSON value as compact text; never throws (ill-formed UTF-8 is replaced).
void append_json_value(std::string& out, const nlohmann::json& j);

/// Writes JSON into a string, managing the commas between members and elements.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) noexcept : out_(out) {}

  JsonWriter& begin_object() {
    separate();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
  }
  JsonWriter& end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
  }
  JsonWriter& begin_array() {
    separate();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
  }
  JsonWriter& end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
  }

  /// A member name, escaped; the next value call writes its value.
  JsonWriter& key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_.push_back(':');
    need_comma_ = false;
    return *this;
  }

  /// A member name known to need no escaping (plain ASCII without `"`, `\` or control
  /// characters, e.g. a field name written in the code): copied verbatim.
  JsonWriter& plain_key(std::string_view name) {
    out_.append(need_comma_ ? ",\"" : "\"", need_comma_ ? 2 : 1);
    out_.append(name);
    out_.append("\":", 2);
    need_comma_ = false;
    return *this;
  }

  JsonWriter& string(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
  }
  /// A string known to need no escaping (see `plain_key`): copied verbatim.
  JsonWriter& plain_string(std::string_view s) {
    out_.append(need_comma_ ? ",\"" : "\"", need_comma_ ? 2 : 1);
    out_.append(s);
    out_.push_back('"');
    need_comma_ = true;
    return *this;
  }
  JsonWriter& integer(std::int64_t v) {
    separate();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }
  JsonWriter& number(double v) {
    separate();
    append_double(out_, v);
    return *this;
  }
  JsonWriter& boolean(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }
  /// An array of strings.
  JsonWriter& string_array(const std::vector<std::string>& items) {
    begin_array();
    for (const auto& s : items) string(s);
    return end_array();
  }
  /// Free JSON written as an object (`{}` unless it is a non-empty object).
  JsonWriter& free_object(const nlohmann::json& j) {
    separate();
    append_free_json(out_, j);
    return *this;
  }
  /// Any JSON value, compact.
  JsonWriter& value(const nlohmann::json& j) {
    separate();
    append_json_value(out_, j);
    return *this;
  }

  [[nodiscard]] std::string& out() noexcept { return out_; }

 private:
  void separate() {
    if (need_comma_) out_.push_back(',');
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/json_writer-inl.hpp"
#endif
