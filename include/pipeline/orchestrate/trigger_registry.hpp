#pragma once
/// @file
/// `TriggerRegistry`: which downstream processors each upstream processor triggers.

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

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
/// @code
///   pipeline::TriggerRegistry r;
///   r.add_processor("orders_loader", "phase2_raw");
///   r.add_processor("order_summary", "phase3_analytics");
///   r.add_trigger("orders_loader", {"order_summary"});
///   if (auto st = r.validate(); !st) std::cerr << st.error().message;
///   std::cout << r.to_dot();
/// @endcode
class TriggerRegistry {
 public:
  /// Checks that `name` can name a processor.
  static Status validate_name(std::string_view name) {
    if (name.empty() || name.size() > 128)
      return fail(ErrorCode::kInvalidArgument, "processor name '{}' must be 1 to 128 characters", name.substr(0, 64));
    for (char c : name) {
      const bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.';
      if (!good)
        return fail(ErrorCode::kInvalidArgument, "processor name '{}' may use only A-Z, a-z, 0-9, '_', '-' and '.'",
                    name);
    }
    return ok();
  }

  /// Declares a processor and its phase. Declaring it again with the same phase is a no-op.
  Status add_processor(std::string_view name, std::string_view phase) {
    PIPELINE_TRY(validate_name(name));
    auto it = phases_.find(name);
    if (it != phases_.end()) {
      if (it->second == phase) return ok();
      return fail(ErrorCode::kAlreadyExists, "processor '{}' is already declared in phase '{}', not '{}'", name,
                  it->second, phase);
    }
    phases_.emplace(std::string(name), std::string(phase));
    return ok();
  }

  /// Declares that `source` triggers each of `targets`. A duplicate edge is an error
  /// (and nothing of this call is added).
  Status add_trigger(std::string_view source, const std::vector<std::string>& targets) {
    PIPELINE_TRY(validate_name(source));
    auto& existing = edges_[std::string(source)];
    std::set<std::string_view> seen;
    for (const auto& t : targets) {
      PIPELINE_TRY(validate_name(t));
      if (std::find(existing.begin(), existing.end(), t) != existing.end() || !seen.insert(t).second)
        return fail(ErrorCode::kAlreadyExists, "trigger '{}' -> '{}' is declared twice", source, t);
    }
    existing.insert(existing.end(), targets.begin(), targets.end());
    return ok();
  }

  /// Every edge names a declared processor, and the graph has no cycle.
  [[nodiscard]] Status validate() const {
    for (const auto& [source, targets] : edges_) {
      if (!phases_.count(source))
        return fail(ErrorCode::kInvalidArgument, "trigger source '{}' is not a declared processor", source);
      for (const auto& t : targets)
        if (!phases_.count(t))
          return fail(ErrorCode::kInvalidArgument, "processor '{}' (triggered by '{}') is not a declared processor", t,
                      source);
    }
    // Depth-first search with colours; the path is kept to name the cycle.
    std::map<std::string_view, int> colour;  // 0 new, 1 on the path, 2 finished
    std::vector<std::string_view> path;
    std::optional<std::string> cycle;
    auto visit = [&](auto& self, std::string_view node) -> void {
      colour[node] = 1;
      path.push_back(node);
      for (const auto& next : targets(node)) {
        if (cycle) return;
        const int c = colour[next];
        if (c == 1) {
          auto from = std::find(path.begin(), path.end(), std::string_view(next));
          std::string text;
          for (auto it = from; it != path.end(); ++it) text += fmt::format("{} -> ", *it);
          cycle = text + next;
          return;
        }
        if (c == 0) self(self, next);
      }
      path.pop_back();
      colour[node] = 2;
    };
    for (const auto& [name, phase] : phases_) {
      if (colour[name] == 0) visit(visit, name);
      if (cycle) return fail(ErrorCode::kInvalidArgument, "triggers form a cycle: {}", *cycle);
    }
    return ok();
  }

  /// The processors `source` triggers, in declaration order (empty when none).
  [[nodiscard]] const std::vector<std::string>& targets(std::string_view source) const {
    static const std::vector<std::string> kNone;
    auto it = edges_.find(source);
    return it == edges_.end() ? kNone : it->second;
  }

  /// The union of what `sources` trigger, sorted and unique.
  template <class Range>
  [[nodiscard]] std::vector<std::string> targets_of(const Range& sources) const {
    std::set<std::string> out;
    for (const auto& s : sources)
      for (const auto& t : targets(s)) out.insert(t);
    return {out.begin(), out.end()};
  }

  /// Declared processors (of `phase` only, when it is not empty), sorted by name.
  [[nodiscard]] std::vector<std::string> processors(std::string_view phase = {}) const {
    std::vector<std::string> out;
    for (const auto& [name, p] : phases_)
      if (phase.empty() || p == phase) out.push_back(name);
    return out;
  }

  /// The declared phases, sorted by name.
  [[nodiscard]] std::vector<std::string> phases() const {
    std::set<std::string> out;
    for (const auto& [name, p] : phases_) out.insert(p);
    return {out.begin(), out.end()};
  }

  /// The phase `name` was declared in, if it was.
  [[nodiscard]] std::optional<std::string> phase_of(std::string_view name) const {
    auto it = phases_.find(name);
    if (it == phases_.end()) return std::nullopt;
    return it->second;
  }

  [[nodiscard]] bool contains(std::string_view name) const { return phases_.find(name) != phases_.end(); }

  /// Graphviz DOT: one cluster per phase, one edge per trigger. With `states`, nodes are
  /// filled by state (done green, missing grey, failed red); processors not in the map
  /// stay white.
  [[nodiscard]] std::string to_dot(const std::map<std::string, ProcessorState, std::less<>>& states = {}) const {
    auto quote = [](std::string_view s) { return fmt::format("\"{}\"", s); };
    std::string out = "digraph triggers {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white];\n";
    int cluster = 0;
    for (const auto& phase : phases()) {
      out += fmt::format("  subgraph cluster_{} {{\n    label={};\n", cluster++, quote(phase));
      for (const auto& name : processors(phase)) {
        auto it = states.find(name);
        if (it == states.end()) {
          out += fmt::format("    {};\n", quote(name));
        } else {
          const char* fill = it->second == ProcessorState::kDone     ? "palegreen"
                             : it->second == ProcessorState::kFailed ? "tomato"
                                                                     : "lightgrey";
          out += fmt::format("    {} [fillcolor={}, tooltip={}];\n", quote(name), fill, quote(to_string(it->second)));
        }
      }
      out += "  }\n";
    }
    for (const auto& [source, ts] : edges_)
      for (const auto& t : ts) out += fmt::format("  {} -> {};\n", quote(source), quote(t));
    out += "}\n";
    return out;
  }

 private:
  std::map<std::string, std::string, std::less<>> phases_;
  std::map<std::string, std::vector<std::string>, std::less<>> edges_;
};

}  // namespace pipeline::inline v0
