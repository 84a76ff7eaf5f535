#pragma once
// Bodies of pipeline/change/change_detector.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "pipeline/change/change_detector.hpp"
#include "pipeline/core/metrics_sink.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Status ChangeDetector::commit(Transaction& /*tx*/, const ChangeSet& /*changes*/) const { return ok(); }

namespace internal {
// The entity kind every detector's `create` checks: it names metrics labels and store keys.
PIPELINE_INLINE Status validate_entity_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64 ||
      !std::all_of(kind.begin(), kind.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      }))
    return fail(ErrorCode::kInvalidArgument, "entity kind '{}' must be 1 to 64 characters of [A-Za-z0-9_-]",
                kind.substr(0, 64));
  return ok();
}

// The fallback every detector reports the same way: counter, event, log line.
PIPELINE_INLINE void report_change_fallback(MetricsSink& metrics, Counter& fallbacks,
                                            const std::function<void(std::string_view)>& log, const ChangeSet& cs) {
  fallbacks.add();
  metrics.event("change_detection_fallback",
                {{"kind", cs.entity_kind}, {"date", cs.date.to_string()}, {"reason", cs.fallback_reason}});
  if (log)
    log(fmt::format("change detection for {} on {} fell back to processing every entity: {}", cs.entity_kind,
                    cs.date.to_string(), cs.fallback_reason));
}
}  // namespace internal

}  // namespace pipeline::inline v0
