// phase5_coordinator --serve: the coordinator's HTTP API (the seeds' /start, /trigger,
// /retry, /status, /health, plus /metrics, /ready and the status page at /) over the
// warehouse, on the system clock, with an in-memory store and an inline transport whose
// prediction workers run in this process. /trigger also takes the seeds' phase4_complete
// message.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "phase5_coordinator/phase4_complete.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/http/coordinator_api.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "status_page_setup.hpp"

int serve(const char* warehouse_path, const char* port, const char* token_file) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  auto warehouse = nba::Warehouse::open(warehouse_path);
  if (!warehouse) {
    std::fprintf(stderr, "%s\n", warehouse.error().to_string().c_str());
    return 1;
  }
  auto phase5 = nba::phase5::WarehousePhase5::create(*warehouse);
  if (!phase5) {
    std::fprintf(stderr, "%s\n", phase5.error().to_string().c_str());
    return 1;
  }
  pipeline::http::HttpServerOptions options;
  options.port = static_cast<std::uint16_t>(std::atoi(port));
  if (token_file != nullptr) {
    auto token = pipeline::http::load_token_file(token_file);
    if (!token) {
      std::fprintf(stderr, "%s\n", token.error().message.c_str());
      return 2;
    }
    options.token = *token;
  }
  pipeline::SystemClock clock;
  pipeline::MetricsRegistry metrics;
  pipeline::MemoryStateStore store;
  pipeline::MemoryTransport transport(clock, {.inline_delivery = true});
  pipeline::OutboxRelay relay(store, transport, clock);
  pipeline::AlertManager alerts(
      clock, {std::make_shared<pipeline::StructuredLogSink>(std::cerr), std::make_shared<pipeline::StoreAlertSink>(store)});
  pipeline::BatchCoordinator coordinator(clock, store, alerts, **phase5, **phase5, &relay,
                                         nba::phase5::coordinator_options());
  pipeline::PredictionWorker worker(store, **phase5, [&](pipeline::CalendarDate d) { (void)coordinator.note_progress(d); });
  auto sub = transport.subscribe(nba::phase5::worker_subscription("phase5-workers", coordinator.options().work_topic),
                                 worker.handler());
  if (!sub) {
    std::fprintf(stderr, "%s\n", sub.error().to_string().c_str());
    return 1;
  }
  pipeline::http::Router router;
  pipeline::http::CoordinatorApiOptions api;
  api.decode = [](std::string_view payload) { return nba::phase5::decode_any_message(payload); };
  pipeline::http::Router ops;
  if (!pipeline::http::mount_coordinator_api(router, coordinator, api) ||
      !pipeline::http::mount_operations(ops, {&metrics, {}, "phase5-coordinator"}))
    return 1;
  (void)router.add("GET", "/ready", [&ops](const pipeline::http::HttpRequest& r) { return ops.handle(r); });
  (void)router.add("GET", "/metrics", [&ops](const pipeline::http::HttpRequest& r) { return ops.handle(r); });
  options.metrics = &metrics;
  if (!pipelinectl::mount_status_page(router, options, store, clock, coordinator.options().key_prefix, &relay)) return 1;
  auto server = pipeline::http::HttpServer::create(std::move(router), options);
  if (!server || !(*server)->start()) {
    std::fprintf(stderr, "%s\n", server ? "cannot listen" : server.error().message.c_str());
    return 1;
  }
  std::printf("phase5_coordinator: listening on 127.0.0.1:%u\n", (*server)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->stop();
  return 0;
}
