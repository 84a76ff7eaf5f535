#pragma once
/// @file
/// Bodies of pipeline/orchestrate/trigger_registry.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/trigger_registry.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Status TriggerRegistry::validate_name(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return fail(ErrorCode::kInvalidArgument, "processor name '{}' must be 1 to 128 characters", name.substr(0, 64));
  for (char c : name) {
    const bool good =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!good)
      return fail(ErrorCode::kInvalidArgument, "processor name '{}' may use only A-Z, a-z, 0-9, '_', '-' and '.'",
                  name);
  }
  return ok();
}

PIPELINE_INLINE Status TriggerRegistry::add_processor(std::string_view name, std::string_view phase) {
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

PIPELINE_INLINE Status TriggerRegistry::add_trigger(std::string_view source, const std::vector<std::string>& targets) {
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

PIPELINE_INLINE Status TriggerRegistry::validate() const {
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

PIPELINE_INLINE const std::vector<std::string>& TriggerRegistry::targets(std::string_view source) const {
  static const std::vector<std::string> kNone;
  auto it = edges_.find(source);
  return it == edges_.end() ? kNone : it->second;
}

PIPELINE_INLINE std::vector<std::string> TriggerRegistry::processors(std::string_view phase) const {
  std::vector<std::string> out;
  for (const auto& [name, p] : phases_)
    if (phase.empty() || p == phase) out.push_back(name);
  return out;
}

PIPELINE_INLINE std::vector<std::string> TriggerRegistry::phases() const {
  std::set<std::string> out;
  for (const auto& [name, p] : phases_) out.insert(p);
  return {out.begin(), out.end()};
}

PIPELINE_INLINE std::optional<std::string> TriggerRegistry::phase_of(std::string_view name) const {
  auto it = phases_.find(name);
  if (it == phases_.end()) return std::nullopt;
  return it->second;
}

PIPELINE_INLINE std::string TriggerRegistry::to_dot(
    const std::map<std::string, ProcessorState, std::less<>>& states) const {
  auto quote = [](std::string_view s) { return fmt::format("\"{}\"", s); };
  std::string out =
      "digraph triggers {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white];\n";
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

}  // namespace pipeline::inline v0
