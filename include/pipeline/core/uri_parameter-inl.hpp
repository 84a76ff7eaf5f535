#pragma once
/// @file
/// Bodies of pipeline/core/uri_parameter.hpp.

#include "pipeline/core/uri_parameter.hpp"

namespace pipeline::inline v0::internal {

PIPELINE_INLINE std::optional<std::string> take_uri_parameter(std::string& uri, std::string_view name) {
  const auto q = uri.find('?');
  if (q == std::string::npos) return std::nullopt;
  const std::string key = std::string(name) + "=";
  std::optional<std::string> value;
  std::string kept;
  std::size_t pos = q + 1;
  while (pos <= uri.size()) {
    auto amp = uri.find('&', pos);
    if (amp == std::string::npos) amp = uri.size();
    const std::string param = uri.substr(pos, amp - pos);
    if (param.starts_with(key)) {
      value = param.substr(key.size());
    } else if (!param.empty()) {
      kept += kept.empty() ? "" : "&";
      kept += param;
    }
    pos = amp + 1;
  }
  uri = uri.substr(0, q) + (kept.empty() ? "" : "?" + kept);
  return value;
}

}  // namespace pipeline::inline v0::internal
