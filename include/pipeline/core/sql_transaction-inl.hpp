#pragma once
/// @file
/// Bodies of pipeline/core/sql_transaction.hpp.

#include "pipeline/core/sql_transaction.hpp"

#include <nlohmann/json.hpp>

namespace pipeline::inline v0::internal {

PIPELINE_INLINE std::string encode_outbox_attributes(const Attributes& attributes) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [k, v] : attributes) attrs[k] = v;
  return attrs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PIPELINE_INLINE Result<Attributes> decode_outbox_attributes(std::string_view text, std::string_view outbox_key) {
  auto attrs = nlohmann::json::parse(text, nullptr, false);
  if (attrs.is_discarded() || !attrs.is_object())
    return fail(ErrorCode::kDataLoss, "outbox entry '{}' has unreadable attributes", outbox_key);
  Attributes out;
  for (auto it = attrs.begin(); it != attrs.end(); ++it)
    if (it->is_string()) out.emplace(it.key(), it->get<std::string>());
  return out;
}

}  // namespace pipeline::inline v0::internal
