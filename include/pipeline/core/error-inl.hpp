#pragma once
/// @file
/// Bodies of pipeline/core/error.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/error.hpp"

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Error Error::with(std::string key, std::string value) const {
  Error e = *this;
  e.context.insert_or_assign(std::move(key), std::move(value));
  return e;
}

PIPELINE_INLINE std::string Error::to_string() const {
  std::string out = fmt::format("{}: {}", pipeline::to_string(code), message);
  if (!context.empty()) {
    out += " [";
    bool first = true;
    for (const auto& [k, v] : context) {
      out += fmt::format("{}{}={}", first ? "" : ", ", k, v);
      first = false;
    }
    out += "]";
  }
  return out;
}

}  // namespace pipeline::inline v0
