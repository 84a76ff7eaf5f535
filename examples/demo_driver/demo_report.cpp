// The demo report's edges: the JSON summary and the text for a person.
#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "demo_driver/demo_driver.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "pipeline/core/timestamp.hpp"

namespace demo {

std::string wave_label(int wave) { return wave == 0 ? "full" : "injury_update"; }

namespace {

using nlohmann::json;

json time_json(const std::optional<pipeline::TimePoint>& t) {
  return t ? json(pipeline::format_rfc3339(*t)) : json();
}

json seconds_json(const std::optional<pipeline::Duration>& d) {
  return d ? json(std::chrono::duration<double>(*d).count()) : json();
}

// Ids per kind as an object; null for "everything".
json changes_json(const pipeline::ChangedEntities& changes) {
  if (!changes) return json();
  json out = json::object();
  for (const auto& [kind, ids] : *changes) out[kind] = ids;
  return out;
}

json to_json(const RunEntry& r) {
  json e{{"processor", r.processor},
         {"outcome", std::string(pipeline::to_string(r.outcome))},
         {"full", r.full},
         {"entities_processed", r.entities_processed},
         {"wall_ms", r.wall_ms},
         {"records", r.records},
         {"entities", r.entities}};
  if (r.detail) e["detail"] = *r.detail;
  if (r.completion) {
    e["execution_id"] = r.completion->execution_id;
    e["wave"] = r.completion->wave;
    e["status"] = std::string(pipeline::to_string(r.completion->status));
  }
  if (r.entity_ids) e["entity_ids"] = changes_json(r.entity_ids);
  return e;
}

json to_json(const TriggerReport& t) {
  json out{{"trigger_id", t.trigger_id},
           {"reason", t.reason},
           {"status", t.status},
           {"upstream_processors", t.upstream_processors},
           {"run_processors", t.run_processors},
           {"first_completion", time_json(t.first_completion)},
           {"decided_at", time_json(t.decided_at)},
           {"latency_seconds", seconds_json(t.latency())},
           {"deliveries_seen", t.deliveries_seen}};
  if (t.seen) {
    out["is_incremental"] = t.seen->is_incremental;
    out["entities_changed"] = changes_json(t.seen->entities_changed);
  }
  return out;
}

json to_json(const PhaseReport& p) {
  json runs = json::array();
  for (const auto& r : p.runs) runs.push_back(to_json(r));
  json out{{"phase", p.phase},
           {"runs", std::move(runs)},
           {"completed", p.completed},
           {"records", p.records},
           {"entity_runs", p.entity_runs}};
  if (p.tracked) out["trigger"] = p.trigger ? to_json(*p.trigger) : json();
  return out;
}

json to_json(const WaveReport& w) {
  json phases = json::array();
  for (const auto& p : w.phases) phases.push_back(to_json(p));
  json out{{"wave", w.wave},
           {"label", wave_label(w.wave)},
           {"started_at", pipeline::format_rfc3339(w.started_at)},
           {"phases", std::move(phases)}};
  if (w.update)
    out["update"] = {{"player", w.update->player_id},
                     {"team", w.update->team},
                     {"before", std::string(nba::to_string(w.update->before))},
                     {"after", std::string(nba::to_string(w.update->after))},
                     {"reason", w.update->reason}};
  return out;
}

json to_json(const TraceHop& h) {
  return {{"phase", h.phase},
          {"processor", h.processor},
          {"execution_id", h.execution_id},
          {"correlation_id", h.correlation_id},
          {"traceparent", h.traceparent},
          {"trace_id", h.trace_id},
          {"trace_links", h.trace_links}};
}

json to_json(const PhaseWork& w) {
  json out{{"full", w.full}};
  if (w.injury_update) {
    out["injury_update"] = *w.injury_update;
    out["reduction_pct"] = w.reduction_pct ? json(*w.reduction_pct) : json();
  }
  return out;
}

json to_json(const Phase5Job& j) {
  return {{"source", j.source},
          {"at", pipeline::format_rfc3339(j.at)},
          {"local", j.local},
          {"game_date", j.game_date ? json(j.game_date->to_string()) : json()},
          {"outcome", j.outcome},
          {"message", j.message}};
}

json to_json(const StatusCheck& c) {
  return {{"at", pipeline::format_rfc3339(c.at)},
          {"local", c.local},
          {"outcome", c.outcome},
          {"coverage", c.coverage},
          {"done", c.done},
          {"expected", c.expected},
          {"message", c.message}};
}

json to_json(const Phase5Report& p) {
  json jobs = json::array();
  for (const auto& j : p.jobs) jobs.push_back(to_json(j));
  json alerts = json::array();
  for (const auto& a : p.alerts)
    alerts.push_back({{"severity", std::string(pipeline::to_string(a.severity))}, {"key", a.key}, {"message", a.message}});
  return {{"zone", p.zone},
          {"lost_phase4_event", p.lost_phase4_event},
          {"batch_id", p.batch_id},
          {"correlation_id", p.correlation_id},
          {"batches", p.batches},
          {"triggered_by", p.triggered_by ? json(std::string(pipeline::to_string(*p.triggered_by))) : json()},
          {"state", std::string(pipeline::to_string(p.state))},
          {"jobs", std::move(jobs)},
          {"predictions", p.predictions},
          {"prediction_versions", p.prediction_versions},
          {"expected", p.expected},
          {"done", p.done},
          {"coverage", p.coverage},
          {"status_check", p.status_check ? to_json(*p.status_check) : json()},
          {"batch_version", p.batch_version},
          {"version_after_update", p.update ? json(p.update->version) : json()},
          {"update", p.update ? json{{"players", p.update->players},
                                     {"count", p.update->players.size()},
                                     {"version", p.update->version}}
                              : json()},
          {"phase4_completed_at", time_json(p.phase4_completed_at)},
          {"completed_at", time_json(p.completed_at)},
          {"phase4_to_phase5_latency_seconds", seconds_json(p.phase4_to_phase5_latency)},
          {"completions", p.completions},
          {"alerts", std::move(alerts)}};
}

json to_json(const FaultSummary& f) {
  json decisions = json::object();
  for (const auto& [tracker, waves] : f.decisions) {
    json per = json::object();
    for (const auto& [wave, n] : waves) per[std::to_string(wave)] = n;
    decisions[tracker] = std::move(per);
  }
  return {{"seed", f.seed},
          {"injected",
           {{"dropped", f.injected.dropped},
            {"duplicated", f.injected.duplicated},
            {"publish_failures", f.injected.publish_failures},
            {"deliveries", f.injected.deliveries},
            {"publishes", f.injected.publishes}}},
          {"redeliveries", f.injected.redelivered},
          {"relay_rounds_retried", f.relay_rounds_retried},
          {"failed_once", {{"what", f.failed_once}, {"attempts", f.failed_once_attempts}}},
          {"poison", {{"topic", f.poison_topic}, {"id", f.poison_id}, {"dead_lettered", f.poison_dead_lettered}}},
          {"dlq_entries", f.dlq_entries},
          {"dlq_alerts", {{"delivered", f.dlq_alerts_delivered}, {"suppressed", f.dlq_alerts_suppressed}}},
          {"decisions", std::move(decisions)},
          {"trigger_deliveries", f.trigger_deliveries},
          {"max_runs_per_processor_wave", f.max_runs_per_processor_wave},
          {"max_runs_processor", f.max_runs_processor}};
}

// "2025-11-18T11:00:00Z" -> "11:00:00Z"; "-" for an unknown instant.
std::string clock_time(const std::optional<pipeline::TimePoint>& instant) {
  if (!instant) return "-";
  const auto s = pipeline::format_rfc3339(*instant);
  return s.size() > 11 ? s.substr(11) : s;
}

std::string entities_text(const std::map<std::string, std::int64_t>& entities) {
  std::string out;
  for (const auto& [kind, n] : entities) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, kind);
  return out.empty() ? "-" : out;
}

std::string changed_text(const pipeline::ChangedEntities& changed) {
  if (!changed) return "all entities (full)";
  std::string out;
  for (const auto& [kind, list] : *changed)
    out += fmt::format("{}{} {}", out.empty() ? "" : "; ", kind,
                       list.size() <= 3 ? fmt::format("[{}]", fmt::join(list, ", ")) : fmt::format("x{}", list.size()));
  return out.empty() ? "nothing" : out;
}

std::string wave_text(const WaveReport& w) {
  std::string out = "\n";
  if (!w.update)
    out += fmt::format("== Wave {}: full day, started {} ({} daily schedule)\n", w.wave, clock_time(w.started_at),
                       nba_services::zoned_clock_text(w.started_at, nba_services::kEasternZone));
  else
    out += fmt::format("== Wave {}: mid-day injury update, started {} ({}): {} ({}) {} -> {}\n", w.wave,
                       clock_time(w.started_at), nba_services::zoned_clock_text(w.started_at, nba_services::kEasternZone),
                       w.update->player_id, w.update->team, nba::to_string(w.update->before),
                       nba::to_string(w.update->after));
  for (const auto& ph : w.phases) {
    if (ph.tracked && !ph.trigger) {
      out += fmt::format("  -> {} trigger: not decided in this wave\n", ph.phase);
    } else if (ph.trigger) {
      const auto& t = *ph.trigger;
      const auto latency = t.latency();
      out += fmt::format("  -> {} trigger {} decided at {} ({}, {:.0f} s after the wave's first completion), "
                         "delivered {}x; runs [{}]; changed: {}\n",
                         ph.phase, t.trigger_id, clock_time(t.decided_at), t.reason,
                         latency ? std::chrono::duration<double>(*latency).count() : 0.0, t.deliveries_seen,
                         fmt::join(t.run_processors, ", "),
                         changed_text(t.seen ? t.seen->entities_changed : pipeline::ChangedEntities()));
    }
    out += fmt::format("  {:<18} {} runs, {} records, {} entity-runs\n", ph.phase, ph.completed, ph.records,
                       ph.entity_runs);
    for (const auto& r : ph.runs) {
      const std::string what = r.entity_ids ? changed_text(r.entity_ids) : entities_text(r.entities);
      out += fmt::format("      {:<36} {:<12} {:>5} rec  {:<28} {}  {:6.2f} ms\n", r.processor,
                         pipeline::to_string(r.outcome), r.records, what, r.full ? "full     " : "selective", r.wall_ms);
    }
  }
  return out;
}

std::string work_text(const std::map<std::string, PhaseWork>& work) {
  std::string out = "\n== Work (entity-runs: entities each processor wrote, summed per phase)\n";
  for (const auto& [phase, w] : work) {
    // Scrapers fetch files, not entities: they have no entity-runs to compare.
    if (!w.injury_update || w.full == 0) continue;
    out += fmt::format("  {:<18} full day {:>5}   injury update {:>3}   {}\n", phase, w.full, *w.injury_update,
                       w.reduction_pct ? fmt::format("{:.1f}% less work", *w.reduction_pct) : std::string());
  }
  return out;
}

std::string trace_text(const std::map<std::string, std::vector<TraceHop>>& trace) {
  std::string out;
  for (const auto& [label, hops] : trace) {
    out += fmt::format("\n== Trace of the {} wave: scheduler -> Phase 4 trigger\n", label);
    for (const auto& h : hops)
      out += fmt::format("  {:<18} {:<36} exec {}  corr {}\n  {:<18} traceparent {}  links [{}]\n", h.phase,
                         h.processor, h.execution_id, h.correlation_id, "", h.traceparent, fmt::join(h.trace_links, ", "));
  }
  return out;
}

// `day_start`: when the day's first wave started (06:00 ET; just before 06:00 PT in real
// time, `real_time`, where the 14:00 ET update is sent in the morning).
std::string phase5_text(const Phase5Report& p, std::optional<pipeline::TimePoint> day_start, bool real_time) {
  const std::string start =
      day_start ? fmt::format("{} = {} = {}", clock_time(day_start),
                              nba_services::zoned_clock_text(*day_start, nba_services::kEasternZone),
                              nba_services::zoned_clock_text(*day_start, p.zone))
                : std::string("-");
  std::string out = fmt::format(
      "\n== Phase 5: predictions (scheduled jobs at Pacific times, {}; the day starts at {},\n"
      "   so the event path predicts before the 06:00 PT backup{}){}\n",
      p.zone, start, real_time ? "" : ", and the 14:00 ET update comes after 07:00 PT",
      p.lost_phase4_event ? "\n   variant: the Phase 4->5 event is LOST" : "");
  for (const auto& j : p.jobs)
    out += fmt::format("  {:<12} {} ({:<9}) -> {:<16} {}\n", j.source, clock_time(j.at), j.local, j.outcome, j.message);
  out += fmt::format("  batch {} triggered by {} ({} batch row{}): {} prediction rows, version {}, correlation {}\n",
                     p.batch_id, p.triggered_by ? pipeline::to_string(*p.triggered_by) : "-", p.batches,
                     p.batches == 1 ? "" : "s", p.predictions, p.batch_version,
                     p.correlation_id.empty() ? "-" : p.correlation_id);
  if (p.status_check)
    out += fmt::format("  07:00 PT status check: {} of {} players predicted, coverage {:.1f}% ({})\n",
                       p.status_check->done, p.status_check->expected, 100.0 * p.status_check->coverage,
                       p.status_check->outcome);
  out += fmt::format("  Phase 4 complete {} -> predictions complete {}: latency {} (Go/No-Go < 10 min)\n",
                     clock_time(p.phase4_completed_at), clock_time(p.completed_at),
                     p.phase4_to_phase5_latency
                         ? fmt::format("{:.0f} s{}", std::chrono::duration<double>(*p.phase4_to_phase5_latency).count(),
                                       real_time ? "" : " simulated")
                         : std::string("unknown"));
  if (p.update)
    out += fmt::format("  injury update: re-predicted {} player{} [{}] as version {}; {} versioned rows kept as history\n",
                       p.update->players.size(), p.update->players.size() == 1 ? "" : "s",
                       fmt::join(p.update->players, ", "), p.update->version, p.prediction_versions);
  out += fmt::format("  end of day: {} of {} predicted ({:.1f}% coverage), {} predictions-complete message{}, {} alert{}\n",
                     p.done, p.expected, 100.0 * p.coverage, p.completions, p.completions == 1 ? "" : "s",
                     p.alerts.size(), p.alerts.size() == 1 ? "" : "s");
  for (const auto& a : p.alerts)
    out += fmt::format("    alert {} {}: {}\n", pipeline::to_string(a.severity), a.key, a.message);
  return out;
}

std::string faults_text(const FaultSummary& f) {
  const auto& in = f.injected;
  std::string out = fmt::format(
      "\n== Faults injected (seed {}): {} of {} deliveries dropped, {} duplicated, {} of {} publishes failed\n", f.seed,
      in.dropped, in.deliveries, in.duplicated, in.publish_failures, in.publishes);
  out += fmt::format("  redeliveries {}; relay rounds retried after a failed publish {}\n", in.redelivered,
                     f.relay_rounds_retried);
  out += fmt::format("  failed once: {} -> {} attempts (retried through redelivery)\n", f.failed_once,
                     f.failed_once_attempts);
  out += fmt::format("  poison message {} on {}: {}; DLQ rows {}, alerts {} raised / {} rate-limited\n", f.poison_id,
                     f.poison_topic, f.poison_dead_lettered ? "dead-lettered and recorded" : "NOT in the DLQ",
                     f.dlq_entries, f.dlq_alerts_delivered, f.dlq_alerts_suppressed);
  for (const auto& [tracker, waves] : f.decisions) {
    std::string per;
    for (const auto& [w, n] : waves) per += fmt::format("{}wave {}: {}", per.empty() ? "" : ", ", w, n);
    out += fmt::format("  decisions {:<18} {}\n", tracker, per);
  }
  int max_deliveries = 0;
  for (const auto& [topic, ids] : f.trigger_deliveries)
    for (const auto& [id, n] : ids) max_deliveries = std::max(max_deliveries, n);
  out += fmt::format("  each trigger published at most {}x; max completed runs of one processor in one wave: {} ({})\n",
                     max_deliveries, f.max_runs_per_processor_wave, f.max_runs_processor);
  return out;
}

json to_json(const DistributedSummary& d) {
  json processes = json::array();
  for (const auto& p : d.processes)
    processes.push_back({{"role", p.role},
                         {"pids", p.pids},
                         {"deliveries", p.deliveries},
                         {"redeliveries", p.redeliveries},
                         {"restarts", p.restarts},
                         {"kills", p.kills},
                         {"exit_code", p.exit_code ? json(*p.exit_code) : json()}});
  json decisions = json::object();
  for (const auto& [topic, waves] : d.decisions)
    for (const auto& [w, n] : waves) decisions[topic][std::to_string(w)] = n;
  return {{"transport", d.transport},
          {"processes", std::move(processes)},
          {"kills", d.kills},
          {"restarts", d.restarts},
          {"redeliveries", d.redeliveries},
          {"provisioned", d.provisioned},
          {"poison", d.poison_id.empty() ? json() : json{{"id", d.poison_id}, {"dead_lettered", d.poison_dead_lettered}}},
          {"dlq_entries", d.dlq_entries},
          {"dlq_alerts", d.dlq_alerts},
          {"decisions", std::move(decisions)},
          {"max_successes_per_processor_wave", d.max_successes_per_processor_wave},
          {"max_successes_processor", d.max_successes_processor},
          {"unacked", d.unacked},
          {"outbox_unsent", d.outbox_unsent},
          {"undelivered", d.undelivered}};
}

std::string distributed_text(const DistributedSummary& d) {
  std::string out = fmt::format("\n== Processes ({}): {} killed, {} restarted, {} redeliveries\n", d.transport, d.kills,
                                d.restarts, d.redeliveries);
  for (const auto& p : d.processes) {
    std::string pids;
    for (int pid : p.pids) pids += fmt::format("{}{}", pids.empty() ? "" : ",", pid);
    out += fmt::format("  {:<22} pid {:<18} {:>4} deliveries ({} redelivered), {} kill{}, {} restart{}, exit {}\n", p.role,
                       pids, p.deliveries, p.redeliveries, p.kills, p.kills == 1 ? "" : "s", p.restarts,
                       p.restarts == 1 ? "" : "s", p.exit_code ? std::to_string(*p.exit_code) : "-");
  }
  int max_ids = 0;
  for (const auto& [topic, waves] : d.decisions)
    for (const auto& [w, n] : waves) max_ids = std::max(max_ids, n);
  out += fmt::format("  {} subscriptions provisioned; each wave's trigger decided {}x; max successful runs of one "
                     "processor in one wave: {} ({})\n",
                     d.provisioned, max_ids, d.max_successes_per_processor_wave, d.max_successes_processor);
  if (!d.poison_id.empty())
    out += fmt::format("  poison message {}: {}; DLQ rows {}, alerts {}\n", d.poison_id,
                       d.poison_dead_lettered ? "dead-lettered and recorded" : "NOT in the DLQ", d.dlq_entries,
                       d.dlq_alerts);
  out += fmt::format("  left at the end: {} unacknowledged entr{}, {} unsent outbox row{}, {} undelivered trigger{}\n",
                     d.unacked.size(), d.unacked.size() == 1 ? "y" : "ies", d.outbox_unsent,
                     d.outbox_unsent == 1 ? "" : "s", d.undelivered.size(), d.undelivered.size() == 1 ? "" : "s");
  return out;
}

}  // namespace

json to_json(const DemoReport& r) {
  json waves = json::array();
  for (const auto& w : r.waves) waves.push_back(to_json(w));
  json trackers = json::object();
  for (const auto& [name, status] : r.trackers) trackers[name] = status.to_json();
  json trace = json::object();
  for (const auto& [label, hops] : r.trace) {
    json list = json::array();
    for (const auto& h : hops) list.push_back(to_json(h));
    trace[label] = std::move(list);
  }
  json work = json::object();
  for (const auto& [phase, w] : r.work) work[phase] = to_json(w);
  json tables = json::object();
  for (const auto& [table, n] : r.tables) tables[table] = n ? json(*n) : json();
  json out{{"date", r.date.to_string()},
           {"store", r.store},
           {"warehouse", r.warehouse.string()},
           {"data_dir", r.data_dir.string()},
           {"finished_at", pipeline::format_rfc3339(r.finished_at)},
           {"waves", std::move(waves)},
           {"trackers", std::move(trackers)},
           {"trace", std::move(trace)},
           {"work", std::move(work)},
           {"runs_total", r.runs_total},
           {"tables", std::move(tables)},
           {"phase5", to_json(r.phase5)}};
  if (r.faults) out["faults"] = to_json(*r.faults);
  if (r.distributed) out["distributed"] = to_json(*r.distributed);
  return out;
}

std::string render_text(const DemoReport& r) {
  std::string out;
  out += r.distributed ? fmt::format("pipeline demo: game day {} through Phases 1-5, one process per role, real time, {}\n",
                                     r.date, r.distributed->transport)
                       : fmt::format("pipeline demo: game day {} through Phases 1-5, simulated time, memory transport\n",
                                     r.date);
  out += fmt::format("  state store  {}\n  warehouse    {}   (sqlite3 it: raw, analytics and precompute tables)\n"
                     "  scraped     {}\n",
                     r.store, r.warehouse.string(), r.data_dir.string());
  for (const auto& w : r.waves) out += wave_text(w);
  out += work_text(r.work);
  out += trace_text(r.trace);
  const bool real_time = r.distributed.has_value();
  out += phase5_text(r.phase5, r.waves.empty() ? std::nullopt : std::optional(r.waves.front().started_at), real_time);
  if (r.faults) out += faults_text(*r.faults);
  if (r.distributed) out += distributed_text(*r.distributed);
  std::uint64_t runs = 0;
  for (const auto& [p, n] : r.runs_total) runs += n;
  out += fmt::format("\n{} processing steps ran in this invocation; finished at {}{}.\n", runs,
                     pipeline::format_rfc3339(r.finished_at), real_time ? "" : " simulated");
  return out;
}

}  // namespace demo
