#pragma once
/// @file
/// Topic naming: `<prefix>-phaseN-<name>-complete` and its `-dlq` twin.

#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Builds and checks the pipeline's topic names from one prefix, so every service and
/// the operator's tool agree on them.
///
/// **Thread safety:** immutable after construction. **Performance:** allocates the name.
/// **Errors:** `validate_topic_name` returns `kInvalidArgument` for an empty name, one
/// longer than 249 characters, or one with characters outside `[a-z0-9._-]`.
///
/// **Example:**
/// @snippet core_snippets_test.cpp topics
struct TopicNaming {
  std::string prefix = "pipeline";

  /// `<prefix>-phase<N>-<name>-complete`.
  [[nodiscard]] std::string phase_complete(int phase, std::string_view name) const;

  /// The dead-letter topic of `topic`: `<topic>-dlq`.
  static std::string dead_letter(std::string_view topic);

  /// Checks that `name` is a usable topic or subscription name.
  static Status validate_topic_name(std::string_view name);
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/topics-inl.hpp"
#endif
