#include "demo_driver/demo_driver.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "nba_service_common/service.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "phase3_analytics/analytics_processors.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/mocks/fault_injecting_transport.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/schedule/daily_schedule.hpp"

namespace demo {
namespace {

using nlohmann::json;
const std::vector<std::string> kPhases{"phase1_scrapers", "phase2_raw", "phase3_analytics", "phase4_precompute"};

// 06:00 US Eastern (standard time) on the game date: the daily schedule starts Phase 1.
pipeline::TimePoint morning(pipeline::CalendarDate date) {
  return pipeline::TimePoint(date.sys_days()) + std::chrono::hours(11);
}

pipeline::OutboxRelayOptions relay_options() {
  pipeline::OutboxRelayOptions o;
  o.owner = "demo-relay";
  return o;
}

// One processor run as the summary shows it.
json run_entry(const pipeline::Processor& p, const pipeline::RunReport& r, double wall_ms) {
  json e{{"processor", p.config().name},
         {"outcome", std::string(pipeline::to_string(r.outcome))},
         {"full", r.full},
         {"entities_processed", r.entities_processed},
         {"wall_ms", wall_ms},
         {"records", 0},
         {"entities", json::object()}};
  if (!r.detail.empty()) e["detail"] = r.detail;
  if (r.completion) {
    const auto& c = *r.completion;
    e["execution_id"] = c.execution_id;
    e["wave"] = c.metadata->value("wave", 0);
    e["records"] = c.record_count;
    e["status"] = std::string(pipeline::to_string(c.status));
    if (c.metadata->contains("entities")) e["entities"] = c.metadata["entities"];
    if (c.entities_changed) {
      std::size_t n = 0;
      for (const auto& [kind, ids] : *c.entities_changed) n += ids.size();
      if (n <= 10) {
        json ids = json::object();
        for (const auto& [kind, list] : *c.entities_changed) ids[kind] = list;
        e["entity_ids"] = ids;
      }
    }
  }
  return e;
}

std::int64_t entity_total(const json& entities) {
  std::int64_t n = 0;
  for (const auto& [k, v] : entities.items()) n += v.get<std::int64_t>();
  return n;
}

pipeline::mocks::FaultInjectionConfig fault_config(const DemoOptions& o) {
  pipeline::mocks::FaultInjectionConfig c;
  c.seed = o.fault_seed;
  if (o.inject_faults) {
    c.drop_delivery = 0.05;
    c.duplicate_delivery = 0.05;
    c.fail_publish = 0.10;
  }
  return c;
}

// The fault variant's failing step: the first prediction fails once (the worker nacks,
// the transport redelivers, the retry succeeds).
class FailOnceModel final : public pipeline::PredictionModel {
 public:
  FailOnceModel(pipeline::PredictionModel& inner, bool armed) : inner_(inner), armed_(armed) {}
  pipeline::Status predict(const pipeline::PredictionWork& w) override { return predict_all({w}).front(); }
  std::vector<pipeline::Status> predict_all(const std::vector<pipeline::PredictionWork>& work) override {
    std::vector<pipeline::Status> out(work.size(), pipeline::ok());
    std::vector<pipeline::PredictionWork> rest;  // what reaches the model, in one batch
    std::vector<std::size_t> rest_at;
    for (std::size_t i = 0; i < work.size(); ++i) {
      const auto& w = work[i];
      if (armed_ && failed_.empty()) {
        failed_ = w.entity;
        ++attempts_;
        out[i] = pipeline::fail(pipeline::ErrorCode::kUnavailable, "injected: the model failed once for {}", w.entity);
        continue;
      }
      if (!failed_.empty() && w.entity == failed_) ++attempts_;
      rest.push_back(w);
      rest_at.push_back(i);
    }
    if (rest.empty()) return out;
    auto stored = inner_.predict_all(rest);
    for (std::size_t j = 0; j < rest_at.size(); ++j) out[rest_at[j]] = std::move(stored[j]);
    return out;
  }
  const std::string& failed() const { return failed_; }
  int attempts() const { return attempts_; }

 private:
  pipeline::PredictionModel& inner_;
  bool armed_;
  std::string failed_;
  int attempts_ = 0;
};

// What the driver saw: runs per (wave, phase) and every message on the pipeline's topics.
struct Observed {
  std::map<int, std::map<std::string, json>> runs;  // wave -> phase -> [run]
  std::map<std::string, pipeline::Message> messages; // execution_id -> message
  std::map<std::string, std::vector<pipeline::Message>> triggers;  // topic -> triggers seen (with duplicates)
};

struct Demo {
  const DemoOptions& opt;
  pipeline::ManualClock clock{morning(opt.date)};
  pipeline::MemoryTransport transport{clock};  // watchers and the DLQ recorder use it directly
  pipeline::mocks::FaultInjectingTransport faulty{transport, fault_config(opt)};
  // What the services, trackers, relay and Phase 5 use: faulty in the fault variant.
  pipeline::Transport& bus = opt.inject_faults ? static_cast<pipeline::Transport&>(faulty) : transport;
  pipeline::MetricsRegistry metrics;
  pipeline::RunHistory history{*opt.store, clock};
  std::optional<nba::Season> owned_season;  // built by the demo unless the caller gave one
  const nba::Season& season = opt.season != nullptr ? *opt.season : owned_season.emplace();
  std::optional<nba::Warehouse> owned_warehouse;  // opened by the demo unless the caller gave one
  nba::Warehouse& warehouse;
  nba_services::WarehouseDependencySource source{warehouse};
  pipeline::DependencyChecker dependencies{clock, source};
  nba_services::ScrapedPayloads scraped;  // the day's scraped items (also in files with a data_dir)
  nba_services::ServiceContext ctx{*opt.store, clock,  history,      dependencies, bus,     warehouse,
                                   season,     opt.data_dir, &metrics, {},  &scraped};
  pipeline::OutboxRelay relay{*opt.store, bus, clock, relay_options()};
  // The trackers' store: counts each committed write of a decision row (the fault summary's "decisions").
  pipeline::mocks::CountingStateStore tracker_store{
      *opt.store, {.watch = [](std::string_view k) { return k.starts_with("tracker/") && k.find("/decision/w") != k.npos; }}};
  std::vector<pipeline::Alert> alerts_seen;
  pipeline::AlertManager alerts{
      clock, {std::make_shared<pipeline::CallbackAlertSink>([this](const pipeline::Alert& a) { alerts_seen.push_back(a); })}};
  Observed seen;
  std::vector<std::unique_ptr<pipeline::Subscription>> subs;
  std::unique_ptr<pipeline::CompletionTracker> to_phase3, to_phase4, to_phase5;
  // Phase 5 (destroyed in reverse order: the trigger's scheduler stops first).
  std::unique_ptr<nba::phase5::WarehousePhase5> phase5;
  std::unique_ptr<FailOnceModel> model;
  std::unique_ptr<pipeline::BatchCoordinator> coordinator;
  std::unique_ptr<pipeline::PredictionWorker> worker;
  std::unique_ptr<pipeline::HybridTrigger> hybrid;
  int lost_events = 0;
  pipeline::TimePoint lost_at{};
  std::unique_ptr<pipeline::DeadLetterRecorder> dlq;
  int publish_failures_seen = 0;  // relay rounds that hit a failed publish (retried)

  // `given` (the caller's warehouse) when not null, else `own`.
  Demo(const DemoOptions& o, std::optional<nba::Warehouse> own, nba::Warehouse* given)
      : opt(o), owned_warehouse(std::move(own)), warehouse(given != nullptr ? *given : *owned_warehouse) {}

  // Delivers what is deliverable; the prediction workers' deliveries of the round are
  // held, then stored in one batch (before the clock can move past their ack deadline).
  std::size_t deliver() { return transport.pump() + (worker ? worker->flush() : 0); }

  // Relays the outbox and delivers until nothing moves. When the pipeline is quiet the
  // coordinator checks the stored predictions once (completing a batch publishes its
  // completion message, so the loop goes on): once per quiet point, not per prediction,
  // because each check reads the ledger twice.
  // With faults, a quiet point may hide a dropped delivery (redelivered after its ack
  // deadline), a nacked one (after its backoff) or a leased outbox row whose publish
  // failed: the clock moves on by an ack deadline, twice, before the day is settled.
  pipeline::Status settle() {
    int quiet_steps = 0;
    for (int round = 0; round < 10000; ++round) {
      auto relayed = relay.drain();
      if (!relayed) {
        if (!opt.inject_faults || relayed.error().code != pipeline::ErrorCode::kUnavailable)
          return pipeline::fail(relayed.error());
        // The failed row (and the rest of its batch) stays pending under the relay's
        // lease: let the lease end on the clock, then the next round retries them.
        ++publish_failures_seen;
        (void)deliver();
        clock.advance(relay_options().lease);
        quiet_steps = 0;
        continue;
      }
      const std::size_t delivered = deliver();
      if (*relayed == 0 && delivered == 0) {
        if (coordinator) {
          auto completed = coordinator->note_progress(opt.date);
          if (!completed) return pipeline::fail(completed.error());
          if (*completed) continue;
        }
        if (opt.inject_faults) {
          auto pending = opt.store->pending_outbox();
          if (!pending) return pipeline::fail(pending.error());
          if (*pending > 0) {  // leased after a failure elsewhere (the coordinator's own relay call)
            clock.advance(relay_options().lease);
            continue;
          }
        }
        if (opt.inject_faults && quiet_steps < 2) {
          ++quiet_steps;
          clock.advance(pipeline::SubscriptionSettings{}.ack_deadline);
          continue;
        }
        return pipeline::ok();
      }
      quiet_steps = 0;
    }
    return pipeline::fail(pipeline::ErrorCode::kInternal, "the demo did not settle after 10000 rounds");
  }

  pipeline::Status watch(const std::string& topic, bool is_trigger) {
    auto sub = transport.subscribe({"demo-watch-" + topic, topic, {}}, [this, topic, is_trigger](pipeline::DeliveryPtr d) {
      if (auto m = pipeline::decode_message(d->payload())) {
        if (is_trigger) seen.triggers[topic].push_back(*m);
        seen.messages.emplace(m->execution_id, std::move(*m));
      }
      (void)d->ack();
    });
    if (!sub) return pipeline::fail(sub.error());
    subs.push_back(std::move(*sub));
    return pipeline::ok();
  }

  // Advances the clock to `until`, stopping at each Phase 5 job to let its work settle
  // (a retry must see the predictions of the backup before it).
  pipeline::Status advance_through(pipeline::TimePoint until) {
    while (hybrid) {
      auto next = hybrid->scheduler().armed();
      if (!next || next->at > until) break;
      clock.advance_to(next->at);
      PIPELINE_TRY(settle());
    }
    clock.advance_to(until);
    return settle();
  }

  pipeline::Status attach_tracker(pipeline::CompletionTracker& tracker, const std::string& topic) {
    auto sub = bus.subscribe({tracker.config().name + "-tracker-sub", topic, {}},
                                   [&tracker](pipeline::DeliveryPtr d) {
                                     auto m = pipeline::decode_message(d->payload());
                                     if (!m) {
                                       (void)d->nack(m.error().to_string());
                                       return;
                                     }
                                     auto r = tracker.record_completion(*m);
                                     if (r)
                                       (void)d->ack();
                                     else
                                       (void)d->nack(r.error().to_string());
                                   });
    if (!sub) return pipeline::fail(sub.error());
    subs.push_back(std::move(*sub));
    return pipeline::ok();
  }

  // The hops from the scheduler to `last`, following each message's first trace link.
  json trace_back(const pipeline::Message& last) const {
    std::vector<const pipeline::Message*> chain{&last};
    while (chain.size() < 16 && !chain.back()->trace_links.empty()) {
      auto it = seen.messages.find(chain.back()->trace_links.front().execution_id);
      if (it == seen.messages.end()) break;
      chain.push_back(&it->second);
    }
    json hops = json::array();
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const auto& m = **it;
      json links = json::array();
      for (const auto& l : m.trace_links) links.push_back(l.execution_id);
      auto tp = pipeline::TraceContext::parse(m.traceparent);
      hops.push_back({{"phase", m.phase},
                      {"processor", m.processor_name},
                      {"execution_id", m.execution_id},
                      {"correlation_id", m.correlation_id},
                      {"traceparent", m.traceparent},
                      {"trace_id", tp ? tp->trace_id : ""},
                      {"trace_links", links}});
    }
    return hops;
  }
};

json table_counts(nba::Warehouse& wh, pipeline::CalendarDate date) {
  json out = json::object();
  for (const auto& t : nba::warehouse_tables()) {
    if (t.phase == "predictions") continue;
    auto n = wh.count_rows(t.name, date);
    out[t.name] = n ? json(*n) : json();
  }
  return out;
}

std::int64_t single_int(nba::Warehouse& wh, const std::string& sql, const std::vector<nba::Value>& params) {
  auto rows = wh.query(sql, params);
  return rows && !rows->empty() ? nba::as_int(rows->at(0, "n")) : 0;
}

// The Phase 5 section of the summary: the batch, every event and job, predictions,
// coverage, the injury update's re-predictions and the Phase 4→5 latency.
pipeline::Result<json> phase5_summary(Demo& demo, const pipeline::DailySchedule& sched, pipeline::CalendarDate date,
                                      const pipeline::BatchReport& morning) {
  auto report = demo.coordinator->status(date);
  if (!report) return pipeline::fail(report.error());
  auto batches = demo.coordinator->batches(date);
  if (!batches) return pipeline::fail(batches.error());
  auto incrementals = demo.coordinator->incrementals(date);
  if (!incrementals) return pipeline::fail(incrementals.error());
  auto local = [&sched](pipeline::TimePoint t) {
    const auto w = sched.wall_time(t);
    return fmt::format("{} {}", w.time_string().substr(0, 5), w.abbreviation);
  };
  json jobs = json::array();
  if (demo.lost_events > 0)
    jobs.push_back({{"source", "event_lost"},
                    {"at", pipeline::format_rfc3339(demo.lost_at)},
                    {"local", local(demo.lost_at)},
                    {"game_date", date.to_string()},
                    {"outcome", "lost"},
                    {"message", "the Phase 4->5 trigger was dropped before the coordinator saw it"}});
  json status_check;
  for (const auto& r : demo.hybrid->runs()) {
    jobs.push_back({{"source", r.source},
                    {"at", pipeline::format_rfc3339(r.at)},
                    {"local", local(r.at)},
                    {"game_date", r.source == "event" && r.outcome == "duplicate" ? json() : json(r.game_date.to_string())},
                    {"outcome", r.outcome},
                    {"message", r.message}});
    if (r.source == "status_check")
      status_check = {{"at", pipeline::format_rfc3339(r.at)},
                      {"local", local(r.at)},
                      {"outcome", r.outcome},
                      {"coverage", morning.completion_rate},
                      {"done", morning.done},
                      {"expected", morning.expected},
                      {"message", r.message}};
  }
  const std::string d = date.to_string();
  const std::string sys(nba::phase5::kSystemId);
  const std::int64_t batch_version = morning.version;
  // The date's latest version (incremental re-predictions take the next one).
  std::int64_t latest_version = 0;
  for (const auto& b : *batches) latest_version = std::max(latest_version, b.version);
  for (const auto& i : *incrementals) latest_version = std::max(latest_version, i.version);
  json update;
  if (latest_version > batch_version) {
    auto rows = demo.warehouse.query(
        "SELECT player_lookup FROM player_prop_prediction_versions WHERE game_date = ? AND system_id = ? AND version > ? "
        "ORDER BY player_lookup",
        {d, sys, batch_version});
    if (!rows) return pipeline::fail(rows.error());
    std::vector<std::string> players;
    for (std::size_t i = 0; i < rows->size(); ++i) players.push_back(nba::as_text(rows->at(i, "player_lookup")));
    update = {{"players", players}, {"count", players.size()}, {"version", latest_version}};
  }
  json alerts = json::array();
  for (const auto& a : demo.alerts_seen)
    alerts.push_back({{"severity", std::string(pipeline::to_string(a.severity))}, {"key", a.key}, {"message", a.message}});
  int completions = 0;
  for (const auto& [id, m] : demo.seen.messages)
    completions += m.processor_name == demo.coordinator->options().processor_name;
  auto time = [](const std::optional<pipeline::TimePoint>& t) { return t ? json(pipeline::format_rfc3339(*t)) : json(); };
  return json{
      {"zone", sched.zone_name()},
      {"lost_phase4_event", demo.opt.lose_phase4_event},
      {"batch_id", report->batch_id},
      {"batches", batches->size()},
      {"triggered_by", report->triggered_by ? json(std::string(pipeline::to_string(*report->triggered_by))) : json()},
      {"state", std::string(pipeline::to_string(report->state))},
      {"jobs", std::move(jobs)},
      {"predictions", single_int(demo.warehouse,
                                 "SELECT COUNT(*) AS n FROM player_prop_predictions WHERE game_date = ? AND system_id = ?",
                                 {d, sys})},
      {"prediction_versions",
       single_int(demo.warehouse,
                  "SELECT COUNT(*) AS n FROM player_prop_prediction_versions WHERE game_date = ? AND system_id = ?",
                  {d, sys})},
      {"expected", report->expected},
      {"done", report->done},
      {"coverage", report->completion_rate},
      {"status_check", status_check},
      {"batch_version", batch_version},
      {"version_after_update", latest_version > batch_version ? json(latest_version) : json()},
      {"update", update},
      {"phase4_completed_at", time(report->phase4_completed_at)},
      {"completed_at", time(report->completed_at)},
      {"phase4_to_phase5_latency_seconds",
       report->phase4_to_phase5_latency
           ? json(std::chrono::duration<double>(*report->phase4_to_phase5_latency).count())
           : json()},
      {"completions", completions},
      {"alerts", std::move(alerts)}};
}

// The fault variant's account: what was injected and that the pipeline still decided
// each trigger once and ran each processor at most once per wave.
pipeline::Result<json> fault_summary(Demo& demo, pipeline::CalendarDate date, const std::string& poison_id,
                                     const std::string& poison_topic) {
  const auto c = demo.faulty.counts();
  auto rows = pipeline::DeadLetterRecorder::list(*demo.opt.store);
  if (!rows) return pipeline::fail(rows.error());
  bool poisoned = false;
  for (const auto& r : *rows) poisoned = poisoned || r.id == poison_id;
  json decisions = json::object();
  for (auto* t : {demo.to_phase3.get(), demo.to_phase4.get(), demo.to_phase5.get()}) {
    auto st = t->status(date);
    if (!st) return pipeline::fail(st.error());
    json per = json::object();
    const auto written = demo.tracker_store.committed_write_counts();
    const pipeline::TrackerKeys keys(t->config().name);
    for (const auto& w : st->waves) {
      const auto it = written.find(pipeline::TrackerKeys::decision_key(keys.date_prefix(date), w.number));
      per[std::to_string(w.number)] = it == written.end() ? 0 : it->second;
    }
    decisions[t->config().name] = per;
  }
  json deliveries = json::object();
  for (const auto& [topic, list] : demo.seen.triggers) {
    json per = json::object();
    for (const auto& m : list) per[m.execution_id] = per.value(m.execution_id, 0) + 1;
    deliveries[topic] = per;
  }
  int max_runs = 0;
  std::string max_runs_of;
  for (const auto& [wave, phases] : demo.seen.runs)
    for (const auto& [phase, runs] : phases) {
      std::map<std::string, int> n;
      for (const auto& r : runs)
        if (r["outcome"] == "completed") ++n[r["processor"].get<std::string>()];
      for (const auto& [p, k] : n)
        if (k > max_runs) max_runs = k, max_runs_of = p;
    }
  return json{{"seed", demo.opt.fault_seed},
              {"injected",
               {{"dropped", c.dropped},
                {"duplicated", c.duplicated},
                {"publish_failures", c.publish_failures},
                {"deliveries", c.deliveries},
                {"publishes", c.publishes}}},
              {"redeliveries", c.redelivered},
              {"relay_rounds_retried", demo.publish_failures_seen},
              {"failed_once",
               {{"what", fmt::format("phase5 prediction for {}", demo.model->failed())},
                {"attempts", demo.model->attempts()}}},
              {"poison", {{"topic", poison_topic}, {"id", poison_id}, {"dead_lettered", poisoned}}},
              {"dlq_entries", rows->size()},
              {"dlq_alerts", {{"delivered", demo.dlq->alerts_delivered()}, {"suppressed", demo.dlq->alerts_suppressed()}}},
              {"decisions", std::move(decisions)},
              {"trigger_deliveries", std::move(deliveries)},
              {"max_runs_per_processor_wave", max_runs},
              {"max_runs_processor", max_runs_of}};
}

}  // namespace

pipeline::Result<json> run_demo(const DemoOptions& opt) {
  if (!opt.store) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "the demo needs a state store");
  std::optional<nba::Warehouse> owned;
  if (opt.warehouse == nullptr) {
    auto wh = nba::Warehouse::open(opt.warehouse_path.string());
    if (!wh) return pipeline::fail(wh.error());
    owned = std::move(*wh);
  }
  auto d = std::make_unique<Demo>(opt, std::move(owned), opt.warehouse);
  Demo& demo = *d;
  const auto date = opt.date;
  int current_wave = 0;

  auto observer = [&demo](const pipeline::Processor& p, const pipeline::Message& trigger, const pipeline::RunReport& r,
                          double wall_ms) {
    const int wave = trigger.metadata->is_object() ? trigger.metadata->value("wave", 0) : 0;
    auto& list = demo.seen.runs[wave][p.config().phase];
    if (!list.is_array()) list = json::array();
    list.push_back(run_entry(p, r, wall_ms));
  };

  // Services: each phase's processors, subscribed the way their mains subscribe them.
  PIPELINE_TRY(phase2::declare_dependencies(demo.dependencies));
  PIPELINE_TRY(phase3::declare_dependencies(demo.dependencies));
  PIPELINE_TRY(phase4::declare_dependencies(demo.dependencies));
  auto p1 = phase1::make_phase1(demo.ctx, observer);
  auto p2 = phase2::make_phase2(demo.ctx, observer);
  if (!p2) return pipeline::fail(p2.error());
  auto p3 = phase3::make_phase3(demo.ctx, observer);
  auto p4 = phase4::make_phase4(demo.ctx, observer);
  const auto& topics = demo.ctx.topics;

  // Trackers from the preset; Phase 2→3 expects exactly the raw processors that exist.
  auto presets = nba::tracker_presets(topics.naming);
  presets[0].expected = phase2::raw_processors();
  auto t3 = pipeline::CompletionTracker::create(demo.tracker_store, demo.clock, presets[0]);
  if (!t3) return pipeline::fail(t3.error());
  auto t4 = pipeline::CompletionTracker::create(demo.tracker_store, demo.clock, presets[1]);
  if (!t4) return pipeline::fail(t4.error());
  auto t5 = pipeline::CompletionTracker::create(demo.tracker_store, demo.clock, presets[2], &demo.alerts);
  if (!t5) return pipeline::fail(t5.error());
  demo.to_phase3 = std::move(*t3);
  demo.to_phase4 = std::move(*t4);
  demo.to_phase5 = std::move(*t5);
  if (demo.to_phase3->config().trigger_topic != topics.phase3_trigger() ||
      demo.to_phase4->config().trigger_topic != topics.phase4_trigger())
    return pipeline::fail(pipeline::ErrorCode::kInternal, "the preset's trigger topics are not the services' topics");
  const std::string phase5_trigger = demo.to_phase5->config().trigger_topic;

  // Phase 5: coordinator, workers and the hybrid trigger over the warehouse.
  auto p5 = nba::phase5::WarehousePhase5::create(demo.warehouse);
  if (!p5) return pipeline::fail(p5.error());
  demo.phase5 = std::move(*p5);
  pipeline::BatchCoordinatorOptions coordinator_options = nba::phase5::coordinator_options();
  // The event is the Phase 4→5 tracker's trigger, which names the phase it triggers.
  coordinator_options.expected_phase = std::string(nba::kPredictionsPhase);
  demo.coordinator = std::make_unique<pipeline::BatchCoordinator>(demo.clock, *opt.store, demo.alerts, *demo.phase5,
                                                                  *demo.phase5, &demo.relay, coordinator_options);
  demo.model = std::make_unique<FailOnceModel>(*demo.phase5, opt.inject_faults);
  demo.worker = std::make_unique<pipeline::PredictionWorker>(*opt.store, *demo.model);
  auto schedule = pipeline::DailySchedule::phase5();
  if (!schedule) return pipeline::fail(schedule.error());
  const auto sched = std::make_shared<pipeline::DailySchedule>(*schedule);
  pipeline::HybridTriggerOptions hybrid_options = nba::phase5::hybrid_trigger_options();
  hybrid_options.phase4_topic = phase5_trigger;
  demo.hybrid = std::make_unique<pipeline::HybridTrigger>(
      *demo.coordinator, demo.bus, *opt.store, demo.clock,
      [sched](pipeline::TimePoint t) -> std::optional<pipeline::Scheduler::Due> {
        if (auto i = sched->next_after(t)) return pipeline::Scheduler::Due{i->job, i->at};
        return std::nullopt;
      },
      [sched](pipeline::TimePoint t) { return sched->wall_time(t).date; }, hybrid_options);

  // Watchers first (they see every message), then trackers and services.
  if (opt.observe_messages) {
    for (const auto& t : {topics.phase1_trigger(), topics.phase1_complete(), topics.phase2_complete(),
                          topics.phase3_complete(), topics.phase4_complete()})
      PIPELINE_TRY(demo.watch(t, false));
    for (const auto& t : {topics.phase3_trigger(), topics.phase4_trigger()}) PIPELINE_TRY(demo.watch(t, true));
  }
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase3, topics.phase2_complete()));
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase4, topics.phase3_complete()));
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase5, topics.phase4_complete()));
  if (opt.observe_messages) {
    PIPELINE_TRY(demo.watch(phase5_trigger, true));
    PIPELINE_TRY(demo.watch(coordinator_options.complete_topic, false));
  }
  {
    // The event path: the trigger's own handler, unless this is the lost-event variant
    // and the full day's trigger arrives (acknowledged and never handled: lost).
    auto sub = demo.bus.subscribe(
        {hybrid_options.subscription, phase5_trigger, {}}, [&demo, lose = opt.lose_phase4_event](pipeline::DeliveryPtr d) {
          auto m = pipeline::decode_message(d->payload());
          if (lose && m && !m->is_incremental && demo.lost_events == 0) {
            ++demo.lost_events;
            demo.lost_at = demo.clock.now();
            (void)d->ack();
            return;
          }
          demo.hybrid->on_event(d);
        });
    if (!sub) return pipeline::fail(sub.error());
    demo.subs.push_back(std::move(*sub));
    auto work = demo.bus.subscribe({"phase5-prediction-workers", coordinator_options.work_topic, {}},
                                   demo.worker->batching_handler());
    if (!work) return pipeline::fail(work.error());
    demo.subs.push_back(std::move(*work));
  }
  for (auto [service, topic] : {std::pair{p1.service.get(), topics.phase1_trigger()},
                                std::pair{p2->service.get(), topics.phase1_complete()},
                                std::pair{p3.service.get(), topics.phase3_trigger()},
                                std::pair{p4.service.get(), topics.phase4_trigger()}}) {
    auto sub = service->subscribe(demo.bus, topic);
    if (!sub) return pipeline::fail(sub.error());
    demo.subs.push_back(std::move(*sub));
  }
  PIPELINE_TRY(demo.settle());  // a backlog of an earlier run, if any
  const std::string poison_id = fmt::format("poison/{}", date);
  if (opt.inject_faults) {
    // One poison message on a phase topic: the Phase 2→3 tracker cannot decode it, nacks
    // it until the transport dead-letters it, and the recorder keeps it as a row.
    demo.dlq = std::make_unique<pipeline::DeadLetterRecorder>(demo.transport, *opt.store, demo.clock, &demo.alerts);
    PIPELINE_TRY(demo.dlq->watch(topics.phase2_complete()));
    PIPELINE_TRY(demo.transport.publish(topics.phase2_complete(), {poison_id, "{\"phase\": 2, \"truncated", {}}));
  }

  json waves = json::array();
  const auto debounce = demo.to_phase3->config().debounce;

  // Wave 0: the 06:00 schedule scrapes every feed; the trackers decide when all are done.
  const auto full_trigger = phase1::schedule_trigger(date, 0, {}, "daily schedule 06:00 ET");
  json full{{"wave", current_wave}, {"label", "full"}, {"started_at", pipeline::format_rfc3339(demo.clock.now())}};
  PIPELINE_TRY(demo.transport.publish(topics.phase1_trigger(),
                                      {full_trigger.execution_id, pipeline::encode_message(full_trigger), {}}));
  PIPELINE_TRY(demo.settle());
  waves.push_back(std::move(full));

  // Phase 5's morning on the Pacific schedule: the Phase 4 completion time (the tracker's
  // decision, in the store — the scheduler path knows it even when the event was lost)
  // for the latency, then every job through the 07:00 PT status check.
  if (auto s5 = demo.to_phase5->status(date); s5) {
    for (const auto& ws : s5->waves)
      if (ws.number == 0 && ws.decided && ws.triggered_at)
        PIPELINE_TRY(demo.coordinator->record_phase4_completion(date, *ws.triggered_at));
  } else {
    return pipeline::fail(s5.error());
  }
  auto day_jobs = sched->instants(date, date);
  if (!day_jobs) return pipeline::fail(day_jobs.error());
  pipeline::TimePoint status_check_at = demo.clock.now();
  for (const auto& i : *day_jobs)
    if (i.job == "status_check") status_check_at = i.at;
  demo.hybrid->scheduler().start();
  PIPELINE_TRY(demo.advance_through(status_check_at));
  auto morning_status = demo.coordinator->status(date);
  if (!morning_status) return pipeline::fail(morning_status.error());

  nba::InjuryUpdate update = demo.season.injury_update(date);
  if (opt.injury_update) {
    // Wave 1: at 14:00 ET one player's status changes; only the injury report is scraped.
    current_wave = 1;
    PIPELINE_TRY(demo.advance_through(phase1::injury_update_time(date)));
    const auto again = phase1::schedule_trigger(date, 1, {phase1::scraper_name("nbac_injury_report")},
                                                "injury report re-scrape 14:00 ET");
    json upd{{"wave", current_wave},
             {"label", "injury_update"},
             {"started_at", pipeline::format_rfc3339(demo.clock.now())},
             {"update",
              {{"player", update.player_id},
               {"team", update.team},
               {"before", std::string(nba::to_string(update.before))},
               {"after", std::string(nba::to_string(update.after))},
               {"reason", update.reason}}}};
    PIPELINE_TRY(
        demo.transport.publish(topics.phase1_trigger(), {again.execution_id, pipeline::encode_message(again), {}}));
    PIPELINE_TRY(demo.settle());
    // The trackers' debounce windows close on the clock: Phase 3, Phase 4, then Phase 5.
    for (int hop = 0; hop < 3; ++hop) PIPELINE_TRY(demo.advance_through(demo.clock.now() + debounce));
    waves.push_back(std::move(upd));
  }

  // Assemble the summary.
  json trackers = json::object();
  std::map<std::string, pipeline::TrackerStatus> status;
  for (auto* t : {demo.to_phase3.get(), demo.to_phase4.get(), demo.to_phase5.get()}) {
    auto s = t->status(date);
    if (!s) return pipeline::fail(s.error());
    trackers[t->config().name] = s->to_json();
    status[t->config().downstream_phase] = std::move(*s);
  }
  std::map<std::string, std::string> trigger_topic{{"phase3_analytics", topics.phase3_trigger()},
                                                   {"phase4_precompute", topics.phase4_trigger()}};
  json work = json::object();
  for (auto& w : waves) {
    const int n = w["wave"].get<int>();
    w["phases"] = json::array();
    for (const auto& phase : kPhases) {
      json ph{{"phase", phase}, {"runs", json::array()}};
      if (auto it = demo.seen.runs[n].find(phase); it != demo.seen.runs[n].end()) ph["runs"] = it->second;
      std::int64_t records = 0, entity_runs = 0, completed = 0;
      for (const auto& r : ph["runs"]) {
        if (r["outcome"] != "completed") continue;
        ++completed;
        records += r["records"].get<std::int64_t>();
        entity_runs += entity_total(r["entities"]);
      }
      ph["completed"] = completed;
      ph["records"] = records;
      ph["entity_runs"] = entity_runs;
      if (auto st = status.find(phase); st != status.end()) {
        json trig;  // null: this wave's trigger was not decided
        for (const auto& ws : st->second.waves) {
          if (ws.number != n || !ws.decided) continue;
          const auto& seen_triggers = demo.seen.triggers[trigger_topic[phase]];
          int deliveries = 0;
          for (const auto& m : seen_triggers) deliveries += m.execution_id == ws.trigger_id;
          trig = {{"trigger_id", ws.trigger_id},
                  {"reason", ws.reason},
                  {"status", ws.trigger_status},
                  {"upstream_processors", ws.processors},
                  {"run_processors", ws.run_processors},
                  {"first_completion", ws.first_completion ? json(pipeline::format_rfc3339(*ws.first_completion)) : json()},
                  {"decided_at", ws.triggered_at ? json(pipeline::format_rfc3339(*ws.triggered_at)) : json()},
                  {"latency_seconds",
                   ws.first_completion && ws.triggered_at
                       ? json(std::chrono::duration<double>(*ws.triggered_at - *ws.first_completion).count())
                       : json()},
                  {"deliveries_seen", deliveries}};
          for (const auto& m : seen_triggers)
            if (m.execution_id == ws.trigger_id) {
              trig["is_incremental"] = m.is_incremental;
              json changed;  // null = everything
              if (m.entities_changed) {
                changed = json::object();
                for (const auto& [kind, ids] : *m.entities_changed) changed[kind] = ids;
              }
              trig["entities_changed"] = changed;
              break;
            }
        }
        ph["trigger"] = trig;
      }
      work[phase][w["label"].get<std::string>()] = entity_runs;
      w["phases"].push_back(std::move(ph));
    }
  }
  for (auto& [phase, per] : work.items()) {
    if (!per.contains("full") || !per.contains("injury_update")) continue;
    const double f = per["full"].get<double>(), u = per["injury_update"].get<double>();
    per["reduction_pct"] = f > 0 ? json(100.0 * (1.0 - u / f)) : json();
  }

  // Traces: from the scheduler to each wave's Phase 4 trigger.
  json trace = json::object();
  for (const auto& m : demo.seen.triggers[topics.phase4_trigger()]) {
    const int wave = m.metadata->value("wave", 0);
    const std::string label = wave == 0 ? "full" : "injury_update";
    if (!trace.contains(label)) trace[label] = demo.trace_back(m);
  }

  json runs_total = json::object();
  auto count_runs = [&](const pipeline::Processor& p) {
    auto v = demo.metrics.counter_value("pipeline_processor_runs_total", {{"processor", p.config().name}});
    runs_total[p.config().name] = v.value_or(0);
  };
  for (const auto& p : p1.scrapers) count_runs(*p);
  for (const auto& p : p2->processors) count_runs(*p);
  for (const auto& p : p3.processors) count_runs(*p);
  for (const auto& p : p4.processors) count_runs(*p);

  auto p5_summary = phase5_summary(demo, *sched, date, *morning_status);
  if (!p5_summary) return pipeline::fail(p5_summary.error());
  json faults;
  if (opt.inject_faults) {
    auto f = fault_summary(demo, date, poison_id, topics.phase2_complete());
    if (!f) return pipeline::fail(f.error());
    faults = std::move(*f);
  }

  json summary{{"date", date.to_string()},
               {"store", opt.store_label},
               {"warehouse", opt.warehouse_path.string()},
               {"data_dir", opt.data_dir.string()},
               {"finished_at", pipeline::format_rfc3339(demo.clock.now())},
               {"waves", std::move(waves)},
               {"trackers", std::move(trackers)},
               {"trace", std::move(trace)},
               {"work", std::move(work)},
               {"runs_total", std::move(runs_total)},
               {"tables", table_counts(demo.warehouse, date)},
               {"phase5", std::move(*p5_summary)}};
  if (opt.inject_faults) summary["faults"] = std::move(faults);
  demo.hybrid->stop();
  if (demo.dlq) demo.dlq->close();
  for (auto& s : demo.subs) s->close();
  return summary;
}

namespace {

std::string clock_time(const json& instant) {
  // "2025-11-18T11:00:00Z" -> "11:00:00Z"
  if (!instant.is_string()) return "-";
  const auto s = instant.get<std::string>();
  return s.size() > 11 ? s.substr(11) : s;
}

std::string entities_text(const json& entities) {
  std::string out;
  for (const auto& [kind, n] : entities.items()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n.dump(), kind);
  return out.empty() ? "-" : out;
}

std::string changed_text(const json& changed) {
  if (changed.is_null()) return "all entities (full)";
  std::string out;
  for (const auto& [kind, ids] : changed.items()) {
    std::vector<std::string> list = ids.get<std::vector<std::string>>();
    out += fmt::format("{}{} {}", out.empty() ? "" : "; ", kind,
                       list.size() <= 3 ? fmt::format("[{}]", fmt::join(list, ", ")) : fmt::format("x{}", list.size()));
  }
  return out.empty() ? "nothing" : out;
}

std::string phase5_text(const json& p) {
  std::string out = fmt::format(
      "\n== Phase 5: predictions (scheduled jobs at Pacific times, {}; the day starts at 11:00Z = 03:00 PT,\n"
      "   so the event path predicts before the 06:00 PT backup, and the 14:00 ET update comes after 07:00 PT){}\n",
      p["zone"].get<std::string>(), p["lost_phase4_event"].get<bool>() ? "\n   variant: the Phase 4->5 event is LOST" : "");
  for (const auto& j : p["jobs"])
    out += fmt::format("  {:<12} {} ({:<9}) -> {:<16} {}\n", j["source"].get<std::string>(), clock_time(j["at"]),
                       j["local"].get<std::string>(), j["outcome"].get<std::string>(), j["message"].get<std::string>());
  out += fmt::format("  batch {} triggered by {} ({} batch row{}): {} prediction rows, version {}\n",
                     p["batch_id"].get<std::string>(), p["triggered_by"].is_string() ? p["triggered_by"].get<std::string>() : "-",
                     p["batches"].get<int>(), p["batches"].get<int>() == 1 ? "" : "s", p["predictions"].get<std::int64_t>(),
                     p["batch_version"].get<std::int64_t>());
  if (p["status_check"].is_object())
    out += fmt::format("  07:00 PT status check: {} of {} players predicted, coverage {:.1f}% ({})\n",
                       p["status_check"]["done"].get<std::int64_t>(), p["status_check"]["expected"].get<std::int64_t>(),
                       100.0 * p["status_check"]["coverage"].get<double>(), p["status_check"]["outcome"].get<std::string>());
  out += fmt::format("  Phase 4 complete {} -> predictions complete {}: latency {} (Go/No-Go < 10 min)\n",
                     clock_time(p["phase4_completed_at"]), clock_time(p["completed_at"]),
                     p["phase4_to_phase5_latency_seconds"].is_number()
                         ? fmt::format("{:.0f} s simulated", p["phase4_to_phase5_latency_seconds"].get<double>())
                         : std::string("unknown"));
  if (p["update"].is_object())
    out += fmt::format("  injury update: re-predicted {} player{} [{}] as version {}; {} versioned rows kept as history\n",
                       p["update"]["count"].get<int>(), p["update"]["count"].get<int>() == 1 ? "" : "s",
                       fmt::join(p["update"]["players"].get<std::vector<std::string>>(), ", "),
                       p["update"]["version"].get<std::int64_t>(), p["prediction_versions"].get<std::int64_t>());
  out += fmt::format("  end of day: {} of {} predicted ({:.1f}% coverage), {} predictions-complete message{}, {} alert{}\n",
                     p["done"].get<std::int64_t>(), p["expected"].get<std::int64_t>(), 100.0 * p["coverage"].get<double>(),
                     p["completions"].get<int>(), p["completions"].get<int>() == 1 ? "" : "s", p["alerts"].size(),
                     p["alerts"].size() == 1 ? "" : "s");
  for (const auto& a : p["alerts"])
    out += fmt::format("    alert {} {}: {}\n", a["severity"].get<std::string>(), a["key"].get<std::string>(),
                       a["message"].get<std::string>());
  return out;
}

std::string faults_text(const json& f) {
  const auto& in = f["injected"];
  std::string out = fmt::format(
      "\n== Faults injected (seed {}): {} of {} deliveries dropped, {} duplicated, {} of {} publishes failed\n",
      f["seed"].get<std::uint64_t>(), in["dropped"].get<std::uint64_t>(), in["deliveries"].get<std::uint64_t>(),
      in["duplicated"].get<std::uint64_t>(), in["publish_failures"].get<std::uint64_t>(),
      in["publishes"].get<std::uint64_t>());
  out += fmt::format("  redeliveries {}; relay rounds retried after a failed publish {}\n",
                     f["redeliveries"].get<std::uint64_t>(), f["relay_rounds_retried"].get<int>());
  out += fmt::format("  failed once: {} -> {} attempts (retried through redelivery)\n",
                     f["failed_once"]["what"].get<std::string>(), f["failed_once"]["attempts"].get<int>());
  out += fmt::format("  poison message {} on {}: {}; DLQ rows {}, alerts {} raised / {} rate-limited\n",
                     f["poison"]["id"].get<std::string>(), f["poison"]["topic"].get<std::string>(),
                     f["poison"]["dead_lettered"].get<bool>() ? "dead-lettered and recorded" : "NOT in the DLQ",
                     f["dlq_entries"].get<std::size_t>(), f["dlq_alerts"]["delivered"].get<std::uint64_t>(),
                     f["dlq_alerts"]["suppressed"].get<std::uint64_t>());
  for (const auto& [tracker, waves] : f["decisions"].items()) {
    std::string per;
    for (const auto& [w, n] : waves.items()) per += fmt::format("{}wave {}: {}", per.empty() ? "" : ", ", w, n.get<int>());
    out += fmt::format("  decisions {:<18} {}\n", tracker, per);
  }
  int max_deliveries = 0;
  for (const auto& [topic, ids] : f["trigger_deliveries"].items())
    for (const auto& [id, n] : ids.items()) max_deliveries = std::max(max_deliveries, n.get<int>());
  out += fmt::format("  each trigger published at most {}x; max completed runs of one processor in one wave: {} ({})\n",
                     max_deliveries, f["max_runs_per_processor_wave"].get<int>(),
                     f["max_runs_processor"].get<std::string>());
  return out;
}

}  // namespace

std::string render_text(const json& s) {
  std::string out;
  out += fmt::format("pipeline demo: game day {} through Phases 1-5, simulated time, memory transport\n", s["date"].get<std::string>());
  out += fmt::format("  state store  {}\n  warehouse    {}   (sqlite3 it: raw, analytics and precompute tables)\n"
                     "  scraped     {}\n",
                     s["store"].get<std::string>(), s["warehouse"].get<std::string>(), s["data_dir"].get<std::string>());
  for (const auto& w : s["waves"]) {
    out += "\n";
    if (w["label"] == "full")
      out += fmt::format("== Wave {}: full day, started {} (06:00 ET daily schedule)\n", w["wave"].get<int>(),
                         clock_time(w["started_at"]));
    else
      out += fmt::format("== Wave {}: mid-day injury update, started {} (14:00 ET): {} ({}) {} -> {}\n",
                         w["wave"].get<int>(), clock_time(w["started_at"]), w["update"]["player"].get<std::string>(),
                         w["update"]["team"].get<std::string>(), w["update"]["before"].get<std::string>(),
                         w["update"]["after"].get<std::string>());
    for (const auto& ph : w["phases"]) {
      if (ph.contains("trigger")) {
        const auto& t = ph["trigger"];
        if (t.is_null()) {
          out += fmt::format("  -> {} trigger: not decided in this wave\n", ph["phase"].get<std::string>());
        } else {
          out += fmt::format("  -> {} trigger {} decided at {} ({}, {:.0f} s after the wave's first completion), "
                             "delivered {}x; runs [{}]; changed: {}\n",
                             ph["phase"].get<std::string>(), t["trigger_id"].get<std::string>(),
                             clock_time(t["decided_at"]), t["reason"].get<std::string>(),
                             t["latency_seconds"].is_number() ? t["latency_seconds"].get<double>() : 0.0,
                             t["deliveries_seen"].get<int>(),
                             fmt::join(t["run_processors"].get<std::vector<std::string>>(), ", "),
                             changed_text(t.value("entities_changed", json())));
        }
      }
      out += fmt::format("  {:<18} {} runs, {} records, {} entity-runs\n", ph["phase"].get<std::string>(),
                         ph["completed"].get<int>(), ph["records"].get<std::int64_t>(),
                         ph["entity_runs"].get<std::int64_t>());
      for (const auto& r : ph["runs"]) {
        std::string what = entities_text(r["entities"]);
        if (r.contains("entity_ids")) what = changed_text(r["entity_ids"]);
        out += fmt::format("      {:<36} {:<12} {:>5} rec  {:<28} {}  {:6.2f} ms\n", r["processor"].get<std::string>(),
                           r["outcome"].get<std::string>(), r["records"].get<std::int64_t>(), what,
                           r["full"].get<bool>() ? "full     " : "selective", r["wall_ms"].get<double>());
      }
    }
  }
  out += "\n== Work (entity-runs: entities each processor wrote, summed per phase)\n";
  for (const auto& [phase, per] : s["work"].items()) {
    // Scrapers fetch files, not entities: they have no entity-runs to compare.
    if (!per.contains("injury_update") || per["full"].get<std::int64_t>() == 0) continue;
    out += fmt::format("  {:<18} full day {:>5}   injury update {:>3}   {}\n", phase, per["full"].get<std::int64_t>(),
                       per["injury_update"].get<std::int64_t>(),
                       per["reduction_pct"].is_number()
                           ? fmt::format("{:.1f}% less work", per["reduction_pct"].get<double>())
                           : std::string());
  }
  for (const auto& [label, hops] : s["trace"].items()) {
    out += fmt::format("\n== Trace of the {} wave: scheduler -> Phase 4 trigger\n", label);
    for (const auto& h : hops)
      out += fmt::format("  {:<18} {:<36} exec {}  corr {}\n  {:<18} traceparent {}  links [{}]\n",
                         h["phase"].get<std::string>(), h["processor"].get<std::string>(),
                         h["execution_id"].get<std::string>(), h["correlation_id"].get<std::string>(), "",
                         h["traceparent"].get<std::string>(),
                         fmt::join(h["trace_links"].get<std::vector<std::string>>(), ", "));
  }
  if (s.contains("phase5")) out += phase5_text(s["phase5"]);
  if (s.contains("faults")) out += faults_text(s["faults"]);
  std::int64_t runs = 0;
  for (const auto& [p, n] : s["runs_total"].items()) runs += n.get<std::int64_t>();
  out += fmt::format("\n{} processing steps ran in this invocation; finished at {} simulated.\n", runs,
                     s["finished_at"].get<std::string>());
  return out;
}

}  // namespace demo
