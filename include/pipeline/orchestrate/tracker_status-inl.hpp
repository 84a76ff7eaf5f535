#pragma once
#include "pipeline/orchestrate/tracker_status.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE std::map<std::string, ProcessorState, std::less<>> TrackerStatus::processor_states() const {
  std::map<std::string, ProcessorState, std::less<>> out;
  for (const auto& p : missing) out[p] = ProcessorState::kMissing;
  for (const auto& p : done) out[p] = ProcessorState::kDone;
  for (const auto& p : failed) out[p] = ProcessorState::kFailed;
  return out;
}

PIPELINE_INLINE nlohmann::json TrackerStatus::to_json() const {
  auto instant = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json();
  };
  nlohmann::json j{{"tracker", tracker},
                   {"upstream_phase", upstream_phase},
                   {"downstream_phase", downstream_phase},
                   {"date", date.to_string()},
                   {"expected", expected},
                   {"done", done},
                   {"failed", failed},
                   {"missing", missing},
                   {"unexpected", unexpected},
                   {"first_completion", instant(first_completion)},
                   {"last_completion", instant(last_completion)},
                   {"waves", nlohmann::json::array()}};
  for (const auto& w : waves) {
    j["waves"].push_back({{"wave", w.number},
                          {"decided", w.decided},
                          {"trigger_id", w.decided ? nlohmann::json(w.trigger_id) : nlohmann::json()},
                          {"partial", w.partial},
                          {"reason", w.decided ? nlohmann::json(w.reason) : nlohmann::json()},
                          {"trigger_status", w.decided ? nlohmann::json(w.trigger_status) : nlohmann::json()},
                          {"first_completion", instant(w.first_completion)},
                          {"triggered_at", instant(w.triggered_at)},
                          {"latency_seconds", w.latency() ? nlohmann::json(std::chrono::duration<double>(*w.latency()).count())
                                                          : nlohmann::json()},
                          {"processors", w.processors},
                          {"run_processors", w.run_processors},
                          {"below_threshold_alerted", w.below_threshold_alerted}});
    // Counts per kind, not the ids (a full day lists hundreds); "all" for a full run.
    auto& changed = j["waves"].back()["entities_changed"];
    if (!w.entities_changed) {
      changed = "all";
    } else {
      changed = nlohmann::json::object();
      for (const auto& [kind, ids] : *w.entities_changed) changed[kind] = ids.size();
    }
  }
  return j;
}

PIPELINE_INLINE Result<std::vector<TrackerDescription>> list_trackers(StateStore& store) {
  auto rows = store.scan(TrackerKeys::kDescriptionPrefix);
  if (!rows) return fail(rows.error());
  std::vector<TrackerDescription> out;
  for (const auto& row : *rows) {
    auto d = internal::decode_description(row.value);
    if (!d) return fail(d.error().with("key", row.key));
    out.push_back(std::move(*d));
  }
  return out;
}

PIPELINE_INLINE Result<TrackerStatus> load_tracker_status(StateStore& store, std::string_view name,
                                                          CalendarDate date) {
  auto desc_row = store.get(TrackerKeys::description_key(name));
  if (!desc_row) return fail(desc_row.error());
  if (!*desc_row) return fail(ErrorCode::kNotFound, "no tracker named '{}' is recorded in this store", name);
  auto desc = internal::decode_description(**desc_row);
  if (!desc) return fail(desc.error());
  const std::string base = TrackerKeys(std::string(name)).date_prefix(date);
  auto rows = store.scan(base);
  if (!rows) return fail(rows.error());

  TrackerStatus s;
  s.tracker = desc->name;
  s.upstream_phase = desc->upstream_phase;
  s.downstream_phase = desc->downstream_phase;
  s.date = date;
  s.expected = desc->expected;
  std::sort(s.expected.begin(), s.expected.end());
  std::map<int, WaveStatus> waves;
  // Latest completion per processor: (time, status).
  std::map<std::string, std::pair<TimePoint, CompletionStatus>, std::less<>> latest;
  std::set<std::string> unexpected;
  auto note = [&](const std::string& processor, const internal::WaveRecord& r) {
    if (!s.first_completion || r.first_at < *s.first_completion) s.first_completion = r.first_at;
    if (!s.last_completion || r.last_at > *s.last_completion) s.last_completion = r.last_at;
    auto& l = latest[processor];
    if (l.first <= r.last_at) l = {r.last_at, r.status};
  };
  for (const auto& row : *rows) {
    std::string_view rest = std::string_view(row.key).substr(base.size());
    if (rest.starts_with("decision/w")) {
      auto d = TrackerKeys::parse_wave_number(rest.substr(10));
      if (!d) continue;
      auto& w = waves[*d];
      w.number = *d;
      w.decided = true;
      auto decision = internal::decode_decision(row.value);
      if (!decision) return fail(ErrorCode::kDataLoss, "row {} is not valid JSON", row.key);
      w.trigger_id = std::move(decision->trigger_id);
      w.partial = decision->partial_readiness;
      w.reason = std::move(decision->reason);
      w.trigger_status = std::move(decision->status);
      w.triggered_at = decision->decided_at;
      w.run_processors = std::move(decision->run_processors);
    } else if (rest.starts_with("late/")) {
      auto r = internal::decode_record(row.value);
      if (!r) return fail(r.error().with("key", row.key));
      note(std::string(rest.substr(5)), *r);
    } else if (rest.starts_with("w")) {
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos) continue;
      auto n = TrackerKeys::parse_wave_number(rest.substr(1, slash - 1));
      if (!n) continue;
      auto& w = waves[*n];
      w.number = *n;
      const std::string_view what = rest.substr(slash + 1);
      if (what == "first") {
        if (auto t = internal::decode_time(row.value)) w.first_completion = *t;
      } else if (what == "alerted") {
        w.below_threshold_alerted = true;
      } else if (what.starts_with("done/")) {
        auto r = internal::decode_record(row.value);
        if (!r) return fail(r.error().with("key", row.key));
        const std::string processor(what.substr(5));
        w.processors.push_back(processor);
        merge_into(w.entities_changed, r->changes);
        note(processor, *r);
      } else if (what.starts_with("unexpected/")) {
        auto r = internal::decode_record(row.value);
        if (!r) return fail(r.error().with("key", row.key));
        unexpected.insert(std::string(what.substr(11)));
        if (!s.first_completion || r->first_at < *s.first_completion) s.first_completion = r->first_at;
        if (!s.last_completion || r->last_at > *s.last_completion) s.last_completion = r->last_at;
      }
    }
  }
  for (auto& [n, w] : waves)
    if (w.decided || !w.processors.empty() || w.first_completion || w.below_threshold_alerted)
      s.waves.push_back(std::move(w));
  for (const auto& p : s.expected) {
    auto it = latest.find(p);
    if (it == latest.end())
      s.missing.push_back(p);
    else if (it->second.second == CompletionStatus::kFailed)
      s.failed.push_back(p);
    else
      s.done.push_back(p);
  }
  s.unexpected.assign(unexpected.begin(), unexpected.end());
  return s;
}

}  // namespace pipeline::inline v0
