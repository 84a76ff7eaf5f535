#include "demo_driver/observed.hpp"

#include <algorithm>
#include <utility>

#include "phase5_coordinator/phase5.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/trace_context.hpp"

namespace demo {
namespace {

// A tracker's state, under the phase it triggers.
struct Tracked {
  pipeline::TrackerStatus status;
  std::string trigger_topic;
};

// The tracker's decision for wave `n`, with what the watcher saw of its trigger.
std::optional<TriggerReport> trigger_report(const Observed& seen, const Tracked& tracker, int n) {
  for (const auto& ws : tracker.status.waves) {
    if (ws.number != n || !ws.decided) continue;
    TriggerReport t{.trigger_id = ws.trigger_id,
                    .reason = ws.reason,
                    .status = ws.trigger_status,
                    .upstream_processors = ws.processors,
                    .run_processors = ws.run_processors,
                    .first_completion = ws.first_completion,
                    .decided_at = ws.triggered_at};
    const auto list = seen.triggers.find(tracker.trigger_topic);
    if (list == seen.triggers.end()) return t;
    for (const auto& m : list->second) {
      if (m.execution_id != ws.trigger_id) continue;
      ++t.deliveries_seen;
      if (!t.seen) t.seen = SeenTrigger{m.is_incremental, m.entities_changed};
    }
    return t;
  }
  return std::nullopt;
}

// One phase of wave `n`: its runs, their totals and (Phases 3–4) its trigger.
PhaseReport phase_report(const Observed& seen, const std::map<std::string, Tracked>& by_phase, int n,
                         const std::string& phase) {
  PhaseReport ph{.phase = phase};
  if (auto wave = seen.runs.find(n); wave != seen.runs.end())
    if (auto it = wave->second.find(phase); it != wave->second.end()) ph.runs = it->second;
  for (const auto& r : ph.runs) {
    if (r.outcome != pipeline::RunOutcome::kCompleted) continue;
    ++ph.completed;
    ph.records += r.records;
    for (const auto& [kind, k] : r.entities) ph.entity_runs += k;
  }
  if (auto t = by_phase.find(phase); t != by_phase.end()) {
    ph.tracked = true;
    ph.trigger = trigger_report(seen, t->second, n);
  }
  return ph;
}

// Entity-runs per phase and wave, and how much less the update did.
std::map<std::string, PhaseWork> work_report(const std::vector<WaveReport>& waves) {
  std::map<std::string, PhaseWork> work;
  for (const auto& w : waves)
    for (const auto& ph : w.phases) {
      auto& per = work[ph.phase];
      if (w.wave == 0)
        per.full = ph.entity_runs;
      else
        per.injury_update = ph.entity_runs;
    }
  for (auto& [phase, per] : work)
    if (per.injury_update && per.full > 0)
      per.reduction_pct = 100.0 * (1.0 - static_cast<double>(*per.injury_update) / static_cast<double>(per.full));
  return work;
}

// Traces: from the scheduler to each wave's (first seen) Phase 4 trigger.
std::map<std::string, std::vector<TraceHop>> trace_report(const Observed& seen, const std::string& phase4_trigger_topic) {
  std::map<std::string, std::vector<TraceHop>> trace;
  const auto list = seen.triggers.find(phase4_trigger_topic);
  if (list == seen.triggers.end()) return trace;
  for (const auto& m : list->second) {
    const std::string label = wave_label(m.metadata->value("wave", 0));
    if (!trace.contains(label)) trace[label] = seen.trace_back(m);
  }
  return trace;
}

std::int64_t single_int(nba::Warehouse& wh, const std::string& sql, const std::vector<nba::Value>& params) {
  auto rows = wh.query(sql, params);
  return rows && !rows->empty() ? nba::as_int(rows->at(0, "n")) : 0;
}

// The injury update's re-predictions: the players of the versions after the batch's.
pipeline::Result<std::optional<PredictionUpdate>> prediction_update(const Phase5Sources& in, pipeline::CalendarDate date,
                                                                    const std::vector<pipeline::BatchInfo>& batches,
                                                                    std::int64_t batch_version) {
  auto incrementals = in.coordinator.incrementals(date);
  if (!incrementals) return pipeline::fail(incrementals.error());
  // The date's latest version (incremental re-predictions take the next one).
  std::int64_t latest_version = 0;
  for (const auto& b : batches) latest_version = std::max(latest_version, b.version);
  for (const auto& i : *incrementals) latest_version = std::max(latest_version, i.version);
  if (latest_version <= batch_version) return std::optional<PredictionUpdate>();
  auto rows = in.warehouse.query(
      "SELECT player_lookup FROM player_prop_prediction_versions WHERE game_date = ? AND system_id = ? AND version > ? "
      "ORDER BY player_lookup",
      {date.to_string(), std::string(nba::phase5::kSystemId), batch_version});
  if (!rows) return pipeline::fail(rows.error());
  PredictionUpdate update{.version = latest_version};
  for (std::size_t i = 0; i < rows->size(); ++i) update.players.push_back(nba::as_text(rows->at(i, "player_lookup")));
  return std::optional(std::move(update));
}

}  // namespace

const std::vector<std::string>& summary_phases() {
  static const std::vector<std::string> kPhases{"phase1_scrapers", "phase2_raw", "phase3_analytics",
                                                "phase4_precompute"};
  return kPhases;
}

std::optional<pipeline::Message> Observed::record(const std::string& topic, bool is_trigger, std::string_view payload) {
  auto m = pipeline::decode_message(payload);
  if (!m) return std::nullopt;
  if (is_trigger) triggers[topic].push_back(*m);
  messages.emplace(m->execution_id, *m);
  return std::move(*m);
}

std::vector<TraceHop> Observed::trace_back(const pipeline::Message& last) const {
  std::vector<const pipeline::Message*> chain{&last};
  while (chain.size() < 16 && !chain.back()->trace_links.empty()) {
    auto it = messages.find(chain.back()->trace_links.front().execution_id);
    if (it == messages.end()) break;
    chain.push_back(&it->second);
  }
  std::vector<TraceHop> hops;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const auto& m = **it;
    std::vector<std::string> links;
    for (const auto& l : m.trace_links) links.push_back(l.execution_id);
    auto tp = pipeline::TraceContext::parse(m.traceparent);
    hops.push_back({m.phase, m.processor_name, m.execution_id, m.correlation_id, m.traceparent,
                    tp ? tp->trace_id : "", std::move(links)});
  }
  return hops;
}

std::map<std::string, std::optional<std::int64_t>> table_counts(nba::Warehouse& wh, pipeline::CalendarDate date) {
  std::map<std::string, std::optional<std::int64_t>> out;
  for (const auto& t : nba::warehouse_tables()) {
    if (t.phase == "predictions") continue;
    auto n = wh.count_rows(t.name, date);
    out[t.name] = n ? std::optional(*n) : std::nullopt;
  }
  return out;
}

pipeline::Status fill_waves(DemoReport& report, std::vector<WaveReport> waves, const Observed& seen,
                            const std::vector<const pipeline::CompletionTracker*>& trackers,
                            const std::string& phase4_trigger_topic) {
  std::map<std::string, Tracked> by_phase;
  for (const auto* t : trackers) {
    auto s = t->status(report.date);
    if (!s) return pipeline::fail(s.error());
    report.trackers[t->options().name] = *s;
    by_phase[t->options().downstream_phase] = {std::move(*s), t->options().trigger_topic};
  }
  for (auto& w : waves)
    for (const auto& phase : summary_phases()) w.phases.push_back(phase_report(seen, by_phase, w.wave, phase));
  report.work = work_report(waves);
  report.waves = std::move(waves);
  report.trace = trace_report(seen, phase4_trigger_topic);
  return pipeline::ok();
}

pipeline::Result<Phase5Report> phase5_report(const Phase5Sources& in, pipeline::CalendarDate date,
                                             std::int64_t batch_version) {
  auto report = in.coordinator.status(date);
  if (!report) return pipeline::fail(report.error());
  auto batches = in.coordinator.batches(date);
  if (!batches) return pipeline::fail(batches.error());
  auto update = prediction_update(in, date, *batches, batch_version);
  if (!update) return pipeline::fail(update.error());
  const std::string d = date.to_string();
  const std::string sys(nba::phase5::kSystemId);
  Phase5Report p{
      .zone = in.zone,
      .batch_id = report->batch_id,
      .batches = batches->size(),
      .triggered_by = report->triggered_by,
      .state = report->state,
      .predictions = single_int(in.warehouse,
                                "SELECT COUNT(*) AS n FROM player_prop_predictions WHERE game_date = ? AND system_id = ?",
                                {d, sys}),
      .prediction_versions = single_int(
          in.warehouse,
          "SELECT COUNT(*) AS n FROM player_prop_prediction_versions WHERE game_date = ? AND system_id = ?", {d, sys}),
      .expected = report->expected,
      .done = report->done,
      .coverage = report->completion_rate,
      .batch_version = batch_version,
      .update = std::move(*update),
      .phase4_completed_at = report->phase4_completed_at,
      .completed_at = report->completed_at,
      .phase4_to_phase5_latency = report->phase4_to_phase5_latency,
      .alerts = in.alerts};
  for (const auto& [id, m] : in.seen.messages) {
    if (m.processor_name != in.coordinator.options().processor_name) continue;
    ++p.completions;
    if (m.execution_id == p.batch_id) p.correlation_id = m.correlation_id;
  }
  return p;
}

}  // namespace demo
