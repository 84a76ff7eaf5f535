// Quickstart: a phase hand-off decided once, on the in-memory transport and store.
// Two loaders complete (one completion arrives twice); the tracker decides the Phase 3
// trigger once, the outbox relay publishes it with its stable id, the subscriber gets it.
#include <cstdio>
#include <vector>

#include <pipeline/pipeline.hpp>
#include <pipeline/memory/memory_state_store.hpp>
#include <pipeline/memory/memory_transport.hpp>

int main() {
  pipeline::ManualClock clock;                     // SystemClock in a server
  pipeline::MemoryStateStore store;                // or pipeline::SqliteStateStore::open("state.db")
  pipeline::MemoryTransport transport(clock);      // your Pub/Sub or Redis adapter in production
  pipeline::OutboxRelay relay(store, transport, clock);

  pipeline::CompletionTrackerConfig config;        // "run phase 3 once both loaders are done"
  config.name = "phase3_analytics";
  config.upstream_phase = "phase2_raw";
  config.downstream_phase = "phase3_analytics";
  config.expected = {"gamebook_loader", "injury_loader"};
  config.trigger_topic = "demo-phase3-trigger";
  for (const char* p : {"gamebook_loader", "injury_loader"}) (void)config.registry.add_processor(p, "phase2_raw");
  (void)config.registry.add_processor("player_game_summary", "phase3_analytics");
  (void)config.registry.add_trigger("gamebook_loader", {"player_game_summary"});
  auto tracker = pipeline::CompletionTracker::create(store, clock, config);
  if (!tracker) { std::puts(tracker.error().to_string().c_str()); return 1; }

  auto sub = transport.subscribe({"phase3", "demo-phase3-trigger", {}}, [](pipeline::DeliveryPtr d) {
    std::puts(d->id().c_str());                    // "phase3_analytics/2025-11-18/w0", exactly once
    (void)d->ack();
  });
  std::vector<pipeline::Message> completions;
  for (const char* loader : {"gamebook_loader", "injury_loader"}) {
    pipeline::Message m;
    m.processor_name = loader;
    m.phase = "phase2_raw";
    m.execution_id = pipeline::new_execution_id();
    m.partition_date = *pipeline::CalendarDate::parse("2025-11-18");
    completions.push_back(m);
  }
  completions.push_back(completions.back());       // at-least-once: a duplicate delivery
  for (const auto& m : completions) (void)(*tracker)->record_completion(m);
  (void)relay.drain();
  transport.pump();
}
