#pragma once
// Bodies of pipeline/orchestrate/registry_store.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/registry_store.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/decode_limits.hpp"
#include "pipeline/core/json_reader.hpp"
#include "pipeline/core/json_writer.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"

namespace pipeline::inline v0 {

namespace internal {

PIPELINE_INLINE Result<std::string> encode_registry(const TriggerRegistry& registry) {
  if (auto st = registry.validate(); !st) return fail(st.error());
  nlohmann::json processors = nlohmann::json::object();
  nlohmann::json triggers = nlohmann::json::object();
  for (const auto& name : registry.processors()) {
    std::string phase = registry.phase_of(name).value_or(std::string());
    if (phase.size() > kMaxRegistryPhaseBytes || !is_valid_utf8(phase))
      return fail(ErrorCode::kInvalidArgument,
                  "phase '{}' of processor '{}' cannot be stored: a phase name is at most {} bytes of UTF-8",
                  clip(phase), name, kMaxRegistryPhaseBytes);
    processors[name] = std::move(phase);
    if (const auto& targets = registry.targets(name); !targets.empty()) triggers[name] = targets;
  }
  std::string text =
      nlohmann::json{{"format", kRegistryRecordFormat}, {"processors", std::move(processors)},
                     {"triggers", std::move(triggers)}}
          .dump();
  if (text.size() > kMaxRegistryRecordBytes)
    return fail(ErrorCode::kInvalidArgument, "the trigger registry is {} bytes stored, over the limit of {} bytes",
                text.size(), kMaxRegistryRecordBytes);
  return text;
}

PIPELINE_INLINE Result<TriggerRegistry> decode_registry(std::string_view text) {
  auto bad = [](std::string why) { return fail(ErrorCode::kDataLoss, "stored trigger registry {}", why); };
  // Top object, the processors/triggers objects, a trigger's target array: depth 3.
  auto parsed = parse_bounded_json(text, DecodeLimits{kMaxRegistryRecordBytes, 3}, "stored trigger registry");
  if (!parsed) return fail(ErrorCode::kDataLoss, "{}", parsed.error().message);
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return bad(fmt::format("is {}, not a JSON object", describe_json(j)));
  const auto format = j.find("format");
  std::int64_t version = 0;
  if (format == j.end()) return bad("has no 'format' field");
  if (!json_to_int64(*format, version) || version < 1 || version > kRegistryRecordFormat)
    return bad(fmt::format("has format {}, this code reads format 1 to {}", describe_json(*format),
                           kRegistryRecordFormat));
  const auto processors = j.find("processors");
  if (processors == j.end() || !processors->is_object())
    return bad("has no 'processors' object");
  const auto triggers = j.find("triggers");
  if (triggers == j.end() || !triggers->is_object()) return bad("has no 'triggers' object");

  TriggerRegistry registry;
  for (const auto& [name, phase] : processors->items()) {
    if (!phase.is_string() || phase.get_ref<const std::string&>().size() > kMaxRegistryPhaseBytes)
      return bad(fmt::format("gives processor '{}' the phase {}, not a string of at most {} bytes", clip(name),
                             describe_json(phase), kMaxRegistryPhaseBytes));
    if (auto st = registry.add_processor(name, phase.get_ref<const std::string&>()); !st)
      return bad(fmt::format("declares a bad processor: {}", st.error().message));
  }
  for (const auto& [source, targets] : triggers->items()) {
    if (!targets.is_array()) return bad(fmt::format("gives '{}' triggers {}, not an array", clip(source),
                                                    describe_json(targets)));
    std::vector<std::string> names;
    names.reserve(targets.size());
    for (const auto& t : targets) {
      if (!t.is_string())
        return bad(fmt::format("has a trigger of '{}' that is {}, not a name", clip(source), describe_json(t)));
      names.push_back(t.get<std::string>());
    }
    if (auto st = registry.add_trigger(source, names); !st)
      return bad(fmt::format("has a bad trigger: {}", st.error().message));
  }
  if (auto st = registry.validate(); !st) return bad(fmt::format("does not validate: {}", st.error().message));
  return registry;
}

}  // namespace internal

PIPELINE_INLINE Status save_registry(Transaction& tx, std::string_view tracker, const TriggerRegistry& registry) {
  PIPELINE_TRY(TriggerRegistry::validate_name(tracker));
  auto value = internal::encode_registry(registry);
  if (!value) return fail(value.error());
  const std::string key = TrackerKeys::registry_key(tracker);
  auto current = tx.get(key);
  if (!current) return fail(current.error());
  if (*current && **current == *value) return ok();
  return tx.put(key, *value);
}

PIPELINE_INLINE Status save_registry(StateStore& store, std::string_view tracker, const TriggerRegistry& registry) {
  return store.transact([&](Transaction& tx) { return save_registry(tx, tracker, registry); });
}

PIPELINE_INLINE Result<std::optional<TriggerRegistry>> load_registry(StateStore& store, std::string_view tracker) {
  const std::string key = TrackerKeys::registry_key(tracker);
  auto row = store.get(key);
  if (!row) return fail(row.error());
  if (!*row) return std::optional<TriggerRegistry>();
  auto registry = internal::decode_registry(**row);
  if (!registry) return fail(registry.error().with("key", key));
  return std::optional<TriggerRegistry>(std::move(*registry));
}

PIPELINE_INLINE Result<std::optional<TriggerRegistry>> load_registry(StateStore& store) {
  auto trackers = list_trackers(store);
  if (!trackers) return fail(trackers.error());
  std::optional<TriggerRegistry> merged;
  std::map<std::string, std::string, std::less<>> declared_by;  // processor -> the first tracker declaring it
  std::vector<std::string> contributors;
  for (const auto& t : *trackers) {
    auto one = load_registry(store, t.name);
    if (!one) return fail(one.error());
    if (!*one) continue;
    if (!merged) merged.emplace();
    contributors.push_back(t.name);
    const TriggerRegistry& r = **one;
    for (const auto& name : r.processors()) {
      const std::string phase = *r.phase_of(name);
      if (auto st = merged->add_processor(name, phase); !st)
        return fail(ErrorCode::kFailedPrecondition,
                    "the trackers in this store disagree: processor '{}' is in phase '{}' in the registry of "
                    "tracker '{}' and in phase '{}' in that of tracker '{}'",
                    name, *merged->phase_of(name), declared_by[name], phase, t.name);
      declared_by.emplace(name, t.name);
    }
    for (const auto& source : r.processors()) {
      std::vector<std::string> fresh;
      const auto& have = merged->targets(source);
      for (const auto& target : r.targets(source))
        if (std::find(have.begin(), have.end(), target) == have.end()) fresh.push_back(target);
      if (!fresh.empty()) PIPELINE_TRY(merged->add_trigger(source, fresh));
    }
  }
  if (merged)
    if (auto st = merged->validate(); !st)
      return fail(ErrorCode::kFailedPrecondition, "the registries of trackers {} together do not validate: {}",
                  fmt::join(contributors, ", "), st.error().message);
  return merged;
}

}  // namespace pipeline::inline v0
