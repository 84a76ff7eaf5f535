#pragma once
/// @file
/// Bodies of pipeline/core/entity_id.hpp.

#include "pipeline/core/entity_id.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Status validate_entity_id(std::string_view id) {
  if (is_valid_entity_id(id)) return ok();
  if (id.empty() || id.size() > kMaxEntityIdBytes)
    return fail(ErrorCode::kInvalidArgument, "entity id must be 1 to {} bytes, got {} ('{}')", kMaxEntityIdBytes,
                id.size(), id.substr(0, 64));
  for (const char c : id) {
    if (c == '/')
      return fail(ErrorCode::kInvalidArgument, "entity id '{}' contains '/', which separates key parts",
                  id.substr(0, 64));
    if (c <= 0x20 || c > 0x7E)
      return fail(ErrorCode::kInvalidArgument,
                  "entity id '{}' contains byte 0x{:02x}; ids are printable ASCII without spaces (0x21-0x7E)",
                  id.substr(0, id.find(c)), static_cast<unsigned char>(c));
  }
  return ok();
}

}  // namespace pipeline::inline v0
