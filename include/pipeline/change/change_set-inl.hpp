#pragma once
// Bodies of pipeline/change/change_set.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <iterator>

#include "pipeline/change/change_set.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE std::vector<std::string> ChangeSet::ids_to_process(bool include_removed) const {
  std::vector<std::string> out;
  out.reserve(added.size() + changed.size() + (include_removed ? removed.size() : 0));
  std::merge(added.begin(), added.end(), changed.begin(), changed.end(), std::back_inserter(out));
  if (include_removed) {
    const auto mid = static_cast<std::ptrdiff_t>(out.size());
    out.insert(out.end(), removed.begin(), removed.end());
    std::inplace_merge(out.begin(), out.begin() + mid, out.end());
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PIPELINE_INLINE ChangedEntities ChangeSet::entities_changed() const {
  if (full_fallback) return std::nullopt;
  EntityChanges changes;
  auto ids = ids_to_process(true);
  if (!ids.empty()) changes[entity_kind] = EntityIds(ids.begin(), ids.end());
  return changes;
}

}  // namespace pipeline::inline v0
