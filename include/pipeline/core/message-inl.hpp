#pragma once
/// @file
/// Bodies of pipeline/core/message.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/message.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<CompletionStatus> parse_completion_status(std::string_view s) {
  if (auto status = enum_from_name<CompletionStatus>(s)) return *status;
  return fail(ErrorCode::kInvalidArgument, "unknown status '{}' (expected {})", s, enum_name_list<CompletionStatus>());
}

PIPELINE_INLINE void normalize(EntityChanges& changes) {
  for (auto it = changes.begin(); it != changes.end();) {
    auto& ids = it->second;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    it = ids.empty() ? changes.erase(it) : std::next(it);
  }
}

PIPELINE_INLINE void merge_into(ChangedEntities& into, const ChangedEntities& from) {
  if (!into) return;
  if (!from) {
    into.reset();
    return;
  }
  for (const auto& [kind, ids] : *from) {
    auto& dst = (*into)[kind];
    EntityIds merged;
    merged.reserve(dst.size() + ids.size());
    std::set_union(dst.begin(), dst.end(), ids.begin(), ids.end(), std::back_inserter(merged));
    dst = std::move(merged);
  }
}

}  // namespace pipeline::inline v0
