#pragma once

#include "pipeline/coordinate/batch_state.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<BatchTrigger> parse_batch_trigger(std::string_view s) {
  for (const auto& [t, name] : internal::kBatchTriggerNames)
    if (s == name) return t;
  return fail(ErrorCode::kInvalidArgument, "unknown trigger '{}' (expected event, scheduler or manual)", s);
}

PIPELINE_INLINE Result<BatchState> parse_batch_state(std::string_view s) {
  for (const auto& [state, name] : internal::kBatchStateNames)
    if (s == name) return state;
  return fail(ErrorCode::kInvalidArgument,
              "unknown batch state '{}' (expected none, waiting, running, complete or refused)", s);
}

}  // namespace pipeline::inline v0
