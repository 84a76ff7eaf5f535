#include "demo_driver/demo_driver.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "demo_driver/observed.hpp"
#include "nba_service_common/service.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "phase3_analytics/analytics_processors.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
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
#include "nba_synthetic/or_abort.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/orchestrate/run_until_quiet.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"
#include "pipeline/schedule/daily_schedule.hpp"

namespace demo {
namespace {

pipeline::OutboxRelayOptions relay_options() {
  pipeline::OutboxRelayOptions o;
  o.owner = "demo-relay";
  return o;
}

// One processor run as the report shows it.
RunEntry run_entry(const pipeline::Processor& p, const pipeline::RunReport& r, double wall_ms) {
  RunEntry e{.processor = p.options().name,
             .outcome = r.outcome,
             .full = r.full,
             .entities_processed = r.entities_processed,
             .wall_ms = wall_ms};
  if (!r.detail.empty()) e.detail = r.detail;
  if (!r.completion) return e;
  const auto& c = *r.completion;
  e.completion = RunCompletion{c.execution_id, c.metadata->value("wave", 0), c.status};
  e.records = c.record_count;
  for (const auto& [kind, n] : c.metadata["entities"].items()) e.entities[kind] = n.get<std::int64_t>();
  if (c.entities_changed) {
    std::size_t n = 0;
    for (const auto& [kind, ids] : *c.entities_changed) n += ids.size();
    if (n <= 10) e.entity_ids = *c.entities_changed;
  }
  return e;
}

pipeline::mocks::FaultInjectingTransportOptions fault_config(const DemoOptions& o) {
  pipeline::mocks::FaultInjectingTransportOptions c;
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

struct Demo {
  const DemoOptions& opt;
  pipeline::ManualClock clock;  // from 06:00 ET of the date, when the daily schedule starts Phase 1
  // The watchers and the DLQ recorder use it directly.
  std::unique_ptr<pipeline::MemoryTransport> transport = nba::or_abort("demo", pipeline::MemoryTransport::create(clock));
  pipeline::mocks::FaultInjectingTransport faulty{*transport, fault_config(opt)};
  // What the services, trackers, relay and Phase 5 use: faulty in the fault variant.
  pipeline::Transport& bus = opt.inject_faults ? static_cast<pipeline::Transport&>(faulty) : *transport;
  pipeline::MetricsRegistry metrics = nba::or_abort("demo", pipeline::MetricsRegistry::create());
  pipeline::RunHistory history = nba::or_abort("demo", pipeline::RunHistory::create(clock, *opt.store));
  std::optional<nba::Season> owned_season;  // built by the demo unless the caller gave one
  const nba::Season& season = opt.season != nullptr ? *opt.season : owned_season.emplace();
  std::optional<nba::Warehouse> owned_warehouse;  // opened by the demo unless the caller gave one
  nba::Warehouse& warehouse;
  nba_services::WarehouseDependencySource source{warehouse, &season};
  pipeline::DependencyChecker dependencies = nba::or_abort("demo", pipeline::DependencyChecker::create(clock, source));
  nba_services::ScrapedPayloads scraped;  // the day's scraped items (also in files with a data_dir)
  nba_services::ServiceContext ctx{*opt.store, clock,  history,      dependencies, bus,     warehouse,
                                   season,     opt.data_dir, &metrics, {},  &scraped};
  std::unique_ptr<pipeline::OutboxRelay> relay =
      nba::or_abort("demo", pipeline::OutboxRelay::create(clock, *opt.store, bus, relay_options()));
  // The trackers' store: counts each committed write of a decision row (the fault summary's "decisions").
  pipeline::mocks::CountingStateStore tracker_store{
      *opt.store, {.watch = [](std::string_view k) { return k.starts_with("tracker/") && k.find("/decision/w") != k.npos; }}};
  std::vector<pipeline::Alert> alerts_seen;
  // The store keeps them too, for the status page of the day the demo leaves behind.
  std::shared_ptr<pipeline::AlertSink> alert_sink = nba::or_abort(
      "demo", pipeline::CallbackAlertSink::create([this](const pipeline::Alert& a) { alerts_seen.push_back(a); }));
  std::unique_ptr<pipeline::AlertManager> alerts = nba::or_abort(
      "demo", pipeline::AlertManager::create(
                  clock, {alert_sink, nba::or_abort("demo", pipeline::StoreAlertSink::create(*opt.store))}));
  Observed seen;
  std::vector<std::unique_ptr<pipeline::Subscription>> subs;
  std::unique_ptr<pipeline::CompletionTracker> to_phase3, to_phase4, to_phase5;
  // Phase 5 (destroyed in reverse order: the trigger's scheduler stops first).
  std::unique_ptr<nba::phase5::WarehousePhase5> phase5;
  std::unique_ptr<FailOnceModel> model;
  std::unique_ptr<pipeline::BatchCoordinator> coordinator;
  std::unique_ptr<pipeline::PredictionWorker> worker;
  std::shared_ptr<const pipeline::DailySchedule> schedule;  // Phase 5's jobs (the hybrid trigger shares it)
  std::unique_ptr<pipeline::HybridTrigger> hybrid;
  int lost_events = 0;
  pipeline::TimePoint lost_at{};
  std::unique_ptr<pipeline::DeadLetterRecorder> dlq;
  int publish_failures_seen = 0;  // relay rounds that hit a failed publish (retried)
  std::string poison_id;          // the fault variant's poison message
  // The services, last: destroyed first, before the subscriptions that call them are.
  phase1::Phase1 p1;
  phase2::Phase2 p2;
  phase3::Phase3 p3;
  phase4::Phase4 p4;

  // `given` (the caller's warehouse) when not null, else `own`; the clock starts at `start`.
  Demo(const DemoOptions& o, pipeline::TimePoint start, std::optional<nba::Warehouse> own, nba::Warehouse* given)
      : opt(o), clock(start), owned_warehouse(std::move(own)), warehouse(given != nullptr ? *given : *owned_warehouse) {
    ctx.alerts = alerts.get();  // the phase services raise their processors' alerts beside the trackers'
  }

  // Delivers what is deliverable; the prediction workers' deliveries of the round are
  // held, then stored in one batch (before the clock can move past their ack deadline).
  std::size_t deliver() { return transport->pump() + (worker ? worker->flush() : 0); }

  // Relays the outbox and delivers until nothing moves (pipeline::run_until_quiet). At
  // each quiet point the coordinator checks the stored predictions once (completing a
  // batch publishes its completion message, so the loop goes on): once per quiet point,
  // not per prediction, because each check reads the ledger twice.
  // With faults, a quiet point may hide a dropped delivery (redelivered after its ack
  // deadline), a nacked one (after its backoff) or a leased outbox row whose publish
  // failed: the clock moves on by an ack deadline, twice, before the day is settled.
  pipeline::Status settle() {
    pipeline::QuietLoop loop{.transport = transport.get(), .relays = {relay.get()}};
    if (worker) loop.steps.push_back([this]() -> pipeline::Result<std::size_t> { return worker->flush(); });
    if (coordinator)
      loop.on_quiet.push_back([this]() -> pipeline::Result<std::size_t> {
        auto completed = coordinator->note_progress(opt.date);
        if (!completed) return pipeline::fail(completed.error());
        return *completed ? 1 : 0;
      });
    int quiet_steps = 0;
    for (int step = 0; step < 10000; ++step) {
      auto rounds = pipeline::run_until_quiet(loop);
      if (!rounds) {
        if (!opt.inject_faults || rounds.error().code != pipeline::ErrorCode::kUnavailable)
          return pipeline::fail(rounds.error());
        // The failed row (and the rest of its batch) stays pending under the relay's
        // lease: deliver what is there, let the lease end on the clock, then retry them.
        ++publish_failures_seen;
        (void)deliver();
        clock.advance(relay_options().lease);
        quiet_steps = 0;
        continue;
      }
      if (!opt.inject_faults) return pipeline::ok();
      if (*rounds > 1) quiet_steps = 0;  // something moved since the last quiet point
      auto pending = opt.store->pending_outbox();
      if (!pending) return pipeline::fail(pending.error());
      if (*pending > 0) {  // leased after a failure elsewhere (the coordinator's own relay call)
        clock.advance(relay_options().lease);
        continue;
      }
      if (quiet_steps < 2) {
        ++quiet_steps;
        clock.advance(pipeline::SubscriptionSettings{}.ack_deadline);
        continue;
      }
      return pipeline::ok();
    }
    return pipeline::fail(pipeline::ErrorCode::kInternal, "the demo did not settle after 10000 quiet points");
  }

  pipeline::Status watch(const std::string& topic, bool is_trigger) {
    auto sub = transport->subscribe({"demo-watch-" + topic, topic, {}}, [this, topic, is_trigger](pipeline::DeliveryPtr d) {
      seen.record(topic, is_trigger, d->payload());
      pipeline::best_effort_ack(*d);
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
    auto sub = pipeline::subscribe_tracker(bus, tracker, topic, {tracker.options().name + "-tracker-sub", {}});
    if (!sub) return pipeline::fail(sub.error());
    subs.push_back(std::move(*sub));
    return pipeline::ok();
  }

};

// Every Phase 5 event and job in order, the lost event first; and the 07:00 PT status
// check with the coverage the coordinator reported then (`morning`).
void phase5_jobs(const Demo& demo, const pipeline::BatchReport& morning, Phase5Report& out) {
  auto local = [&demo](pipeline::TimePoint t) { return nba_services::zoned_clock_text(t, demo.schedule->zone_name()); };
  if (demo.lost_events > 0)
    out.jobs.push_back({"event_lost", demo.lost_at, local(demo.lost_at), demo.opt.date, "lost",
                        "the Phase 4->5 trigger was dropped before the coordinator saw it"});
  for (const auto& r : demo.hybrid->runs()) {
    const bool duplicate = r.source == "event" && r.outcome == "duplicate";
    out.jobs.push_back({r.source, r.at, local(r.at), duplicate ? std::nullopt : std::optional(r.game_date), r.outcome,
                        r.message});
    if (r.source == "status_check")
      out.status_check = StatusCheck{r.at,          local(r.at),   r.outcome, morning.completion_rate,
                                     morning.done, morning.expected, r.message};
  }
}

// The fault variant's account: what was injected and that the pipeline still decided
// each trigger once and ran each processor at most once per wave.
pipeline::Result<FaultSummary> fault_summary(Demo& demo) {
  const pipeline::CalendarDate date = demo.opt.date;
  auto rows = pipeline::DeadLetterRecorder::list(*demo.opt.store);
  if (!rows) return pipeline::fail(rows.error());
  FaultSummary f{.seed = demo.opt.fault_seed,
                 .injected = demo.faulty.counts(),
                 .relay_rounds_retried = demo.publish_failures_seen,
                 .failed_once = fmt::format("phase5 prediction for {}", demo.model->failed()),
                 .failed_once_attempts = demo.model->attempts(),
                 .poison_topic = demo.ctx.topics.phase2_complete(),
                 .poison_id = demo.poison_id,
                 .dlq_entries = rows->size(),
                 .dlq_alerts_delivered = demo.dlq->alerts_delivered(),
                 .dlq_alerts_suppressed = demo.dlq->alerts_suppressed()};
  for (const auto& r : *rows) f.poison_dead_lettered = f.poison_dead_lettered || r.id == demo.poison_id;
  const auto written = demo.tracker_store.committed_write_counts();
  for (auto* t : {demo.to_phase3.get(), demo.to_phase4.get(), demo.to_phase5.get()}) {
    auto st = t->status(date);
    if (!st) return pipeline::fail(st.error());
    auto& per = f.decisions[t->options().name];
    const pipeline::TrackerKeys keys(t->options().name);
    for (const auto& w : st->waves) {
      const auto it = written.find(pipeline::TrackerKeys::decision_key(keys.date_prefix(date), w.number));
      per[w.number] = it == written.end() ? 0 : it->second;
    }
  }
  for (const auto& [topic, list] : demo.seen.triggers) {
    auto& per = f.trigger_deliveries[topic];
    for (const auto& m : list) ++per[m.execution_id];
  }
  for (const auto& [wave, phases] : demo.seen.runs)
    for (const auto& [phase, runs] : phases) {
      std::map<std::string, int> n;
      for (const auto& r : runs)
        if (r.outcome == pipeline::RunOutcome::kCompleted) ++n[r.processor];
      for (const auto& [p, k] : n)
        if (k > f.max_runs_per_processor_wave) f.max_runs_per_processor_wave = k, f.max_runs_processor = p;
    }
  return f;
}

// ---- Wiring: each step adds to `demo`, in the order the original process starts them.

// The services: each phase's processors, each run reported to the observer.
pipeline::Status make_services(Demo& demo) {
  auto observer = [&demo](const pipeline::Processor& p, const pipeline::Message& trigger, const pipeline::RunReport& r,
                          double wall_ms) {
    const int wave = trigger.metadata->is_object() ? trigger.metadata->value("wave", 0) : 0;
    demo.seen.runs[wave][p.options().phase].push_back(run_entry(p, r, wall_ms));
  };
  PIPELINE_TRY(phase2::declare_dependencies(demo.dependencies));
  PIPELINE_TRY(phase3::declare_dependencies(demo.dependencies));
  PIPELINE_TRY(phase4::declare_dependencies(demo.dependencies));
  auto p1 = phase1::make_phase1(demo.ctx, observer);
  if (!p1) return pipeline::fail(p1.error());
  demo.p1 = std::move(*p1);
  auto p2 = phase2::make_phase2(demo.ctx, observer);
  if (!p2) return pipeline::fail(p2.error());
  demo.p2 = std::move(*p2);
  auto p3 = phase3::make_phase3(demo.ctx, observer);
  if (!p3) return pipeline::fail(p3.error());
  demo.p3 = std::move(*p3);
  auto p4 = phase4::make_phase4(demo.ctx, observer);
  if (!p4) return pipeline::fail(p4.error());
  demo.p4 = std::move(*p4);
  if (demo.opt.fail_processor) {
    auto fails = [&demo](const pipeline::Processor& p, const pipeline::Message& trigger) {
      return demo.opt.fail_processor(p.options().name, trigger.partition_date);
    };
    for (auto* s : {demo.p1.service.get(), demo.p2.service.get(), demo.p3.service.get(), demo.p4.service.get()})
      s->set_injected_failure(fails);
  }
  return pipeline::ok();
}

// Trackers from the preset; Phase 2→3 expects exactly the raw processors that exist.
pipeline::Status make_trackers(Demo& demo) {
  const auto& topics = demo.ctx.topics;
  auto presets = nba::tracker_presets(topics.naming);
  presets[0].expected = phase2::raw_processors();
  for (auto& preset : presets) preset.alerts = demo.alerts.get();
  auto t3 = pipeline::CompletionTracker::create(demo.clock, demo.tracker_store, presets[0]);
  if (!t3) return pipeline::fail(t3.error());
  auto t4 = pipeline::CompletionTracker::create(demo.clock, demo.tracker_store, presets[1]);
  if (!t4) return pipeline::fail(t4.error());
  auto t5 = pipeline::CompletionTracker::create(demo.clock, demo.tracker_store, presets[2]);
  if (!t5) return pipeline::fail(t5.error());
  demo.to_phase3 = std::move(*t3);
  demo.to_phase4 = std::move(*t4);
  demo.to_phase5 = std::move(*t5);
  if (demo.to_phase3->options().trigger_topic != topics.phase3_trigger() ||
      demo.to_phase4->options().trigger_topic != topics.phase4_trigger())
    return pipeline::fail(pipeline::ErrorCode::kInternal, "the preset's trigger topics are not the services' topics");
  return pipeline::ok();
}

// Phase 5: coordinator, workers and the hybrid trigger over the warehouse.
pipeline::Status make_phase5(Demo& demo, const pipeline::BatchCoordinatorOptions& coordinator_options,
                             const pipeline::HybridTriggerOptions& hybrid_options) {
  auto p5 = nba::phase5::WarehousePhase5::create(demo.warehouse);
  if (!p5) return pipeline::fail(p5.error());
  demo.phase5 = std::move(*p5);
  auto options = coordinator_options;
  options.relay = demo.relay.get();
  auto coordinator =
      pipeline::BatchCoordinator::create(demo.clock, *demo.opt.store, *demo.alerts, *demo.phase5, *demo.phase5, options);
  if (!coordinator) return pipeline::fail(coordinator.error());
  demo.coordinator = std::move(*coordinator);
  demo.model = std::make_unique<FailOnceModel>(*demo.phase5, demo.opt.inject_faults);
  auto worker = pipeline::PredictionWorker::create(*demo.opt.store, *demo.model);
  if (!worker) return pipeline::fail(worker.error());
  demo.worker = std::move(*worker);
  auto schedule = pipeline::DailySchedule::phase5();
  if (!schedule) return pipeline::fail(schedule.error());
  const auto sched = std::make_shared<const pipeline::DailySchedule>(std::move(*schedule));
  demo.schedule = sched;
  auto hybrid = nba::phase5::make_hybrid_trigger(demo.clock, *demo.opt.store, demo.bus, *demo.coordinator, sched,
                                                 hybrid_options);
  if (!hybrid) return pipeline::fail(hybrid.error());
  demo.hybrid = std::move(*hybrid);
  return pipeline::ok();
}

// The Phase 5 event path: the trigger's own handler, unless this is the lost-event
// variant and the full day's trigger arrives (acknowledged and never handled: lost);
// then the prediction workers.
pipeline::Status subscribe_phase5(Demo& demo, const pipeline::BatchCoordinatorOptions& coordinator_options,
                                  const pipeline::HybridTriggerOptions& hybrid_options) {
  auto sub = demo.bus.subscribe({hybrid_options.subscription, hybrid_options.phase4_topic, {}},
                                [&demo, lose = demo.opt.lose_phase4_event](pipeline::DeliveryPtr d) {
                                  auto m = pipeline::decode_message(d->payload());
                                  if (lose && m && !m->is_incremental && demo.lost_events == 0) {
                                    ++demo.lost_events;
                                    demo.lost_at = demo.clock.now();
                                    pipeline::best_effort_ack(*d);
                                    return;
                                  }
                                  demo.hybrid->on_event(d);
                                });
  if (!sub) return pipeline::fail(sub.error());
  demo.subs.push_back(std::move(*sub));
  auto work = demo.bus.subscribe(
      nba::phase5::worker_subscription("phase5-prediction-workers", coordinator_options.work_topic),
      demo.worker->batching_handler());
  if (!work) return pipeline::fail(work.error());
  demo.subs.push_back(std::move(*work));
  return pipeline::ok();
}

// Watchers first (they see every message), then trackers, Phase 5 and the services.
pipeline::Status subscribe_all(Demo& demo, const pipeline::BatchCoordinatorOptions& coordinator_options,
                               const pipeline::HybridTriggerOptions& hybrid_options) {
  const auto& topics = demo.ctx.topics;
  const bool observe = demo.opt.observe_messages;
  if (observe) {
    for (const auto& t : {topics.phase1_trigger(), topics.phase1_complete(), topics.phase2_complete(),
                          topics.phase3_complete(), topics.phase4_complete()})
      PIPELINE_TRY(demo.watch(t, false));
    for (const auto& t : {topics.phase3_trigger(), topics.phase4_trigger()}) PIPELINE_TRY(demo.watch(t, true));
  }
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase3, topics.phase2_complete()));
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase4, topics.phase3_complete()));
  PIPELINE_TRY(demo.attach_tracker(*demo.to_phase5, topics.phase4_complete()));
  if (observe) {
    PIPELINE_TRY(demo.watch(hybrid_options.phase4_topic, true));
    PIPELINE_TRY(demo.watch(coordinator_options.complete_topic, false));
  }
  PIPELINE_TRY(subscribe_phase5(demo, coordinator_options, hybrid_options));
  for (auto [service, topic] : {std::pair{demo.p1.service.get(), topics.phase1_trigger()},
                                std::pair{demo.p2.service.get(), topics.phase1_complete()},
                                std::pair{demo.p3.service.get(), topics.phase3_trigger()},
                                std::pair{demo.p4.service.get(), topics.phase4_trigger()}}) {
    auto sub = service->subscribe(demo.bus, topic);
    if (!sub) return pipeline::fail(sub.error());
    demo.subs.push_back(std::move(*sub));
  }
  return pipeline::ok();
}

// Everything wired and subscribed, an earlier run's backlog settled; in the fault
// variant, one poison message sent.
pipeline::Status wire(Demo& demo) {
  PIPELINE_TRY(make_services(demo));
  PIPELINE_TRY(make_trackers(demo));
  pipeline::BatchCoordinatorOptions coordinator_options = nba::phase5::coordinator_options();
  // The event is the Phase 4→5 tracker's trigger, which names the phase it triggers.
  coordinator_options.expected_phase = std::string(nba::kPredictionsPhase);
  pipeline::HybridTriggerOptions hybrid_options = nba::phase5::hybrid_trigger_options();
  hybrid_options.phase4_topic = demo.to_phase5->options().trigger_topic;
  PIPELINE_TRY(make_phase5(demo, coordinator_options, hybrid_options));
  // Every topic something consumes: a message that uses up its attempts on any of them
  // (or is rejected at once) becomes a row `pipelinectl dlq list` shows, with an alert.
  // The recorder reads the plain transport: it is the operator's view, not under test.
  const auto& topics = demo.ctx.topics;
  auto dlq = pipeline::DeadLetterRecorder::create(demo.clock, *demo.opt.store, *demo.transport, {.alerts = demo.alerts.get()});
  if (!dlq) return pipeline::fail(dlq.error());
  demo.dlq = std::move(*dlq);
  const std::set<std::string> consumed{topics.phase1_trigger(),       topics.phase1_complete(),
                                       topics.phase2_complete(),      topics.phase3_trigger(),
                                       topics.phase3_complete(),      topics.phase4_trigger(),
                                       topics.phase4_complete(),      hybrid_options.phase4_topic,
                                       coordinator_options.work_topic, coordinator_options.complete_topic};
  for (const auto& t : consumed) PIPELINE_TRY(demo.dlq->watch(t));
  PIPELINE_TRY(subscribe_all(demo, coordinator_options, hybrid_options));
  PIPELINE_TRY(demo.settle());  // a backlog of an earlier run, if any
  if (demo.opt.take_over) {
    // The process that ran this date died: a Phase 5 batch it left waiting has nobody
    // waiting for it but this one.
    auto recovered = demo.coordinator->recover(demo.opt.date, true);
    if (!recovered) return pipeline::fail(recovered.error());
  }
  if (!demo.opt.inject_faults) return pipeline::ok();
  // One poison message on a phase topic: the Phase 2→3 tracker cannot decode it and
  // rejects it, the transport dead-letters it at once, and the recorder keeps it as a row.
  const auto& topic = demo.ctx.topics.phase2_complete();
  demo.poison_id = fmt::format("poison/{}", demo.opt.date);
  return demo.transport->publish(topic, {demo.poison_id, "{\"phase\": 2, \"truncated", {}});
}

// ---- The day.

// Wave 0: the 06:00 schedule scrapes every feed; the trackers decide when all are done.
pipeline::Result<WaveReport> run_full_day(Demo& demo) {
  const auto trigger = phase1::schedule_trigger(demo.opt.date, 0, {}, "daily schedule 06:00 ET");  // the clock's start
  WaveReport wave{.wave = 0, .started_at = demo.clock.now()};
  PIPELINE_TRY(demo.transport->publish(demo.ctx.topics.phase1_trigger(),
                                       {trigger.execution_id, pipeline::encode_message(trigger), {}}));
  PIPELINE_TRY(demo.settle());
  return wave;
}

// Phase 5's morning on the Pacific schedule: the Phase 4 completion time (the tracker's
// decision, in the store — the scheduler path knows it even when the event was lost)
// for the latency, then every job through the 07:00 PT status check. Returns the
// coordinator's report at the status check.
pipeline::Result<pipeline::BatchReport> run_phase5_morning(Demo& demo) {
  const pipeline::CalendarDate date = demo.opt.date;
  auto s5 = demo.to_phase5->status(date);
  if (!s5) return pipeline::fail(s5.error());
  for (const auto& ws : s5->waves)
    if (ws.number == 0 && ws.decided && ws.triggered_at)
      PIPELINE_TRY(demo.coordinator->record_phase4_completion(date, *ws.triggered_at));
  auto day_jobs = demo.schedule->instants(date, date);
  if (!day_jobs) return pipeline::fail(day_jobs.error());
  pipeline::TimePoint status_check_at = demo.clock.now();
  for (const auto& i : *day_jobs)
    if (i.job == "status_check") status_check_at = i.at;
  // The morning runs from its start: a re-run of the date (a resumed backfill) fires its
  // jobs again instead of finding them fired by the run before.
  if (auto forgot = demo.hybrid->fired_jobs().forget(date); !forgot) return pipeline::fail(forgot.error());
  demo.hybrid->scheduler().start();
  PIPELINE_TRY(demo.advance_through(status_check_at));
  return demo.coordinator->status(date);
}

// Wave 1: at 14:00 ET one player's status changes; only the injury report is scraped.
pipeline::Result<WaveReport> run_injury_update(Demo& demo) {
  const pipeline::CalendarDate date = demo.opt.date;
  auto update_at = phase1::injury_update_time(date);
  if (!update_at) return pipeline::fail(update_at.error());
  PIPELINE_TRY(demo.advance_through(*update_at));
  const auto trigger = phase1::schedule_trigger(date, 1, {phase1::scraper_name("nbac_injury_report")},
                                                "injury report re-scrape 14:00 ET");
  WaveReport wave{.wave = 1, .started_at = demo.clock.now(), .update = demo.season.injury_update(date)};
  PIPELINE_TRY(demo.transport->publish(demo.ctx.topics.phase1_trigger(),
                                       {trigger.execution_id, pipeline::encode_message(trigger), {}}));
  PIPELINE_TRY(demo.settle());
  // The trackers' debounce windows close on the clock: Phase 3, Phase 4, then Phase 5.
  const auto debounce = demo.to_phase3->options().debounce;
  for (int hop = 0; hop < 3; ++hop) PIPELINE_TRY(demo.advance_through(demo.clock.now() + debounce));
  return wave;
}

// ---- The report.

std::map<std::string, std::uint64_t> runs_total(const Demo& demo) {
  std::map<std::string, std::uint64_t> out;
  auto count = [&](const pipeline::Processor& p) {
    out[p.options().name] =
        demo.metrics.counter_value("pipeline_processor_runs_total", {{"processor", p.options().name}}).value_or(0);
  };
  for (const auto& p : demo.p1.scrapers) count(*p);
  for (const auto& p : demo.p2.processors) count(*p);
  for (const auto& p : demo.p3.processors) count(*p);
  for (const auto& p : demo.p4.processors) count(*p);
  return out;
}

pipeline::Result<DemoReport> make_report(Demo& demo, std::vector<WaveReport> waves,
                                         const pipeline::BatchReport& morning) {
  const DemoOptions& opt = demo.opt;
  DemoReport report{.date = opt.date,
                    .store = opt.store_label,
                    .warehouse = opt.warehouse_path,
                    .data_dir = opt.data_dir,
                    .finished_at = demo.clock.now()};
  PIPELINE_TRY(fill_waves(report, std::move(waves), demo.seen,
                          {demo.to_phase3.get(), demo.to_phase4.get(), demo.to_phase5.get()},
                          demo.ctx.topics.phase4_trigger()));
  report.runs_total = runs_total(demo);
  auto p5 = phase5_report({*demo.coordinator, demo.warehouse, demo.seen, demo.schedule->zone_name(), demo.alerts_seen},
                          opt.date, morning.version);
  if (!p5) return pipeline::fail(p5.error());
  report.phase5 = std::move(*p5);
  report.phase5.lost_phase4_event = opt.lose_phase4_event;
  phase5_jobs(demo, morning, report.phase5);
  if (opt.inject_faults) {
    auto f = fault_summary(demo);
    if (!f) return pipeline::fail(f.error());
    report.faults = std::move(*f);
  }
  report.tables = table_counts(demo.warehouse, opt.date);
  report.dead_letters = demo.dlq ? demo.dlq->recorded() : 0;
  return report;
}

}  // namespace

pipeline::Result<DemoReport> run_demo(const DemoOptions& opt) {
  if (!opt.store) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "the demo needs a state store");
  std::optional<nba::Warehouse> owned;
  if (opt.warehouse == nullptr) {
    auto wh = nba::Warehouse::open(opt.warehouse_path.string());
    if (!wh) return pipeline::fail(wh.error());
    owned = std::move(*wh);
  }
  auto start = nba_services::eastern_time(opt.date, nba_services::kDailyScrapeTime);
  if (!start) return pipeline::fail(start.error());
  auto demo = std::make_unique<Demo>(opt, *start, std::move(owned), opt.warehouse);
  PIPELINE_TRY(wire(*demo));
  std::vector<WaveReport> waves;
  auto full = run_full_day(*demo);
  if (!full) return pipeline::fail(full.error());
  waves.push_back(std::move(*full));
  auto morning = run_phase5_morning(*demo);
  if (!morning) return pipeline::fail(morning.error());
  if (opt.injury_update) {
    auto update = run_injury_update(*demo);
    if (!update) return pipeline::fail(update.error());
    waves.push_back(std::move(*update));
  }
  auto report = make_report(*demo, std::move(waves), *morning);
  demo->hybrid->stop();
  if (demo->dlq) demo->dlq->close();
  for (auto& s : demo->subs) s->close();
  return report;
}

}  // namespace demo
