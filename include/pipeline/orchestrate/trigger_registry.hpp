#pragma once
/// @file
/// `TriggerRegistry`: which downstream processors each upstream processor triggers.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// How a processor stands on one date, for colouring a graph.
enum class ProcessorState {
  kDone,     ///< Completed (success, partial or no_data).
  kMissing,  ///< Expected and not completed yet.
  kFailed,   ///< Completed with status failed.
};

/// "done" | "missing" | "failed".
constexpr std::string_view to_string(ProcessorState s) noexcept {
  switch (s) {
    case ProcessorState::kDone: return "done";
    case ProcessorState::kMissing: return "missing";
    case ProcessorState::kFailed: return "failed";
  }
  return "missing";
}

/// The map from a source processor (a raw table's loader, an analytics processor, ...)
/// to the processors it triggers in the next phase — the seeds' ANALYTICS_TRIGGERS and
/// PRECOMPUTE_TRIGGERS as data, so an incremental wave runs only what its changes reach.
///
/// Processors are declared with the phase they belong to; edges name declared
/// processors. `validate()` reports unknown processors and cycles; `add_trigger` refuses
/// a duplicate edge at once. Names are 1–128 characters of `[A-Za-z0-9_.-]` (they are
/// parts of state keys and stable ids).
///
/// **Thread safety:** build it on one thread; afterwards the const members may be called
/// from any thread (it is then immutable).
/// **Performance:** lookups are O(log n) map searches; `targets_of` allocates the result.
/// **Errors:** `kInvalidArgument` for a bad name, an unknown processor or a cycle;
/// `kAlreadyExists` for a processor declared twice with different phases or a duplicate
/// edge.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp trigger_registry
class TriggerRegistry {
 public:
  /// Checks that `name` can name a processor.
  static Status validate_name(std::string_view name);

  /// Declares a processor and its phase. Declaring it again with the same phase is a no-op.
  Status add_processor(std::string_view name, std::string_view phase);

  /// Declares that `source` triggers each of `targets`. A duplicate edge is an error
  /// (and nothing of this call is added).
  Status add_trigger(std::string_view source, const std::vector<std::string>& targets);

  /// Every edge names a declared processor, and the graph has no cycle.
  [[nodiscard]] Status validate() const;

  /// The processors `source` triggers, in declaration order (empty when none).
  [[nodiscard]] const std::vector<std::string>& targets(std::string_view source) const;

  /// The union of what `sources` trigger, sorted and unique.
  template <class Range>
  [[nodiscard]] std::vector<std::string> targets_of(const Range& sources) const {
    std::set<std::string> out;
    for (const auto& s : sources)
      for (const auto& t : targets(s)) out.insert(t);
    return {out.begin(), out.end()};
  }

  /// Declared processors (of `phase` only, when it is not empty), sorted by name.
  [[nodiscard]] std::vector<std::string> processors(std::string_view phase = {}) const;

  /// The declared phases, sorted by name.
  [[nodiscard]] std::vector<std::string> phases() const;

  /// The phase `name` was declared in, if it was.
  [[nodiscard]] std::optional<std::string> phase_of(std::string_view name) const;

  [[nodiscard]] bool contains(std::string_view name) const { return phases_.find(name) != phases_.end(); }

  /// Graphviz DOT: one cluster per phase, one edge per trigger. With `states`, nodes are
  /// filled by state (done green, missing grey, failed red); processors not in the map
  /// stay white.
  [[nodiscard]] std::string to_dot(const std::map<std::string, ProcessorState, std::less<>>& states = {}) const;

 private:
  std::map<std::string, std::string, std::less<>> phases_;
  std::map<std::string, std::vector<std::string>, std::less<>> edges_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/trigger_registry-inl.hpp"
#endif
