// pipelinectl serve: the Phase 5 coordinator's HTTP API (its /trigger takes the Pub/Sub
// push envelope), the transport bridge (/push and /events: any unified message, as a push
// envelope or a CloudEvent, published to --transport), /metrics, /health and /ready, and
// the status page (/, /api/status), on a store, until SIGTERM or SIGINT. Alerts go to
// stderr and to the store (the page shows them).
//
// Readiness and the expected entities are the last upstream completion's (StoredUpstream),
// as in `pipelinectl phase5`; work goes to the store's outbox, and the service runtime's
// relay publishes it to --transport right after each deciding commit (a memory transport
// keeps it in the process). The readiness wait runs on the system clock, never on a
// connection. The runtime also answers /ready and samples the outbox backlog for /metrics.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "command.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/http/coordinator_api.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "pipeline/http/transport_bridge.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "status_page_setup.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

namespace cmd_serve {

struct Options {
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string token_file;
  std::string store = "memory";
  std::string transport = "memory";
  std::string worker = "phase5-prediction-worker";
  double max_wait_minutes = 30;
  double min_entities = 50;
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  std::size_t max_connections = 256;
  pipeline::BatchCoordinatorOptions coordinator;
};

int run(const Options& opts) {
  constexpr const char* what = "pipelinectl serve";
  if (opts.port < 0 || opts.port > 65535) {
    std::fprintf(stderr, "%s: --port %d is not a port (0-65535; 0 picks a free one)\n", what, opts.port);
    return pipelinectl::kExitUsage;
  }
  if (auto t = pipelinectl::parse_transport_uri(opts.transport); !t) {
    std::fprintf(stderr, "%s: --transport: %s\n", what, t.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  pipeline::http::HttpServerOptions server_options;
  server_options.bind_address = opts.bind;
  server_options.port = static_cast<std::uint16_t>(opts.port);
  server_options.max_body_bytes = opts.max_body_bytes;
  server_options.max_connections = opts.max_connections;
  if (!opts.token_file.empty()) {
    auto token = pipeline::http::load_token_file(opts.token_file);
    if (!token) {
      std::fprintf(stderr, "%s: --token-file: %s\n", what, token.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
    server_options.token = std::move(*token);
  }
  pipeline::BatchCoordinatorOptions coordinator_options = opts.coordinator;
  coordinator_options.readiness.max_wait =
      std::chrono::duration_cast<pipeline::Duration>(std::chrono::duration<double, std::ratio<60>>(opts.max_wait_minutes));
  coordinator_options.readiness.min_entities = static_cast<std::size_t>(opts.min_entities);
  if (auto st = coordinator_options.validate(); !st) return pipelinectl::options_error_exit(what, st.error());
  // Signals are taken by sigwait below: blocked before any thread starts, so every thread
  // inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = pipelinectl::open_store(opts.store, pipelinectl::StoreAccess::kCreate);
  if (!store) {
    std::fprintf(stderr, "%s: %s\n", what, store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  pipeline::SystemClock clock;
  auto transport = pipelinectl::open_transport(opts.transport, clock, 1);
  if (!transport) {
    std::fprintf(stderr, "%s: %s\n", what, transport.error().message.c_str());
    return pipelinectl::transport_error_exit(transport.error());
  }
  auto registry = pipeline::MetricsRegistry::create();
  if (!registry) return pipelinectl::options_error_exit(what, registry.error());
  pipeline::MetricsRegistry& metrics = *registry;
  coordinator_options.metrics = &metrics;
  pipeline::ServiceRuntimeOptions runtime_options;
  runtime_options.name = "pipelinectl-serve";
  runtime_options.metrics = &metrics;
  auto runtime = pipeline::ServiceRuntime::create(clock, **store, **transport, runtime_options);
  if (!runtime) {
    std::fprintf(stderr, "%s: %s\n", what, runtime.error().message.c_str());
    return pipelinectl::kExitFailed;
  }
  pipeline::ServiceRuntime& rt = **runtime;
  auto log = pipeline::StructuredLogSink::create(stderr);
  if (!log) return pipelinectl::options_error_exit(what, log.error());
  auto kept = pipeline::StoreAlertSink::create(**store);  // the status page shows them
  if (!kept) return pipelinectl::options_error_exit(what, kept.error());
  auto alerts = pipeline::AlertManager::create(clock, {*log, *kept}, {.metrics = &metrics});
  if (!alerts) return pipelinectl::options_error_exit(what, alerts.error());
  auto created_upstream = pipeline::StoredUpstream::create(**store, {coordinator_options.key_prefix, opts.worker});
  if (!created_upstream) return pipelinectl::options_error_exit(what, created_upstream.error());
  pipeline::StoredUpstream& upstream = *created_upstream;
  coordinator_options.relay = &rt.relay();
  auto created = pipeline::BatchCoordinator::create(clock, **store, **alerts, upstream, upstream, coordinator_options);
  if (!created) return pipelinectl::options_error_exit(what, created.error());
  pipeline::BatchCoordinator& coordinator = **created;

  pipeline::http::Router router;
  pipeline::http::CoordinatorApiOptions api;
  pipeline::StateStore& st = **store;
  const std::string prefix = coordinator_options.key_prefix;
  // Without an upstream entity list the rows alone still tell the batch's state.
  api.status = [&st, &upstream, &coordinator, prefix](pipeline::CalendarDate date) -> pipeline::Result<pipeline::BatchReport> {
    auto summary = upstream.summary(date);
    if (!summary) return pipeline::fail(summary.error());
    if (*summary && (*summary)->entities) return coordinator.status(date);
    return pipeline::BatchCoordinator::load_report(st, prefix, date);
  };
  pipeline::http::OperationsOptions ops;
  ops.metrics = &metrics;
  ops.service = "pipelinectl-serve";
  ops.readiness = [&rt] { return pipeline::http::readiness_from(rt.health()); };
  if (auto s = pipeline::http::mount_coordinator_api(router, coordinator, api); !s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
    return pipelinectl::kExitFailed;
  }
  if (auto s = pipeline::http::mount_transport_bridge(router, **transport); !s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
    return pipelinectl::kExitFailed;
  }
  // The coordinator's /health (batches, outbox) replaces the generic one.
  pipeline::http::Router ops_router;
  if (auto s = pipeline::http::mount_operations(ops_router, ops); !s) return pipelinectl::kExitFailed;
  for (const char* path : {"/ready", "/metrics"})
    if (auto s = router.add("GET", path, [&ops_router](const pipeline::http::HttpRequest& r) { return ops_router.handle(r); }); !s) {
      std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
      return pipelinectl::kExitFailed;
    }
  server_options.metrics = &metrics;
  if (auto s = pipelinectl::mount_status_page(router, server_options, st, clock, prefix, &rt.relay()); !s)
    return pipelinectl::kExitFailed;

  auto server = pipeline::http::HttpServer::create(std::move(router), server_options);
  if (!server) {
    std::fprintf(stderr, "%s: %s\n", what, server.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  if (auto s = rt.start(); !s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
    return pipelinectl::kExitFailed;
  }
  if (auto s = (*server)->start(); !s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
    return pipelinectl::kExitFailed;
  }
  std::printf("pipelinectl serve: listening on %s:%u (store %s)\n", opts.bind.c_str(), (*server)->port(),
              pipelinectl::redacted_store_uri(opts.store).c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "%s: %s received; draining\n", what, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->stop(std::chrono::seconds(10));
  // Then the runtime: its relay's last flush sends what the last requests committed.
  rt.request_stop();
  if (auto report = rt.wait(); report.flush_error)
    std::fprintf(stderr, "%s: the outbox keeps what the last flush could not send: %s\n", what,
                 report.flush_error->message.c_str());
  std::fprintf(stderr, "%s: stopped\n", what);
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"serve", "Serve the Phase 5 coordinator's HTTP API, /push and /events, /metrics, /health and /ready until SIGTERM",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--bind", opts->bind, "Address to listen on (default 127.0.0.1; others need --token-file)");
       sub.add_option("--port", opts->port, "Port (default 8080; 0 picks a free one and prints it)");
       sub.add_option("--token-file", opts->token_file, "File holding the bearer token every request but /health and /ready needs");
       sub.add_option("--store", opts->store, "memory | sqlite:PATH | postgresql://... (default memory)");
       pipelinectl::add_transport_option(sub, opts->transport);
       sub.add_option("--prefix", opts->coordinator.key_prefix, "The coordinator's key prefix (default phase5)");
       sub.add_option("--work-topic", opts->coordinator.work_topic, "Where work messages go");
       sub.add_option("--complete-topic", opts->coordinator.complete_topic, "Where the completion goes");
       sub.add_option("--expected-phase", opts->coordinator.expected_phase, "The phase /trigger accepts");
       sub.add_option("--entity-kind", opts->coordinator.entity_kind, "The entity kind the upstream lists");
       sub.add_option("--worker", opts->worker, "The prediction workers' consumer name");
       sub.add_option("--max-wait-minutes", opts->max_wait_minutes, "Readiness wait before deciding (default 30)");
       sub.add_option("--min-entities", opts->min_entities, "Fewest entities ready to go on after the wait (default 50)");
       sub.add_option("--max-body-bytes", opts->max_body_bytes, "Largest request body (default 10 MB)");
       sub.add_option("--max-connections", opts->max_connections, "Connections served at once (default 256)");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_serve
