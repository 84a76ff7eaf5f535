#pragma once
/// @file
/// The one entity-id rule of the library: `is_valid_entity_id` and `validate_entity_id`.
///
/// An entity id is 1 to `kMaxEntityIdBytes` (128) bytes of printable ASCII, 0x21–0x7E,
/// without '/'. Ids become parts of store keys (`…/<date>/<id>`), of message ids and of
/// bound SQL parameters, so the rule keeps them unambiguous in all three: no separator,
/// no space or control byte, nothing a terminal or a log line would show differently.
///
/// **Thread safety:** pure functions. **Performance:** `is_valid_entity_id` is one pass
/// over the bytes, no allocation (for loops over millions of ids); `validate_entity_id`
/// allocates only for the error. **Errors:** `kInvalidArgument` naming the (clipped) id
/// and what is wrong with it.
///
/// **Example:**
/// @snippet core_snippets_test.cpp entity_id

#include <cstddef>
#include <string_view>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Longest entity id, in bytes.
inline constexpr std::size_t kMaxEntityIdBytes = 128;

/// True when `id` follows the entity-id rule (1–128 bytes of 0x21–0x7E except '/').
constexpr bool is_valid_entity_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxEntityIdBytes) return false;
  for (const char c : id)
    if (c <= 0x20 || c > 0x7E || c == '/') return false;
  return true;
}

/// `is_valid_entity_id` with a reason: ok, or `kInvalidArgument` saying what is wrong.
Status validate_entity_id(std::string_view id);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/entity_id-inl.hpp"
#endif
