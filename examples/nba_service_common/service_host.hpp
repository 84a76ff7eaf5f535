#pragma once
/// @file
/// `ServiceHost`: what the thin `main` of each example service shares — flags, a SQLite
/// state store, the warehouse, a `ManualClock` at 06:00 ET of the date, a memory
/// transport, run history, the dependency checker and an outbox relay. Header-only; the
/// mains link `pipeline_sqlite`.

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "nba_service_common/service.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"

namespace nba_services {

/// The flags every example service takes.
struct ServiceFlags {
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
  std::string store = "state.db";
  std::string warehouse = "warehouse.db";
  std::string data_dir = "scraped";
};

/// Parses `--date D --store PATH --warehouse PATH --data-dir DIR`; prints usage and
/// returns nullopt on `--help` or a bad flag.
inline std::optional<ServiceFlags> parse_flags(int argc, char** argv, const char* what) {
  ServiceFlags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--date" && has_value) {
      auto d = pipeline::CalendarDate::parse(argv[++i]);
      if (!d) {
        std::fprintf(stderr, "%s\n", d.error().to_string().c_str());
        return std::nullopt;
      }
      f.date = *d;
    } else if (arg == "--store" && has_value) {
      f.store = argv[++i];
    } else if (arg == "--warehouse" && has_value) {
      f.warehouse = argv[++i];
    } else if (arg == "--data-dir" && has_value) {
      f.data_dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "%s\nusage: %s [--date YYYY-MM-DD] [--store STATE.db] [--warehouse WAREHOUSE.db] [--data-dir DIR]\n",
                   what, argv[0]);
      return std::nullopt;
    }
  }
  return f;
}

/// The collaborators of one example service, wired for one date.
class ServiceHost {
 public:
  static pipeline::Result<std::unique_ptr<ServiceHost>> open(const ServiceFlags& flags) {
    auto store = pipeline::SqliteStateStore::open(flags.store);
    if (!store) return pipeline::fail(store.error());
    auto wh = nba::Warehouse::open(flags.warehouse);
    if (!wh) return pipeline::fail(wh.error());
    auto start = eastern_time(flags.date, kDailyScrapeTime);
    if (!start) return pipeline::fail(start.error());
    return std::unique_ptr<ServiceHost>(new ServiceHost(flags, *start, std::move(*store), std::move(*wh)));
  }

  ServiceContext& context() { return ctx_; }
  const ServiceFlags& flags() const { return flags_; }

  /// Prints each run: processor, outcome, records, entities.
  RunObserver printer() {
    return [](const pipeline::Processor& p, const pipeline::Message&, const pipeline::RunReport& r, double ms) {
      std::string entities = "-";
      if (r.completion && r.completion->metadata->contains("entities")) entities = r.completion->metadata["entities"].dump();
      std::printf("%-36s %-12s %6lld records  %s  %.1f ms%s%s\n", p.config().name.c_str(),
                  std::string(pipeline::to_string(r.outcome)).c_str(),
                  static_cast<long long>(r.completion ? r.completion->record_count : 0), entities.c_str(), ms,
                  r.detail.empty() ? "" : "  ", r.detail.c_str());
    };
  }

  /// Runs `service` for `trigger`, then publishes the completions from the outbox.
  int run(PhaseService& service, const pipeline::Message& trigger) {
    auto done = service.handle(trigger);
    if (!done) {
      std::fprintf(stderr, "error: %s\n", done.error().to_string().c_str());
      return 1;
    }
    auto relayed = relay_.drain();
    if (!relayed) {
      std::fprintf(stderr, "error: %s\n", relayed.error().to_string().c_str());
      return 1;
    }
    std::printf("%zu completion(s) published\n", *relayed);
    return *done ? 0 : 1;
  }

 private:
  ServiceHost(const ServiceFlags& flags, pipeline::TimePoint start, std::unique_ptr<pipeline::SqliteStateStore> store,
              nba::Warehouse wh)
      : flags_(flags),
        store_(std::move(store)),
        warehouse_(std::move(wh)),
        clock_(start),
        transport_(clock_),
        history_(*store_, clock_),
        source_(warehouse_, &season_),
        dependencies_(clock_, source_),
        ctx_{*store_, clock_, history_, dependencies_, transport_, warehouse_, season_, flags.data_dir},
        relay_(*store_, transport_, clock_) {}

  ServiceFlags flags_;
  std::unique_ptr<pipeline::SqliteStateStore> store_;
  nba::Warehouse warehouse_;
  nba::Season season_;
  pipeline::ManualClock clock_;
  pipeline::MemoryTransport transport_;
  pipeline::RunHistory history_;
  WarehouseDependencySource source_;
  pipeline::DependencyChecker dependencies_;
  ServiceContext ctx_;
  pipeline::OutboxRelay relay_;
};

/// A manual full trigger for `date`: no `entities_changed`, so every processor it names
/// (all when `run_processors` is empty) processes everything.
inline pipeline::Message manual_trigger(pipeline::CalendarDate date, std::string_view phase) {
  pipeline::Message m;
  m.processor_name = "manual";
  m.phase = std::string(phase);
  m.execution_id = pipeline::new_execution_id();
  m.correlation_id = m.execution_id;
  m.traceparent = pipeline::TraceContext::create().to_string();
  m.partition_date = date;
  return m;
}

}  // namespace nba_services
