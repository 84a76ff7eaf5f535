#pragma once
/// @file
/// Bodies of pipeline/core/topics.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/topics.hpp"

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE std::string TopicNaming::phase_complete(int phase, std::string_view name) const {
  return fmt::format("{}-phase{}-{}-complete", prefix, phase, name);
}

PIPELINE_INLINE std::string TopicNaming::dead_letter(std::string_view topic) { return fmt::format("{}-dlq", topic); }

PIPELINE_INLINE Status TopicNaming::validate_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249)
    return fail(ErrorCode::kInvalidArgument, "topic name '{}' must be 1 to 249 characters", name.substr(0, 64));
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return fail(ErrorCode::kInvalidArgument, "topic name '{}' may use only a-z, 0-9, '.', '_' and '-'", name);
  }
  return ok();
}

}  // namespace pipeline::inline v0
