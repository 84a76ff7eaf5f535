#pragma once
/// @file
/// Bodies of pipeline/core/json_writer.hpp (compiled into pipeline::core, or included
/// everywhere with PIPELINE_HEADER_ONLY).

#include "pipeline/core/json_writer.hpp"

#include <cmath>
#include <cstring>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pipeline::inline v0::internal {

/// Length of the well-formed UTF-8 sequence starting at `s[i]` (a byte >= 0x80), or 0.
PIPELINE_INLINE std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
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

PIPELINE_INLINE bool is_valid_utf8(std::string_view s) {
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
PIPELINE_INLINE void append_json_string(std::string& out, std::string_view s) {
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
PIPELINE_INLINE void append_free_json(std::string& out, const nlohmann::json& j) {
  if (!j.is_object() || j.empty()) {
    out += "{}";
    return;
  }
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// A shortest round-trip number; `null` for a non-finite one so the output stays JSON.
PIPELINE_INLINE void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

/// Any JSON value as compact text; never throws (ill-formed UTF-8 is replaced).
PIPELINE_INLINE void append_json_value(std::string& out, const nlohmann::json& j) {
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pipeline::inline v0::internal
