// phase5_coordinator: Phase 5 as a long-running service — the batch coordinator driven by the
// hybrid trigger (the 4→5 tracker's trigger on the transport, and the 06:00/06:15/06:30/07:00
// Pacific jobs on the clock), and the prediction workers on the work topic — over --store,
// --transport and --warehouse; with --port, also the seeds' HTTP API (/start, /trigger,
// /retry, /status, /health, plus /ready and /metrics). --once runs one date now in simulated
// time and prints its status.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "nba_service_common/service.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "service_options.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

#ifdef PHASE5_HAVE_HTTP
#include "phase5_coordinator/phase4_complete.hpp"
#include "pipeline/http/coordinator_api.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "status_page_setup.hpp"
#endif

namespace nba::phase5 {
namespace {

// Called per stored prediction. A failed check needs no handling here: the next stored
// prediction checks again, and the coordinator's recover job completes the batch.
void note_progress(pipeline::BatchCoordinator& coordinator, pipeline::CalendarDate date) {
  pipeline::discard_result(coordinator.note_progress(date));
}

struct Flags {
  std::string store = "sqlite:state.db";
  std::string transport = "memory";
  std::string warehouse = "warehouse.db";
  std::size_t workers = 2;
  std::optional<int> readiness_wait_s;  // unset: the coordinator's (30 min)
  pipelinectl::ServiceFlags service;
  std::optional<int> port;  // the HTTP API, when set
  std::string bind = "127.0.0.1";
  std::string token_file;
  bool once = false;
  std::string date = "2025-11-18";
  bool force = false;
};

int failed(const char* what, const pipeline::Error& e, int code = pipelinectl::kExitFailed) {
  std::fprintf(stderr, "phase5_coordinator: %s: %s\n", what, e.to_string().c_str());
  return code;
}

// --once: in-memory store and inline transport, simulated time; the batch for one date, a
// retry and the status check; the status as JSON. 0 when every expected player has a
// prediction, 3 when some are missing or none was expected.
int run_once(const Flags& f) {
  auto date = pipeline::CalendarDate::parse(f.date);
  if (!date) return failed("--date", date.error(), pipelinectl::kExitUsage);
  auto warehouse = nba::Warehouse::open(f.warehouse);
  if (!warehouse) return failed("--warehouse", warehouse.error());
  auto phase5 = WarehousePhase5::create(*warehouse);
  if (!phase5) return failed("warehouse", phase5.error());
  pipeline::ManualClock clock;  // simulated time: a 30-minute wait takes no wall time
  auto store = pipeline::MemoryStateStore::create();
  if (!store) return failed("store", store.error());
  auto transport = pipeline::MemoryTransport::create(clock, {.inline_delivery = true});
  if (!transport) return failed("transport", transport.error());
  auto relay = pipeline::OutboxRelay::create(clock, *store, **transport);
  if (!relay) return failed("relay", relay.error());
  auto log = pipeline::StructuredLogSink::create(std::cerr);
  if (!log) return failed("alerts", log.error());
  auto alerts = pipeline::AlertManager::create(clock, {*log});
  if (!alerts) return failed("alerts", alerts.error());
  pipeline::BatchCoordinatorOptions options = coordinator_options();
  options.relay = relay->get();
  auto created = pipeline::BatchCoordinator::create(clock, *store, **alerts, **phase5, **phase5, options);
  if (!created) return failed("coordinator", created.error());
  pipeline::BatchCoordinator& coordinator = **created;
  auto worker = pipeline::PredictionWorker::create(
      *store, **phase5, {.progress = [&](pipeline::CalendarDate d) { note_progress(coordinator, d); }});
  if (!worker) return failed("worker", worker.error());
  auto sub = (*transport)->subscribe(worker_subscription("phase5-workers", coordinator.options().work_topic), (*worker)->handler());
  if (!sub) return failed("subscribe", sub.error());
  auto started = coordinator.start(*date, f.force, pipeline::BatchTrigger::kManual);
  if (!started) return failed("start", started.error());
  std::cerr << "start: " << pipeline::to_string(started->status) << " " << started->batch_id << "\n";
  clock.advance(coordinator.options().readiness.max_wait);  // let a wait finish
  if (auto retried = coordinator.retry(*date)) std::cerr << "retry: " << pipeline::to_string(retried->status) << "\n";
  auto check = coordinator.status_check(*date);
  if (!check) return failed("status check", check.error());
  std::cout << check->report.to_json().dump(2) << "\n";
  return check->report.fully_complete ? pipelinectl::kExitOk : 3;
}

#ifdef PHASE5_HAVE_HTTP
// --port: the seeds' API over this process's coordinator, /ready from the runtime's health,
// and the status page (/) over the store.
pipeline::Result<std::unique_ptr<pipeline::http::HttpServer>> start_http(const Flags& f,
                                                                        pipeline::BatchCoordinator& coordinator,
                                                                        pipeline::ServiceRuntime& runtime,
                                                                        pipeline::StateStore& store, pipeline::Clock& clock,
                                                                        pipeline::MetricsRegistry& metrics) {
  pipeline::http::HttpServerOptions options;
  options.bind_address = f.bind;
  options.port = static_cast<std::uint16_t>(*f.port);
  options.metrics = &metrics;
  if (!f.token_file.empty()) {
    auto token = pipeline::http::load_token_file(f.token_file);
    if (!token) return pipeline::fail(token.error());
    options.token = std::move(*token);
  }
  pipeline::http::Router router;
  pipeline::http::CoordinatorApiOptions api;
  api.decode = [](std::string_view payload) { return decode_any_message(payload); };
  PIPELINE_TRY(pipeline::http::mount_coordinator_api(router, coordinator, api));
  // The coordinator's /health (batches, outbox) stays; /ready and /metrics come from here.
  auto ops = std::make_shared<pipeline::http::Router>();
  PIPELINE_TRY(pipeline::http::mount_operations(
      *ops, {&metrics, [&runtime] { return pipeline::http::readiness_from(runtime.health()); }, "phase5_coordinator"}));
  for (const char* path : {"/ready", "/metrics"})
    PIPELINE_TRY(router.add("GET", path, [ops](const pipeline::http::HttpRequest& r) { return ops->handle(r); }));
  PIPELINE_TRY(pipelinectl::mount_status_page(router, options, store, clock, coordinator.options().key_prefix,
                                              &runtime.relay()));
  auto server = pipeline::http::HttpServer::create(std::move(router), options);
  if (!server) return pipeline::fail(server.error());
  PIPELINE_TRY((*server)->start());
  std::printf("phase5_coordinator: listening on %s:%u\n", f.bind.c_str(), (*server)->port());
  return std::move(*server);
}
#endif

int serve(const Flags& f) {
  pipeline::SystemClock clock(f.service.clock_offset());
  auto store = pipelinectl::open_store(f.store, pipelinectl::StoreAccess::kCreate);
  if (!store) return failed("--store", store.error(), pipelinectl::store_error_exit(store.error()));
  auto transport = pipelinectl::open_transport(f.transport, clock, f.workers);
  if (!transport) return failed("--transport", transport.error(), pipelinectl::transport_error_exit(transport.error()));
  auto warehouse = nba::Warehouse::open(f.warehouse);
  if (!warehouse) return failed("--warehouse", warehouse.error());
  auto phase5 = WarehousePhase5::create(*warehouse);
  if (!phase5) return failed("warehouse", phase5.error());

  // The alert rules' metrics (deploy/prometheus): the runtime's backlog, the coordinator's
  // refusals and coverage.
  auto registry = pipeline::MetricsRegistry::create();
  if (!registry) return failed("metrics", registry.error());
  pipeline::MetricsRegistry& metrics = *registry;
  pipeline::ServiceRuntimeOptions runtime_options;
  runtime_options.name = "phase5_coordinator";
  runtime_options.metrics = &metrics;
  auto runtime = pipeline::ServiceRuntime::create(clock, **store, **transport, runtime_options);
  if (!runtime) return failed("runtime", runtime.error());
  // The store keeps the alerts too: the status page (--port) shows them.
  auto log = pipeline::StructuredLogSink::create(std::cerr);
  if (!log) return failed("alerts", log.error());
  auto kept = pipeline::StoreAlertSink::create(**store);
  if (!kept) return failed("alerts", kept.error());
  auto alerts = pipeline::AlertManager::create(clock, {*log, *kept}, {.metrics = &metrics});
  if (!alerts) return failed("alerts", alerts.error());
  pipeline::BatchCoordinatorOptions options = coordinator_options();
  options.metrics = &metrics;
  options.expected_phase = std::string(nba::kPredictionsPhase);  // the 4→5 tracker's trigger names it
  if (f.readiness_wait_s) options.readiness.max_wait = std::chrono::seconds(*f.readiness_wait_s);
  options.relay = &(*runtime)->relay();
  auto created = pipeline::BatchCoordinator::create(clock, **store, **alerts, **phase5, **phase5, options);
  if (!created) return failed("coordinator", created.error());
  pipeline::BatchCoordinator& coordinator = **created;
  auto worker = pipeline::PredictionWorker::create(
      **store, **phase5, {.progress = [&coordinator](pipeline::CalendarDate d) { note_progress(coordinator, d); }});
  if (!worker) return failed("worker", worker.error());
  pipeline::SubscribeParams work = worker_subscription(std::string(kWorkerSubscription), options.work_topic);
  work.settings.ack_deadline = f.service.ack_deadline();
  // --workers handler threads each take the work subscription's deliveries.
  if (auto st = (*runtime)->subscribe(work, nba_services::logging_deliveries((*worker)->handler())); !st)
    return failed("subscribe", st.error());
  pipeline::HybridTriggerOptions hybrid_options = hybrid_trigger_options();
  hybrid_options.phase4_topic = nba_services::Topics{}.phase5_trigger();
  hybrid_options.settings = f.service.settings();
  hybrid_options.instance = "phase5_coordinator-" + std::to_string(::getpid());
  auto schedule = pipeline::DailySchedule::phase5();
  if (!schedule) return failed("schedule", schedule.error());
  const auto shared_schedule = std::make_shared<const pipeline::DailySchedule>(std::move(*schedule));
  auto created_hybrid = make_hybrid_trigger(clock, **store, **transport, coordinator, shared_schedule, hybrid_options);
  if (!created_hybrid) return failed("trigger", created_hybrid.error());
  auto hybrid = std::move(*created_hybrid);

  if (auto st = pipeline::ServiceRuntime::stop_on_signals(**runtime); !st) return failed("signals", st.error());
#ifdef PHASE5_HAVE_HTTP
  std::unique_ptr<pipeline::http::HttpServer> server;
  if (f.port) {
    auto started = start_http(f, coordinator, **runtime, **store, clock, metrics);
    if (!started) return failed("--port", started.error());
    server = std::move(*started);
  }
#endif
  // A batch left waiting by a coordinator that died is taken over once its wait is past.
  if (auto st = (*runtime)->every("recover", std::chrono::minutes(1), [&coordinator, &clock, shared_schedule]() -> pipeline::Status {
        auto recovered = coordinator.recover(shared_schedule->wall_time(clock.now()).date, false);
        return recovered ? pipeline::ok() : pipeline::fail(recovered.error());
      });
      !st)
    return failed("recover", st.error());
  if (auto st = (*runtime)->start(); !st) return failed("start", st.error());
  if (auto st = hybrid->start(); !st) return failed("trigger", st.error());
  std::printf("phase5_coordinator: serving %s and %s with %zu prediction workers\n", hybrid_options.phase4_topic.c_str(),
              options.work_topic.c_str(), f.workers);
  std::fflush(stdout);
  const pipeline::DrainReport report = (*runtime)->wait();
  hybrid->stop();
#ifdef PHASE5_HAVE_HTTP
  if (server) server->stop();
#endif
  pipelinectl::print_drain_report("phase5_coordinator", report);
  return pipelinectl::kExitOk;
}

}  // namespace

int service_main(int argc, char** argv) {
  CLI::App app{"Phase 5: the prediction batch coordinator and its workers (serves the 4->5 trigger and the Pacific "
               "schedule; --once: one date now)"};
  Flags f;
  app.add_option("--store", f.store, "sqlite:PATH | postgresql://... (created when missing)")->capture_default_str();
  pipelinectl::add_transport_option(app, f.transport);
  app.add_option("--warehouse", f.warehouse, "The warehouse (SQLite file) holding Phase 4's features")
      ->capture_default_str();
  app.add_option("--workers", f.workers, "Prediction worker threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--readiness-wait", f.readiness_wait_s, "Seconds a batch waits for players to be ready (default 1800)")
      ->check(CLI::Range(0, 86400));
  app.add_option("--port", f.port, "Also serve the coordinator's HTTP API and the status page on this port (0: a free one)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--bind", f.bind, "Address of the HTTP API (others than loopback need --token-file)")
      ->capture_default_str();
  app.add_option("--token-file", f.token_file, "Bearer token of the HTTP API");
  app.add_flag("--once", f.once, "Run --date now in simulated time (in-memory store) and print its status");
  app.add_option("--date", f.date, "The game date of --once (YYYY-MM-DD)")->capture_default_str();
  app.add_flag("--force", f.force, "With --once: start a new batch even when the date has one");
  pipelinectl::add_service_flags(app, f.service);
  if (auto code = pipelinectl::parse_or_exit(app, argc, argv)) return *code;
#ifndef PHASE5_HAVE_HTTP
  if (f.port) {
    std::fprintf(stderr, "phase5_coordinator: built without pipeline::http; --port is not available\n");
    return pipelinectl::kExitUsage;
  }
#endif
  return f.once ? run_once(f) : serve(f);
}

}  // namespace nba::phase5
