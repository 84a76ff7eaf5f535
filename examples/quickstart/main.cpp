// Quickstart: a two-phase pipeline whose hand-off is decided once.
// Three loaders publish completions; a CompletionTracker fed from their topic decides the
// report trigger once (durably, in SQLite), the outbox relay publishes it with its stable
// id, and the report service receives it. inventory_loader is late: at the deadline the
// tracker triggers with 2 of 3 and raises a warning through the AlertManager.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <pipeline/pipeline.hpp>
#include <pipeline/sqlite/sqlite_state_store.hpp>
#include "pipeline/core/best_effort_settle.hpp"

int main(int argc, char** argv) {
  const std::string db = argc > 1 ? argv[1] : "quickstart.db";  // a new file: decisions survive restarts
  pipeline::ManualClock clock;                  // SystemClock in a service
  // Says what went wrong and ends the program with 1.
  auto fail = [](const pipeline::Error& e) {
    std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  };
  auto store = pipeline::SqliteStateStore::open(db);
  if (!store) return fail(store.error());
  auto transport = pipeline::MemoryTransport::create(clock);  // your Pub/Sub or Redis adapter in production
  if (!transport) return fail(transport.error());
  auto publisher = pipeline::UnifiedPublisher::create(clock, **transport);  // what processors publish with
  if (!publisher) return fail(publisher.error());
  auto relay = pipeline::OutboxRelay::create(clock, **store, (*publisher)->send_step());
  if (!relay) return fail(relay.error());

  // Alerts go to sinks, rate-limited per key; here a callback that prints them.
  auto sink = pipeline::CallbackAlertSink::create([](const pipeline::Alert& a) {
    std::printf("alert %s %s: %s\n", std::string(pipeline::to_string(a.severity)).c_str(), a.key.c_str(),
                a.message.c_str());
  });
  if (!sink) return fail(sink.error());
  auto alerts = pipeline::AlertManager::create(clock, {*sink});
  if (!alerts) return fail(alerts.error());

  // "Run the report once the three loaders are done (or 2 of 3 after 30 minutes)."
  pipeline::CompletionTrackerOptions config;
  config.name = "daily_report";
  config.upstream_phase = "load";
  config.downstream_phase = "report";
  config.expected = {"orders_loader", "payments_loader", "inventory_loader"};
  config.trigger_topic = "report-trigger";
  config.deadline = std::chrono::minutes(30);
  config.partial_threshold = 0.6;
  if (!config.registry.add_processor("daily_report", "report")) return 1;
  for (const auto& loader : config.expected)
    if (!config.registry.add_processor(loader, "load") || !config.registry.add_trigger(loader, {"daily_report"}))
      return 1;
  config.alerts = alerts->get();
  auto tracker = pipeline::CompletionTracker::create(clock, **store, config);
  if (!tracker) return fail(tracker.error());

  // The tracker reads the loaders' completion topic; the report service reads the trigger.
  auto feed = pipeline::subscribe_tracker(**transport, **tracker, "load-complete");
  auto report = (*transport)->subscribe({"report-service", "report-trigger", {}}, [](pipeline::DeliveryPtr d) {
    auto trigger = pipeline::decode_message(d->payload());
    if (!trigger) return pipeline::best_effort_reject(*d, trigger.error().to_string());
    std::printf("report service: trigger %s, run %s\n", d->id().c_str(),
                trigger->metadata["run_processors"].dump().c_str());
    pipeline::best_effort_ack(*d);
  });
  if (!feed || !report) return 1;

  // Each loader, when done, publishes one completion message.
  const auto date = pipeline::CalendarDate::parse("2025-11-18");
  if (!date) return 1;
  auto complete = [&](const char* loader, std::int64_t records) {
    pipeline::Message m;
    m.processor_name = loader;
    m.phase = "load";
    m.execution_id = pipeline::new_execution_id();
    m.partition_date = *date;
    m.record_count = records;
    m.metadata = nlohmann::json{{"source", "nightly"}};
    return m;
  };
  auto payments = complete("payments_loader", 980);
  // At-least-once: payments_loader's message is delivered twice, and counted once.
  for (const auto& m : {complete("orders_loader", 1200), payments, payments})
    if (auto sent = (*publisher)->publish("load-complete", m); !sent) return fail(sent.error());

  pipeline::QuietLoop loop{.transport = transport->get(), .relays = {relay->get()}, .publishers = {publisher->get()}};
  if (auto r = pipeline::run_until_quiet(loop); !r) return 1;
  clock.advance(std::chrono::minutes(30));  // inventory_loader is late: the deadline passes
  if (auto r = pipeline::run_until_quiet(loop); !r) return 1;

  auto status = (*tracker)->status(*date);
  if (!status) return 1;
  std::printf("tracker: %zu of %zu loaders done, missing %s\n", status->done.size(), status->expected.size(),
              status->to_json()["missing"].dump().c_str());
}
