#include "nba_service_common/phase_main.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "service_options.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

namespace nba_services {
namespace {

struct Flags {
  std::string store = "sqlite:state.db";
  std::string transport = "memory";
  std::string warehouse = "warehouse.db";
  std::string data_dir = "scraped";
  std::string date = "2025-11-18";
  bool once = false;
  pipelinectl::ServiceFlags service;
};

// Prints each run: processor, outcome, records, entities.
RunObserver printer() {
  return [](const pipeline::Processor& p, const pipeline::Message&, const pipeline::RunReport& r, double ms) {
    std::string entities = "-";
    if (r.completion && r.completion->metadata->contains("entities")) entities = r.completion->metadata["entities"].dump();
    std::printf("%-36s %-12s %6lld records  %s  %.1f ms%s%s\n", p.options().name.c_str(),
                std::string(pipeline::to_string(r.outcome)).c_str(),
                static_cast<long long>(r.completion ? r.completion->record_count : 0), entities.c_str(), ms,
                r.detail.empty() ? "" : "  ", r.detail.c_str());
    std::fflush(stdout);
  };
}

int failed(const PhaseMain& spec, const char* what, const pipeline::Error& e, int code = pipelinectl::kExitFailed) {
  std::fprintf(stderr, "%s: %s: %s\n", spec.name.c_str(), what, e.to_string().c_str());
  return code;
}

// The collaborators of one phase process on `clock`, in both modes.
struct Process {
  std::unique_ptr<pipeline::StateStore> store;
  std::unique_ptr<pipeline::Transport> transport;
  std::optional<nba::Warehouse> warehouse;
  nba::Season season;
  std::optional<pipeline::RunHistory> history;
  std::optional<WarehouseDependencySource> source;
  std::optional<pipeline::DependencyChecker> dependencies;
  std::optional<ServiceContext> ctx;

  // Opens everything; returns the exit code of a failure.
  std::optional<int> open(const PhaseMain& spec, const Flags& f, pipeline::Clock& clock, std::size_t threads) {
    auto s = pipelinectl::open_store(f.store, pipelinectl::StoreAccess::kCreate);
    if (!s) return failed(spec, "--store", s.error(), pipelinectl::store_error_exit(s.error()));
    store = std::move(*s);
    auto t = pipelinectl::open_transport(f.transport, clock, threads);
    if (!t) return failed(spec, "--transport", t.error(), pipelinectl::transport_error_exit(t.error()));
    transport = std::move(*t);
    auto wh = nba::Warehouse::open(f.warehouse);
    if (!wh) return failed(spec, "--warehouse", wh.error());
    warehouse.emplace(std::move(*wh));
    // A killed runner's run is reclaimable when its delivery goes to another process.
    auto h = pipeline::RunHistory::create(clock, *store, {.lease = f.service.ack_deadline()});
    if (!h) return failed(spec, "--ack-deadline", h.error(), pipelinectl::kExitUsage);
    history.emplace(std::move(*h));
    source.emplace(*warehouse, &season);
    auto checker = pipeline::DependencyChecker::create(clock, *source);
    if (!checker) return failed(spec, "dependencies", checker.error());
    dependencies.emplace(std::move(*checker));
    ctx.emplace(ServiceContext{*store, clock, *history, *dependencies, *transport, *warehouse, season, f.data_dir});
    if (spec.declare_dependencies)
      if (auto st = spec.declare_dependencies(*dependencies); !st) return failed(spec, "dependencies", st.error());
    return std::nullopt;
  }
};

int run_once(const PhaseMain& spec, const Flags& f, pipeline::CalendarDate date) {
  auto start = eastern_time(date, kDailyScrapeTime);
  if (!start) return failed(spec, "--date", start.error(), pipelinectl::kExitUsage);
  pipeline::ManualClock clock(*start);
  Process p;
  if (auto code = p.open(spec, f, clock, 0)) return *code;
  auto phase = spec.build(*p.ctx, printer());
  if (!phase) return failed(spec, "build", phase.error());
  auto relay = pipeline::OutboxRelay::create(clock, *p.store, *p.transport);
  if (!relay) return failed(spec, "relay", relay.error());
  int rc = pipelinectl::kExitOk;
  for (const auto& trigger : spec.once(date, *p.ctx)) {
    auto done = phase->service->handle(trigger);
    if (!done) {
      failed(spec, "run", done.error());
      rc = pipelinectl::kExitFailed;
    } else if (!*done) {
      rc = pipelinectl::kExitFailed;
    }
  }
  auto relayed = (*relay)->drain();
  if (!relayed) return failed(spec, "publish", relayed.error());
  std::printf("%zu completion(s) published\n", *relayed);
  return rc;
}

int serve(const PhaseMain& spec, const Flags& f) {
  pipeline::SystemClock clock(f.service.clock_offset());
  Process p;
  if (auto code = p.open(spec, f, clock, 1)) return *code;
  pipeline::ServiceRuntimeOptions options;
  options.name = spec.name;
  auto runtime = pipeline::ServiceRuntime::create(clock, *p.store, *p.transport, options);
  if (!runtime) return failed(spec, "runtime", runtime.error());
  p.ctx->relay = &(*runtime)->relay();
  auto phase = spec.build(*p.ctx, printer());
  if (!phase) return failed(spec, "build", phase.error());
  const std::string topic = spec.topic(p.ctx->topics);
  if (auto st = (*runtime)->subscribe({phase->service->subscription_name(), topic, f.service.settings()},
                                      logging_deliveries(phase->service->handler()));
      !st)
    return failed(spec, "subscribe", st.error());
  if (auto st = pipeline::ServiceRuntime::stop_on_signals(**runtime); !st) return failed(spec, "signals", st.error());
  if (auto st = (*runtime)->start(); !st) return failed(spec, "start", st.error());
  std::printf("%s: serving %s\n", spec.name.c_str(), topic.c_str());
  std::fflush(stdout);
  pipelinectl::print_drain_report(spec.name, (*runtime)->wait());
  return pipelinectl::kExitOk;
}

}  // namespace

pipeline::Message manual_trigger(pipeline::CalendarDate date, std::string_view phase) {
  pipeline::Message m;
  m.processor_name = "manual";
  m.phase = std::string(phase);
  m.execution_id = pipeline::new_execution_id();
  m.correlation_id = m.execution_id;
  m.traceparent = pipeline::TraceContext::create().to_string();
  m.partition_date = date;
  return m;
}

int run_phase_main(int argc, char** argv, const PhaseMain& spec) {
  CLI::App app{spec.about};
  Flags f;
  app.add_option("--store", f.store, "sqlite:PATH | postgresql://... (created when missing)")->capture_default_str();
  pipelinectl::add_transport_option(app, f.transport);
  app.add_option("--warehouse", f.warehouse, "The warehouse (SQLite file)")->capture_default_str();
  app.add_option("--data-dir", f.data_dir, "Where scraped files are written and read")->capture_default_str();
  app.add_option("--date", f.date, "The game date of --once (YYYY-MM-DD)")->capture_default_str();
  app.add_flag("--once", f.once, "Run the date once now and exit, instead of serving the trigger topic");
  pipelinectl::add_service_flags(app, f.service);
  if (auto code = pipelinectl::parse_or_exit(app, argc, argv)) return *code;
  auto date = pipeline::CalendarDate::parse(f.date);
  if (!date) return failed(spec, "--date", date.error(), pipelinectl::kExitUsage);
  return f.once ? run_once(spec, f, *date) : serve(spec, f);
}

}  // namespace nba_services
