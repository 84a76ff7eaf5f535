// The examples of include/pipeline/coordinate/ (`@snippet coordinate_snippets_test.cpp <tag>`);
// the scheduler's and the hybrid trigger's need a DailySchedule: schedule_snippets_test.cpp.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/fired_jobs.hpp"
#include "pipeline/coordinate/prediction_work.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::coordinate_snippets_test {
namespace {

// Phase 4's feature table: how many of the date's entities are ready.
struct Features final : pipeline::ReadinessSource {
  pipeline::ReadinessCounts now{100, 100};
  pipeline::Result<pipeline::ReadinessCounts> counts(pipeline::CalendarDate) override { return now; }
};

// The date's expected entities and the predictions stored so far (entity -> version).
struct Ledger final : pipeline::PredictionLedger {
  std::vector<std::string> entities{"p001", "p002", "p003"};
  std::map<std::string, std::int64_t> done;
  pipeline::Result<std::vector<std::string>> expected(pipeline::CalendarDate) override { return entities; }
  pipeline::Result<std::map<std::string, std::int64_t>> predicted(pipeline::CalendarDate) override { return done; }
};

// Stores nothing: records which entities it was asked to predict.
struct Model final : pipeline::PredictionModel {
  std::vector<std::string> predicted;
  pipeline::Status predict(const pipeline::PredictionWork& work) override {
    predicted.push_back(work.entity);
    return pipeline::ok();
  }
};

struct CoordinateSnippets : ::testing::Test {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  std::unique_ptr<pipeline::MemoryTransport> transport = pipeline::MemoryTransport::create(clock).value();
  std::unique_ptr<pipeline::AlertManager> alerts = pipeline::AlertManager::create(clock, {}).value();
  std::unique_ptr<pipeline::OutboxRelay> relay = pipeline::OutboxRelay::create(clock, store, *transport).value();
  Features features;
  Ledger ledger;
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
};

TEST_F(CoordinateSnippets, BatchCoordinator) {
  features.now = {40, 100};   // not ready yet: the batch waits
  clock.schedule_after(std::chrono::minutes(10), [&] { features.now = {100, 100}; });
  clock.schedule_after(std::chrono::minutes(20), [&] { ledger.done["p001"] = 1; });
  //! [batch_coordinator]
  auto coordinator = pipeline::BatchCoordinator::create(clock, store, *alerts, features, ledger, {.relay = relay.get()}).value();
  auto r = coordinator->start(date, false, pipeline::BatchTrigger::kScheduler);
  // r->status: started | waiting | already_complete | running | refused
  clock.advance(std::chrono::minutes(30));     // a wait, if any, finishes on the clock
  auto report = coordinator->status(date);     // done, missing, latency, completion rate
  auto retry = coordinator->retry(date);       // only the missing entities
  //! [batch_coordinator]
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, pipeline::BatchOutcome::kWaiting);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->attempts, 1);
  ASSERT_TRUE(retry) << retry.error().to_string();
  EXPECT_EQ(retry->status, pipeline::BatchOutcome::kRetrying);
  EXPECT_EQ(retry->published, (std::vector<std::string>{"p002", "p003"}));
}

TEST_F(CoordinateSnippets, FiredJobs) {
  const pipeline::TimePoint at = clock.now();
  //! [fired_jobs]
  auto fired = pipeline::FiredJobs::create(store, {"phase5/fired"}).value();
  auto mine = fired.claim(date, {{"backup", at}}, "coordinator-a");  // {true}: run it
  auto theirs = fired.claim(date, {{"backup", at}}, "coordinator-b");  // {false}: a already did
  auto forgotten = fired.forget(date);   // a backfill re-running the date fires its jobs again
  //! [fired_jobs]
  ASSERT_TRUE(mine);
  EXPECT_EQ(*mine, std::vector<bool>{true});
  ASSERT_TRUE(theirs);
  EXPECT_EQ(*theirs, std::vector<bool>{false});
  EXPECT_EQ(forgotten.value(), 1u);
  auto again = fired.claim(date, {{"backup", at}}, "coordinator-b");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::vector<bool>{true});
}

TEST_F(CoordinateSnippets, PredictionWork) {
  const std::string topic = "phase5-prediction-work";
  std::string payload;
  auto sub = transport->subscribe({"phase5-workers", topic, {}}, [&](pipeline::DeliveryPtr d) {
    payload = d->payload();
    pipeline::best_effort_ack(*d);
  });
  ASSERT_TRUE(sub);
  //! [prediction_work]
  pipeline::PredictionWork w{"phase5-2025-11-18-b1", date, "p001", 1, 1, "batch"};
  auto st = transport->publish(topic, {w.message_id(), w.encode(), {}});
  //! [prediction_work]
  ASSERT_TRUE(st);
  transport->pump();
  //! [prediction_work_decode]
  auto back = pipeline::PredictionWork::decode(payload);   // Result<PredictionWork>
  //! [prediction_work_decode]
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->entity, "p001");
  EXPECT_EQ(back->message_id(), w.message_id());
}

TEST_F(CoordinateSnippets, PredictionWorker) {
  auto coordinator = pipeline::BatchCoordinator::create(clock, store, *alerts, features, ledger, {.relay = relay.get()}).value();
  Model model;
  int progress = 0;
  //! [prediction_worker]
  auto worker = pipeline::PredictionWorker::create(store, model, {.progress = [&](pipeline::CalendarDate d) {
    ++progress;
    pipeline::discard_result(coordinator->note_progress(d));   // a failure: the next call or the retry catches up
  }});
  ASSERT_TRUE(worker) << worker.error().to_string();
  auto sub = transport->subscribe({"phase5-workers", coordinator->options().work_topic, {}}, (*worker)->handler());
  // or one model batch per delivery round of a pumped transport:
  //   subscribe(..., (*worker)->batching_handler()); then transport->pump(); (*worker)->flush();
  //! [prediction_worker]
  ASSERT_TRUE(sub);
  auto r = coordinator->start(date, false, pipeline::BatchTrigger::kScheduler);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, pipeline::BatchOutcome::kStarted);
  transport->pump();
  EXPECT_EQ(model.predicted, (std::vector<std::string>{"p001", "p002", "p003"}));
  EXPECT_EQ(progress, 3);
}

TEST_F(CoordinateSnippets, ReadinessGate) {
  features.now = {30, 100};
  clock.schedule_after(std::chrono::minutes(4), [&] { features.now = {90, 100}; });
  bool started = false;
  std::string critical;
  auto start_batch = [&] { started = true; };
  auto raise_critical = [&](const std::string& message) { critical = message; };
  //! [readiness_gate]
  auto gate = pipeline::ReadinessGate::create(clock, features, {}).value();
  gate->wait_until_ready(date, [&](const pipeline::Readiness& r) {
    if (r.proceed) start_batch(); else raise_critical(r.message);
  });
  clock.advance(std::chrono::minutes(30));   // in tests: the wait runs on the clock
  //! [readiness_gate]
  EXPECT_TRUE(started) << critical;
  EXPECT_TRUE(critical.empty()) << critical;
}

TEST_F(CoordinateSnippets, StoredUpstream) {
  pipeline::Message features_done;
  features_done.processor_name = "features";
  features_done.phase = "phase4_precompute";
  features_done.execution_id = "exec-1";
  features_done.partition_date = date;
  features_done.entities_changed = pipeline::EntityChanges{{"entities", {"p001", "p002"}}};
  features_done.metadata = nlohmann::json{{"entities_ready", 2}, {"entities_total", 2}};
  pipeline::BatchCoordinatorOptions options;
  options.readiness.min_entities = 1;
  pipeline::Result<pipeline::BatchResult> started;
  //! [stored_upstream]
  auto upstream = pipeline::StoredUpstream::create(store, {}).value();
  auto coordinator = pipeline::BatchCoordinator::create(clock, store, *alerts, upstream, upstream, options).value();
  started = coordinator->trigger(features_done);   // keeps what the completion said
  auto r = coordinator->retry(date);   // the entities the workers have not finished
  //! [stored_upstream]
  ASSERT_TRUE(started) << started.error().to_string();
  EXPECT_EQ(started->status, pipeline::BatchOutcome::kStarted);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->published, (std::vector<std::string>{"p001", "p002"}));
}

}  // namespace
}  // namespace pipeline::coordinate_snippets_test
