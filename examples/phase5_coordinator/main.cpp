// phase5_coordinator: runs Phase 5 for one game date over a warehouse that already holds
// Phase 4 features, in simulated time, and prints the batch status as JSON; or, with
// --serve, serves the coordinator's HTTP API on the system clock until SIGTERM.
//
//   phase5_coordinator WAREHOUSE.sqlite YYYY-MM-DD [--force]
//   phase5_coordinator WAREHOUSE.sqlite --serve PORT [TOKEN_FILE]
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <nlohmann/json.hpp>

#include "phase5_coordinator/phase5.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

#ifdef PHASE5_HAVE_HTTP
int serve(const char* warehouse_path, const char* port, const char* token_file);
#endif

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s WAREHOUSE.sqlite YYYY-MM-DD [--force]\n       %s WAREHOUSE.sqlite --serve PORT [TOKEN_FILE]\n",
                 argv[0], argv[0]);
    return 2;
  }
  if (std::string(argv[2]) == "--serve") {
#ifdef PHASE5_HAVE_HTTP
    if (argc < 4) {
      std::fprintf(stderr, "usage: %s WAREHOUSE.sqlite --serve PORT [TOKEN_FILE]\n", argv[0]);
      return 2;
    }
    return serve(argv[1], argv[3], argc > 4 ? argv[4] : nullptr);
#else
    std::fprintf(stderr, "%s: built without pipeline::http; --serve is not available\n", argv[0]);
    return 2;
#endif
  }
  auto date = pipeline::CalendarDate::parse(argv[2]);
  if (!date) {
    std::fprintf(stderr, "%s\n", date.error().to_string().c_str());
    return 2;
  }
  const bool force = argc > 3 && std::string(argv[3]) == "--force";
  auto warehouse = nba::Warehouse::open(argv[1]);
  if (!warehouse) {
    std::fprintf(stderr, "%s\n", warehouse.error().to_string().c_str());
    return 1;
  }
  auto phase5 = nba::phase5::WarehousePhase5::create(*warehouse);
  if (!phase5) {
    std::fprintf(stderr, "%s\n", phase5.error().to_string().c_str());
    return 1;
  }
  pipeline::ManualClock clock;  // simulated time: a 30-minute wait takes no wall time
  pipeline::MemoryStateStore store;
  pipeline::MemoryTransport transport(clock, {.inline_delivery = true});
  pipeline::OutboxRelay relay(store, transport, clock);
  pipeline::AlertManager alerts(clock, {std::make_shared<pipeline::StructuredLogSink>(std::cerr)});
  pipeline::BatchCoordinator coordinator(clock, store, alerts, **phase5, **phase5, &relay,
                                         nba::phase5::coordinator_options());
  pipeline::PredictionWorker worker(store, **phase5, [&](pipeline::CalendarDate d) { (void)coordinator.note_progress(d); });
  auto sub = transport.subscribe(nba::phase5::worker_subscription("phase5-workers", coordinator.options().work_topic),
                                 worker.handler());
  if (!sub) {
    std::fprintf(stderr, "%s\n", sub.error().to_string().c_str());
    return 1;
  }
  auto started = coordinator.start(*date, force, pipeline::BatchTrigger::kManual);
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().to_string().c_str());
    return 1;
  }
  std::cerr << "start: " << pipeline::to_string(started->status) << " " << started->batch_id << "\n";
  clock.advance(coordinator.options().readiness.max_wait);  // let a wait finish
  auto retried = coordinator.retry(*date);
  if (retried) std::cerr << "retry: " << pipeline::to_string(retried->status) << "\n";
  auto check = coordinator.status_check(*date);
  if (!check) {
    std::fprintf(stderr, "%s\n", check.error().to_string().c_str());
    return 1;
  }
  std::cout << check->report.to_json().dump(2) << "\n";
  return check->report.fully_complete ? 0 : 3;
}
