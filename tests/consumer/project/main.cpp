// A consumer of the installed (or added) package, built as a team would build its first
// pipeline: three loaders (phase "load") hand off to a billing report (phase "report").
// Their completions reach the tracker through subscribe_tracker, one of them twice and one
// out of order; the outbox relay publishes the trigger; the report service receives it and
// raises an alert that the rate limiter holds back and later summarizes in a digest.
// Every outcome is checked: the program fails (exit 1) on the first one that is wrong, and
// run_consumer.cmake matches what it prints.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pipeline/pipeline.hpp>
#include <pipeline/mocks/recording_transport.hpp>  // pipeline::mocks compiles in a consumer

#ifdef CONSUMER_HAS_SCHEDULE
#include <pipeline/schedule/daily_schedule.hpp>
// pipeline::schedule links date-tz privately: none of its definitions reach us.
#if defined(USE_OS_TZDB) || defined(HAS_REMOTE_API) || defined(ONLY_C_LOCALE)
#error "date-tz compile definitions leaked into a consumer of pipeline::schedule"
#endif
#endif

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "consumer check failed: %s (line %d)\n", #cond, __LINE__); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

int main() {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto transport = pipeline::MemoryTransport::create(clock).value();
  auto relay = pipeline::OutboxRelay::create(clock, store, *transport);
  CHECK(relay);

  std::vector<pipeline::Alert> alerts_seen;
  auto sink = pipeline::CallbackAlertSink::create([&](const pipeline::Alert& a) { alerts_seen.push_back(a); }).value();
  pipeline::AlertManagerOptions alert_config;
  alert_config.limits.warning = {std::chrono::minutes(10), 1};  // one warning per key per 10 minutes
  alert_config.digest_flush_interval = pipeline::Duration::zero();  // flush_digests() by hand
  auto alerts = pipeline::AlertManager::create(clock, {sink}, alert_config).value();

  const std::vector<std::string> loaders = {"customers_loader", "invoices_loader", "shipments_loader"};
  pipeline::CompletionTrackerOptions config;
  config.name = "billing_report";
  config.upstream_phase = "load";
  config.downstream_phase = "report";
  config.expected = loaders;
  config.trigger_topic = "billing-report-trigger";
  CHECK(config.registry.add_processor("billing_report", "report"));
  for (const auto& loader : loaders) {
    CHECK(config.registry.add_processor(loader, "load"));
    CHECK(config.registry.add_trigger(loader, {"billing_report"}));
  }
  config.alerts = alerts.get();
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
  CHECK(tracker);
  auto feed = pipeline::subscribe_tracker(*transport, **tracker, "load-complete");
  CHECK(feed);
  int completions_delivered = 0;  // an audit subscription on the same topic
  auto audit = transport->subscribe({"load-audit", "load-complete", {}}, [&](pipeline::DeliveryPtr d) {
    ++completions_delivered;
    (void)d->ack();
  });
  CHECK(audit);

  std::vector<std::string> triggers;
  auto report = transport->subscribe({"billing-report", "billing-report-trigger", {}}, [&](pipeline::DeliveryPtr d) {
    triggers.push_back(d->id());
    (void)d->ack();
  });
  CHECK(report);

  auto date = pipeline::CalendarDate::parse("2025-11-18");
  CHECK(date);
  auto completion = [&](const std::string& loader) {
    pipeline::Message m;
    m.processor_name = loader;
    m.phase = "load";
    m.execution_id = pipeline::new_execution_id();
    m.partition_date = *date;
    m.record_count = 100;
    m.metadata = nlohmann::json{{"source", "erp"}};
    return pipeline::OutgoingMessage{loader + "/" + date->to_string() + "/" + m.execution_id,
                                     pipeline::encode_message(m), {}};
  };
  const auto customers = completion("customers_loader");
  // Out of order: shipments before invoices; customers delivered twice, the second time
  // after the trigger was decided (an at-least-once redelivery).
  for (const auto& m : {customers, completion("shipments_loader"), completion("invoices_loader"), customers})
    CHECK(transport->publish("load-complete", m));
  const pipeline::QuietLoop loop{.transport = transport.get(), .relays = {relay->get()}};
  CHECK(pipeline::run_until_quiet(loop));

  const std::string prefix = pipeline::TrackerKeys(config.name).date_prefix(*date);
  auto decisions = store.scan(prefix + "decision/");
  auto executions = store.scan(prefix + "exec/");
  CHECK(decisions && executions);
  CHECK(decisions->size() == 1);
  CHECK(completions_delivered == 4 && executions->size() == 3);  // the duplicate recorded nothing
  auto again = (*tracker)->record_completion(*pipeline::decode_message(customers.payload));
  CHECK(again && again->kind == pipeline::RecordKind::kDuplicate && again->triggered.empty());
  CHECK(triggers.size() == 1 && triggers[0] == (*tracker)->trigger_id(*date, 0));
  auto status = (*tracker)->status(*date);
  CHECK(status && status->missing.empty() && status->waves.size() == 1 && status->waves[0].reason == "complete");
  std::printf("decisions: %zu, trigger delivered %zux: %s, completions delivered %d, recorded %zu, duplicate: %s\n",
              decisions->size(), triggers.size(), triggers[0].c_str(), completions_delivered, executions->size(),
              std::string(pipeline::to_string(again->kind)).c_str());

  // The same alert key four times: the first passes, three wait; once the key is quiet a
  // digest says how many were held back.
  for (int i = 0; i < 4; ++i)
    alerts->raise(pipeline::Severity::kWarning, "billing_report/2025-11-18/stale_rates", "exchange rates are stale");
  CHECK(alerts_seen.size() == 1 && alerts->flush_digests() == 0);  // not quiet yet
  clock.advance(std::chrono::minutes(10));
  CHECK(alerts->flush_digests() == 1);
  CHECK(alerts_seen.size() == 2 && alerts_seen[1].suppressed_count == 3 && alerts_seen[1].context["digest"] == true);
  std::printf("alerts delivered: %zu, digest: %s (suppressed_count %llu)\n", alerts_seen.size(),
              alerts_seen[1].message.c_str(), static_cast<unsigned long long>(alerts_seen[1].suppressed_count));

#ifdef CONSUMER_HAS_SCHEDULE
  {
    // 06:00 Pacific on the spring-forward day is already PDT: 13:00Z.
    auto schedule = pipeline::DailySchedule::create("America/Los_Angeles", {{"backup", std::chrono::hours(6)}});
    auto day = pipeline::CalendarDate::parse("2025-03-09");
    CHECK(schedule && day);
    auto instants = schedule->instants(*day, *day);
    CHECK(instants && instants->size() == 1 && pipeline::format_rfc3339(instants->front().at) == "2025-03-09T13:00:00Z");
    std::printf("schedule ok: %s\n", instants->front().wall.to_string().c_str());
  }
#endif
  std::printf("pipeline %s consumer ok: %s\n", pipeline::kVersion, date->to_string().c_str());
  return 0;
}
