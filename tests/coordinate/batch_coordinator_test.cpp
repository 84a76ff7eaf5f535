#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/schedule/daily_schedule.hpp"
#include "spin_until.hpp"
#include "store_under_test.hpp"

namespace pipeline {
namespace batch_coordinator_test {

using std::chrono::minutes;
using std::chrono::seconds;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

std::vector<std::string> players(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(fmt::format("p{:03}", i));
  return out;
}

/// Expected players per date and stored predictions (entity -> version, plus history).
class FakeLedger final : public PredictionLedger, public PredictionModel {
 public:
  void expect(CalendarDate d, std::vector<std::string> ids) {
    std::lock_guard lock(mu_);
    expected_[d] = std::move(ids);
  }
  void store(CalendarDate d, const std::string& id, std::int64_t version) {
    std::lock_guard lock(mu_);
    auto& cur = predicted_[d][id];
    cur = std::max(cur, version);
    ++writes_;
  }
  Result<std::vector<std::string>> expected(CalendarDate d) override {
    std::lock_guard lock(mu_);
    return expected_[d];
  }
  Result<std::map<std::string, std::int64_t>> predicted(CalendarDate d) override {
    std::lock_guard lock(mu_);
    return predicted_[d];
  }
  Status predict(const PredictionWork& w) override {
    store(w.game_date, w.entity, w.version);
    return ok();
  }
  std::vector<Status> predict_all(const std::vector<PredictionWork>& work) override {
    {
      std::lock_guard lock(mu_);
      ++batches_;
    }
    return PredictionModel::predict_all(work);
  }
  int writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  int batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::map<CalendarDate, std::vector<std::string>> expected_;
  std::map<CalendarDate, std::map<std::string, std::int64_t>> predicted_;
  int writes_ = 0;
  int batches_ = 0;
};

/// Readiness answers from a script (the last entry repeats); thread-safe.
class ScriptSource final : public ReadinessSource {
 public:
  explicit ScriptSource(std::vector<ReadinessCounts> script) : script_(std::move(script)) {}
  Result<ReadinessCounts> counts(CalendarDate) override {
    const std::size_t i = std::min<std::size_t>(calls_++, script_.size() - 1);
    return script_[i];
  }
  std::size_t calls() const { return calls_; }

 private:
  std::vector<ReadinessCounts> script_;
  std::atomic<std::size_t> calls_{0};
};

/// Store, transport, relay, alerts, ledger and coordinator wired together.
struct Rig {
  Rig(StateStore& state, std::vector<ReadinessCounts> script, bool workers, BatchCoordinatorOptions options = {},
      TimePoint start = ManualClock::kDefaultStart)
      : clock(start),
        source(std::move(script)),
        store(state),
        relay(OutboxRelay::create(clock, store, transport, {.owner = "test-relay"}).value()),
        alerts(AlertManager::create(clock,
               {CallbackAlertSinkMt::create([this](const Alert& a) {
                 std::lock_guard lock(mu);
                 raised.push_back(a);
               }).value()},
               AlertManagerOptions{.limits = {}, .critical_bypasses_limit = true, .digest_flush_interval = Duration::zero()}).value()),
        coordinator(
            BatchCoordinator::create(clock, store, *alerts, source, ledger, with_relay(std::move(options), relay.get())).value()),
        worker(
            PredictionWorker::create(store, ledger, {.progress = [this](CalendarDate d) { (void)coordinator->note_progress(d); }})
                .value()) {
    ledger.expect(kDate, players(420));
    if (workers) {
      auto sub = transport.subscribe({"workers", coordinator->options().work_topic, {}}, worker->handler());
      EXPECT_TRUE(sub);
      if (sub) subscription = std::move(*sub);
    }
  }
  std::vector<std::string> ids_on(const std::string& topic) const {
    std::vector<std::string> out;
    for (const auto& r : transport.published())
      if (r.topic == topic) out.push_back(r.message.id);
    return out;
  }
  std::vector<std::string> work_ids() const { return ids_on(coordinator->options().work_topic); }
  std::vector<std::string> complete_ids() const { return ids_on(coordinator->options().complete_topic); }
  std::vector<Alert> alerts_raised() {
    std::lock_guard lock(mu);
    return raised;
  }

  std::mutex mu;
  std::vector<Alert> raised;
  ManualClock clock;
  ScriptSource source;
  FakeLedger ledger;
  StateStore& store;
  mocks::RecordingTransport transport;
  std::unique_ptr<OutboxRelay> relay;
  std::unique_ptr<AlertManager> alerts;
  std::unique_ptr<BatchCoordinator> coordinator;
  std::unique_ptr<PredictionWorker> worker;
  std::unique_ptr<Subscription> subscription;

  static BatchCoordinatorOptions with_relay(BatchCoordinatorOptions options, OutboxRelay* relay) {
    options.relay = relay;
    return options;
  }
};

// Every suite below runs on the store of the binary (tests/store_under_test.hpp).
class BatchCoordinatorTest : public testing::StoreSuite {};
class BatchCoordinatorTakeoverTest : public testing::StoreSuite {};
class PredictionWorkerTest : public testing::StoreSuite {};
class HybridTriggerTest : public testing::StoreSuite {};

Message phase4_message(CalendarDate d, nlohmann::json metadata = nlohmann::json::object()) {
  Message m;
  m.processor_name = "ml_feature_store";
  m.phase = "phase4_precompute";
  m.execution_id = "exec-1";
  m.correlation_id = "corr-1";
  m.partition_date = d;
  m.metadata = std::move(metadata);
  return m;
}

TEST_P(BatchCoordinatorTest, StartFansOutOneStableWorkMessagePerExpectedPlayer) {
  Rig rig(store, {{420, 450}}, false);
  auto r = rig.coordinator->start(kDate, false, BatchTrigger::kManual);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kStarted);
  EXPECT_EQ(r->batch_id, "phase5-2025-11-18-b1");
  const auto ids = rig.work_ids();
  ASSERT_EQ(ids.size(), 420u);
  EXPECT_EQ(ids.front(), "phase5-2025-11-18-b1/a1/p000");
  auto work = PredictionWork::decode(rig.transport.published().front().message.payload);
  ASSERT_TRUE(work);
  EXPECT_EQ(work->entity, "p000");
  EXPECT_EQ(work->version, 1);
  EXPECT_EQ(work->game_date, kDate);
}

TEST_P(BatchCoordinatorTest, WaitSucceedsAfterFourPollsOnTheClockWithoutBlockingStart) {
  Rig rig(store, {{100, 450}, {200, 450}, {300, 450}, {400, 450}}, false);
  auto r = rig.coordinator->start(kDate, false, BatchTrigger::kScheduler);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, BatchOutcome::kWaiting);
  EXPECT_TRUE(rig.work_ids().empty());
  EXPECT_EQ(rig.coordinator->health()->batches_waiting, 1u);
  // Polls at 0, 30 s, 1.5 min, 3.5 min: ready on the fourth.
  rig.clock.advance(seconds(209));
  EXPECT_TRUE(rig.work_ids().empty());
  rig.clock.advance(seconds(1));
  EXPECT_EQ(rig.source.calls(), 4u);
  EXPECT_EQ(rig.work_ids().size(), 420u);
  auto again = rig.coordinator->start(kDate, false, BatchTrigger::kEvent);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, BatchOutcome::kRunning);
  EXPECT_EQ(again->batch_id, r->batch_id);
}

TEST_P(BatchCoordinatorTest, WaitTimesOutAtExactlyThirtyMinutesAndProceedsWithWhatIsReady) {
  Rig rig(store, {{300, 450}}, false);
  rig.ledger.expect(kDate, players(300));
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kScheduler)->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(30) - seconds(1));
  EXPECT_TRUE(rig.work_ids().empty());
  rig.clock.advance(seconds(1));
  EXPECT_EQ(rig.work_ids().size(), 300u);
  auto s = rig.coordinator->status(kDate);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, BatchState::kRunning);
  EXPECT_EQ(s->started_at, ManualClock::kDefaultStart + minutes(30));
  // Phase 4 more than 30 minutes late is critical even though the batch proceeds.
  auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kCritical);
  EXPECT_EQ(alerts[0].key, "phase5/phase4_late/2025-11-18");
  EXPECT_EQ(alerts[0].message,
            "Phase 4 is more than 30 min late for 2025-11-18: batch phase5-2025-11-18-b1 proceeds with 300 of 450 ready");
}

TEST_P(BatchCoordinatorTest, ReadyBeforeTheWaitRunsOutRaisesNoLatenessAlert) {
  Rig rig(store, {{100, 450}, {100, 450}, {400, 450}}, false);
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kScheduler)->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(30));
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kRunning);
  EXPECT_TRUE(rig.alerts_raised().empty());
}

TEST_P(BatchCoordinatorTest, RefusesWithCriticalAlertWhenTooFewPlayersAtTimeout) {
  Rig rig(store, {{40, 450}}, false);
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kScheduler)->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(30));
  EXPECT_TRUE(rig.work_ids().empty());
  auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kCritical);
  EXPECT_EQ(alerts[0].key, "phase5/refused/2025-11-18");
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kRefused);
  // A refused batch does not block the next attempt.
  auto next = rig.coordinator->start(kDate, false, BatchTrigger::kScheduler);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->batch_id, "phase5-2025-11-18-b2");
}

// Default options that record the coordinator's metrics into `metrics`.
BatchCoordinatorOptions metered(MetricsRegistry& metrics) {
  BatchCoordinatorOptions options;
  options.metrics = &metrics;
  return options;
}
const Labels kCoordinatorLabels{{"coordinator", "phase5"}};

TEST_P(BatchCoordinatorTest, CountsARefusedBatchInItsMetric) {
  MetricsRegistry metrics = MetricsRegistry::create().value();
  Rig rig(store, {{40, 450}}, false, metered(metrics));
  const Labels& labels = kCoordinatorLabels;
  // The counter exists from the start (a rule's increase() sees the first refusal).
  EXPECT_EQ(metrics.counter_value("pipeline_batches_refused_total", labels), 0u);
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kScheduler)->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(30));
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kRefused);
  EXPECT_EQ(metrics.counter_value("pipeline_batches_refused_total", labels), 1u);
  EXPECT_FALSE(metrics.gauge_value("pipeline_batch_coverage_ratio", labels));  // nothing was counted
}

TEST_P(BatchCoordinatorTest, CoverageGaugeIsTheStatusCheckFractionThenOneOnCompletion) {
  MetricsRegistry metrics = MetricsRegistry::create().value();
  Rig rig(store, {{420, 450}}, false, metered(metrics));
  const Labels& labels = kCoordinatorLabels;
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kStarted);
  // A started batch has predicted nothing yet: no value until something is counted, so an
  // alert on coverage < 0.9 does not fire while the batch runs.
  EXPECT_FALSE(metrics.gauge_value("pipeline_batch_coverage_ratio", labels));
  for (const auto& p : players(210)) rig.ledger.store(kDate, p, 1);
  ASSERT_TRUE(rig.coordinator->status_check(kDate));
  EXPECT_DOUBLE_EQ(metrics.gauge_value("pipeline_batch_coverage_ratio", labels).value_or(-1), 0.5);
  for (const auto& p : players(420)) rig.ledger.store(kDate, p, 1);
  auto completed = rig.coordinator->note_progress(kDate);
  ASSERT_TRUE(completed && *completed);
  EXPECT_DOUBLE_EQ(metrics.gauge_value("pipeline_batch_coverage_ratio", labels).value_or(-1), 1.0);
  EXPECT_EQ(metrics.counter_value("pipeline_batches_refused_total", labels), 0u);
}

// A coordinator that died while its batch waited: its wait ran on a clock that never
// moves again (a dead process's timers never fire).
struct DeadOwner {
  explicit DeadOwner(Rig& rig)
      : coordinator(
            BatchCoordinator::create(clock, rig.store, *rig.alerts, rig.source, rig.ledger, {.relay = rig.relay.get()}).value()) {}
  ManualClock clock{ManualClock::kDefaultStart};
  std::unique_ptr<BatchCoordinator> coordinator;
};

TEST_P(BatchCoordinatorTakeoverTest, AWaitingBatchIsLeftToItsOwnerUntilItsWaitIsOverdueThenDecidedOnce) {
  Rig rig(store, {{10, 450}, {420, 450}}, false);
  DeadOwner dead(rig);
  ASSERT_EQ(dead.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kWaiting);
  // Within the owner's 30-minute wait and the 5-minute grace, nobody else decides.
  auto early = rig.coordinator->recover(kDate);
  ASSERT_TRUE(early) << early.error().to_string();
  EXPECT_EQ(early->status, BatchOutcome::kWaiting);
  EXPECT_NE(early->message.find("its owner's wait ends at"), std::string::npos) << early->message;
  rig.clock.advance(minutes(35) - seconds(1));
  EXPECT_EQ(rig.coordinator->recover(kDate)->status, BatchOutcome::kWaiting);
  EXPECT_TRUE(rig.work_ids().empty());
  // Overdue: decided here, from readiness now, as the owner's wait would have.
  rig.clock.advance(seconds(1));
  auto taken = rig.coordinator->recover(kDate);
  ASSERT_TRUE(taken) << taken.error().to_string();
  EXPECT_EQ(taken->status, BatchOutcome::kStarted) << taken->message;
  EXPECT_EQ(taken->batch_id, "phase5-2025-11-18-b1");
  EXPECT_EQ(rig.work_ids().size(), 420u);
  // Decided once: neither coordinator fans out again.
  EXPECT_EQ(rig.coordinator->recover(kDate)->status, BatchOutcome::kRunning);
  EXPECT_EQ(dead.coordinator->start(kDate, false, BatchTrigger::kScheduler)->status, BatchOutcome::kRunning);
  EXPECT_EQ(rig.work_ids().size(), 420u);
  EXPECT_EQ(rig.source.calls(), 2u);  // the owner's first poll, then one at the takeover
}

TEST_P(BatchCoordinatorTakeoverTest, TheBackupStartDecidesAnOverdueBatchAndRefusesWhenTooFewAreReady) {
  Rig rig(store, {{10, 450}}, false);
  DeadOwner dead(rig);
  ASSERT_EQ(dead.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(35));
  auto r = rig.coordinator->start(kDate, false, BatchTrigger::kScheduler);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kRefused);
  EXPECT_EQ(r->batch_id, "phase5-2025-11-18-b1");  // the dead owner's batch, not a new one
  EXPECT_NE(r->message.find("taken over"), std::string::npos) << r->message;
  const auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kCritical);
  EXPECT_EQ(alerts[0].key, "phase5/refused/2025-11-18");
  EXPECT_TRUE(rig.work_ids().empty());
}

TEST_P(BatchCoordinatorTakeoverTest, AnOwnerKnownDeadIsWaitedForHereAndALiveOwnerStillDecidesOnce) {
  // Both waits run on one clock: the "dead" owner was alive after all. Of the two
  // deciders, one fans out; the other sees the batch decided.
  Rig rig(store, {{10, 450}, {10, 450}, {420, 450}}, false);
  auto owner = BatchCoordinator::create(rig.clock, rig.store, *rig.alerts, rig.source, rig.ledger, {.relay = rig.relay.get()}).value();
  ASSERT_EQ(owner->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kWaiting);
  auto r = rig.coordinator->recover(kDate, true);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kWaiting);
  rig.clock.advance(minutes(30));
  const auto ids = rig.work_ids();
  EXPECT_EQ(ids.size(), 420u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 420u);
  EXPECT_EQ(rig.store.scan("phase5/batch/2025-11-18/")->size(), 1u);
  EXPECT_TRUE(rig.alerts_raised().empty());
}

TEST_P(BatchCoordinatorTakeoverTest, ARunningBatchWhoseWorkIsDoneIsCompletedOnceOnRecovery) {
  Rig rig(store, {{420, 450}}, false);
  DeadOwner dead(rig);
  ASSERT_EQ(dead.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kStarted);
  EXPECT_EQ(rig.coordinator->recover(kDate)->status, BatchOutcome::kRunning);
  for (const auto& p : players(420)) rig.ledger.store(kDate, p, 1);  // the workers finished
  auto r = rig.coordinator->recover(kDate);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kComplete);
  EXPECT_EQ(rig.coordinator->recover(kDate)->status, BatchOutcome::kAlreadyComplete);
  EXPECT_EQ(rig.complete_ids(), std::vector<std::string>{"phase5-2025-11-18-b1/complete"});
  auto none = rig.coordinator->recover(kDate.plus_days(1));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->batch_id.empty());
}

TEST_P(BatchCoordinatorTest, ToolsReadTheDatesReportFromRowsAloneWithTheLastStatusCheckCounts) {
  Rig rig(store, {{420, 450}}, false);
  ASSERT_TRUE(rig.coordinator->record_phase4_completion(kDate, rig.clock.now()));
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kStarted);
  auto bare = BatchCoordinator::load_report(rig.store, "phase5", kDate);
  ASSERT_TRUE(bare) << bare.error().to_string();
  EXPECT_EQ(bare->state, BatchState::kRunning);
  EXPECT_EQ(bare->counted_from, "batch");
  EXPECT_EQ(bare->expected, 420u);
  EXPECT_EQ(bare->done, 0u);  // unknown from the batch row until it completes
  EXPECT_FALSE(bare->go());
  // The 07:00 check counts against the ledger and leaves its counts for tools.
  for (const auto& p : players(390)) rig.ledger.store(kDate, p, 1);
  rig.clock.advance(minutes(5));
  ASSERT_TRUE(rig.coordinator->status_check(kDate));
  auto checked = BatchCoordinator::load_report(rig.store, "phase5", kDate);
  ASSERT_TRUE(checked);
  EXPECT_EQ(checked->counted_from, "status_check");
  EXPECT_EQ(checked->done, 390u);
  EXPECT_EQ(checked->missing.size(), 30u);
  EXPECT_EQ(checked->counted_at, rig.clock.now());
  const auto why = checked->no_go_reasons();
  ASSERT_EQ(why.size(), 2u) << checked->to_json().dump();
  EXPECT_EQ(why[0], "the batch is running");
  EXPECT_EQ(why[1], "completion 92.9% is not above 95% (390 of 420)");
  // Complete, 20 minutes after Phase 4: the latency rule fails alone.
  for (const auto& p : players(420)) rig.ledger.store(kDate, p, 1);
  rig.clock.advance(minutes(15));
  ASSERT_TRUE(rig.coordinator->note_progress(kDate).value());
  auto done = BatchCoordinator::load_report(rig.store, "phase5", kDate);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->done, 420u);
  EXPECT_EQ(done->completion_rate, 1.0);
  EXPECT_EQ(done->no_go_reasons(), std::vector<std::string>{"Phase 4 -> 5 latency 1200 s is not under 600 s"});
  EXPECT_TRUE(done->go(minutes(30)));
  EXPECT_EQ(done->to_json()["go"], false);
  // The coordinator's own status counts from its ledger.
  EXPECT_EQ(rig.coordinator->status(kDate)->counted_from, "ledger");
  auto none = BatchCoordinator::load_report(rig.store, "phase5", kDate.plus_days(1));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->batch_id.empty());
}

TEST_P(BatchCoordinatorTest, CompleteBatchReturnsAlreadyCompleteAndPublishesNothing) {
  Rig rig(store, {{420, 450}}, true);
  ASSERT_EQ(rig.coordinator->start(kDate, false, BatchTrigger::kEvent)->status, BatchOutcome::kStarted);
  EXPECT_EQ(rig.complete_ids(), std::vector<std::string>{"phase5-2025-11-18-b1/complete"});
  const auto published = rig.transport.published_count();
  auto again = rig.coordinator->start(kDate, false, BatchTrigger::kScheduler);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, BatchOutcome::kAlreadyComplete);
  EXPECT_EQ(again->batch_id, "phase5-2025-11-18-b1");
  EXPECT_EQ(rig.transport.published_count(), published);
  EXPECT_EQ(rig.coordinator->note_progress(kDate).value(), false);
  EXPECT_EQ(rig.complete_ids().size(), 1u);
  auto m = decode_message(rig.transport.published().back().message.payload);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->phase, "phase5_predictions");
  EXPECT_EQ(m->record_count, 420);
}

TEST_P(BatchCoordinatorTest, BatchesListsTheDatesBatchesAsTypedValues) {
  Rig rig(store, {{420, 450}}, true);
  EXPECT_TRUE(rig.coordinator->batches(kDate)->empty());
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  rig.clock.advance(std::chrono::minutes(1));
  ASSERT_TRUE(rig.coordinator->start(kDate, true, BatchTrigger::kManual));
  ASSERT_TRUE(rig.coordinator->start_incremental(kDate, {"p017"}, BatchTrigger::kManual));
  auto batches = rig.coordinator->batches(kDate);
  ASSERT_TRUE(batches) << batches.error().to_string();
  ASSERT_EQ(batches->size(), 2u);
  const BatchInfo& first = (*batches)[0];
  EXPECT_EQ(first.batch_id, "phase5-2025-11-18-b1");
  EXPECT_EQ(first.number, 1);
  EXPECT_EQ(first.state, BatchState::kComplete);
  EXPECT_EQ(first.triggered_by, BatchTrigger::kEvent);
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.expected, 420u);
  EXPECT_EQ(first.created_at, ManualClock::kDefaultStart);
  EXPECT_EQ(first.started_at, ManualClock::kDefaultStart);
  EXPECT_EQ(first.completed_at, ManualClock::kDefaultStart);
  EXPECT_EQ((*batches)[1].batch_id, "phase5-2025-11-18-b2");
  EXPECT_EQ((*batches)[1].triggered_by, BatchTrigger::kManual);
  EXPECT_EQ((*batches)[1].version, 2);
  EXPECT_EQ((*batches)[1].created_at, ManualClock::kDefaultStart + std::chrono::minutes(1));
  auto incs = rig.coordinator->incrementals(kDate);
  ASSERT_TRUE(incs);
  ASSERT_EQ(incs->size(), 1u);
  EXPECT_EQ((*incs)[0].batch_id, "phase5-2025-11-18-b2");
  EXPECT_EQ((*incs)[0].version, 3);
  EXPECT_EQ((*incs)[0].entities, std::vector<std::string>{"p017"});
  EXPECT_EQ((*incs)[0].state, BatchState::kComplete);
  EXPECT_TRUE(rig.coordinator->batches(kDate.plus_days(1))->empty());
}

TEST_P(BatchCoordinatorTest, ReadsABatchRowStoredWithItsStateAsAString) {
  Rig rig(store, {{420, 450}}, false);
  // A row as the coordinator wrote it before its state was an enum: the same text.
  const std::string row =
      R"({"attempts":0,"batch_id":"phase5-2025-11-18-b1","completed_ns":0,"created_ns":5,"expected":0,)"
      R"("message":"","number":1,"started_ns":0,"state":"waiting","triggered_by":"scheduler","version":0})";
  ASSERT_TRUE(rig.store.transact([&](Transaction& tx) { return tx.put("phase5/batch/2025-11-18/0001", row); }));
  auto batches = rig.coordinator->batches(kDate);
  ASSERT_TRUE(batches) << batches.error().to_string();
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ((*batches)[0].state, BatchState::kWaiting);
  EXPECT_EQ((*batches)[0].triggered_by, BatchTrigger::kScheduler);
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kWaiting);
  EXPECT_EQ(rig.coordinator->health()->batches_waiting, 1u);
  auto rec = internal::BatchRecord::decode(row);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->encode(), row);
  // An unknown state is not a batch row.
  std::string bad = row;
  bad.replace(bad.find("waiting"), 7, "sleepy!");
  auto r = internal::BatchRecord::decode(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(r.error().message, "batch row: unknown state 'sleepy!'");
}

TEST_P(BatchCoordinatorTest, CreateValidatesTheOptions) {
  ManualClock clock;
  auto alerts = AlertManager::create(clock, {}).value();
  ScriptSource source({{420, 450}});
  FakeLedger ledger;
  EXPECT_TRUE(BatchCoordinator::create(clock, store, *alerts, source, ledger, {}));
  BatchCoordinatorOptions no_topic;
  no_topic.work_topic.clear();
  auto r = BatchCoordinator::create(clock, store, *alerts, source, ledger, no_topic);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "BatchCoordinatorOptions::work_topic must not be empty");
  BatchCoordinatorOptions slash;
  slash.key_prefix = "a/b";
  EXPECT_FALSE(BatchCoordinator::create(clock, store, *alerts, source, ledger, slash));
  BatchCoordinatorOptions no_cap;
  no_cap.max_incremental_per_date = 0;
  EXPECT_FALSE(BatchCoordinator::create(clock, store, *alerts, source, ledger, no_cap));
}

TEST_P(BatchCoordinatorTest, CreateValidatesTheReadinessOptionsAndThePredictionWorkersName) {
  ManualClock clock;
  auto alerts = AlertManager::create(clock, {}).value();
  ScriptSource source({{420, 450}});
  FakeLedger ledger;
  BatchCoordinatorOptions never_ready;
  never_ready.readiness.threshold = 1.5;
  auto r = BatchCoordinator::create(clock, store, *alerts, source, ledger, never_ready);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "ReadinessGateOptions::threshold 1.5 is not in (0, 1]");
  auto worker = PredictionWorker::create(store, ledger, {.name = ""});
  ASSERT_FALSE(worker);
  EXPECT_EQ(worker.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker.error().message, "PredictionWorkerOptions::name must not be empty");
}

TEST_P(BatchCoordinatorTest, ForceStartsANewBatchWithANewIdAndVersionKeepingHistory) {
  Rig rig(store, {{420, 450}}, true);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  auto forced = rig.coordinator->start(kDate, true, BatchTrigger::kManual);
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->status, BatchOutcome::kStarted);
  EXPECT_EQ(forced->batch_id, "phase5-2025-11-18-b2");
  EXPECT_EQ(forced->version, 2);
  EXPECT_EQ(rig.work_ids().size(), 840u);
  EXPECT_EQ(rig.store.scan("phase5/batch/2025-11-18/")->size(), 2u);
  auto s = rig.coordinator->status(kDate);
  EXPECT_EQ(s->batch_number, 2);
  EXPECT_EQ(s->state, BatchState::kComplete);
  EXPECT_EQ(rig.ledger.predicted(kDate)->at("p007"), 2);
}

TEST_P(BatchCoordinatorTest, RetryPublishesExactlyTheFortyMissingPlayersAsAttemptTwo) {
  Rig rig(store, {{420, 450}}, false);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  // Every tenth player (42), minus the first two, has no stored prediction: 40 missing.
  const auto all = players(420);
  std::set<std::string> missing;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i % 10 == 3 && i > 20)
      missing.insert(all[i]);
    else
      rig.ledger.store(kDate, all[i], 1);
  }
  ASSERT_EQ(missing.size(), 40u);
  rig.transport.clear();
  auto r = rig.coordinator->retry(kDate);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kRetrying);
  EXPECT_EQ(r->attempt, 2);
  std::set<std::string> published;
  for (const auto& id : rig.work_ids()) {
    EXPECT_EQ(id.rfind("phase5-2025-11-18-b1/a2/", 0), 0u) << id;
    published.insert(id.substr(id.rfind('/') + 1));
  }
  EXPECT_EQ(rig.work_ids().size(), 40u);
  EXPECT_EQ(published, missing);
  auto s = rig.coordinator->status(kDate);
  EXPECT_EQ(s->done, 380u);
  EXPECT_TRUE(s->partially_complete);
  EXPECT_NEAR(s->completion_rate, 380.0 / 420.0, 1e-12);
  EXPECT_EQ(s->missing.size(), 40u);
}

TEST_P(BatchCoordinatorTest, RetryWithNothingMissingCompletesWithoutMessages) {
  Rig rig(store, {{420, 450}}, false);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  for (const auto& p : players(420)) rig.ledger.store(kDate, p, 1);
  rig.transport.clear();
  auto r = rig.coordinator->retry(kDate);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, BatchOutcome::kComplete);
  EXPECT_TRUE(rig.work_ids().empty());
  EXPECT_EQ(rig.complete_ids().size(), 1u);  // the retry noticed completion
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kComplete);
}

TEST_P(BatchCoordinatorTest, RetryWithoutBatchIsAFailedPrecondition) {
  Rig rig(store, {{420, 450}}, false);
  auto r = rig.coordinator->retry(kDate);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(BatchCoordinatorTest, EventAndSchedulerRacingForTheSameDateProduceOneBatch) {
  Rig rig(store, {{60, 60}}, false);
  std::vector<CalendarDate> dates;
  for (int i = 0; i < 12; ++i) {
    dates.push_back(kDate.plus_days(i));
    rig.ledger.expect(dates.back(), players(60));
  }
  std::atomic<int> go{0};
  auto run = [&](bool event) {
    go.fetch_add(1);
    ASSERT_TRUE(pipeline_test::spin_until([&] { return go.load() >= 2; }));
    for (auto d : dates) {
      auto r = event ? rig.coordinator->trigger(phase4_message(d)) : rig.coordinator->start(d, false, BatchTrigger::kScheduler);
      EXPECT_TRUE(r);
    }
  };
  std::thread a(run, true), b(run, false);
  a.join();
  b.join();
  const auto ids = rig.work_ids();
  EXPECT_EQ(ids.size(), 60u * dates.size());
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  for (auto d : dates) {
    EXPECT_EQ(rig.store.scan(fmt::format("phase5/batch/{}/", d))->size(), 1u) << d.to_string();
    EXPECT_EQ(rig.coordinator->status(d)->batch_id, fmt::format("phase5-{}-b1", d));
  }
}

TEST_P(BatchCoordinatorTest, StatusReportsPhase4ToPhase5LatencyCompletionRateAndTrigger) {
  Rig rig(store, {{420, 450}}, false);
  const TimePoint phase4_done = rig.clock.now() - minutes(4);
  auto r = rig.coordinator->trigger(phase4_message(kDate, {{"completed_at", format_rfc3339(phase4_done)},
                                                          {"entities_ready", 420},
                                                          {"entities_total", 450}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, BatchOutcome::kStarted);
  EXPECT_EQ(rig.source.calls(), 0u);  // the message's counts decided
  for (const auto& p : players(300)) rig.ledger.store(kDate, p, 1);
  auto partial = rig.coordinator->status(kDate);
  ASSERT_TRUE(partial);
  EXPECT_TRUE(partial->partially_complete);
  EXPECT_FALSE(partial->fully_complete);
  EXPECT_FALSE(partial->phase4_to_phase5_latency);
  rig.clock.advance(minutes(2));
  for (const auto& p : players(420)) rig.ledger.store(kDate, p, 1);
  EXPECT_TRUE(rig.coordinator->note_progress(kDate).value());
  auto s = rig.coordinator->status(kDate);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->fully_complete);
  EXPECT_DOUBLE_EQ(s->completion_rate, 1.0);
  EXPECT_EQ(s->triggered_by, BatchTrigger::kEvent);
  EXPECT_EQ(s->phase4_to_phase5_latency, Duration(minutes(6)));
  const auto j = s->to_json();
  EXPECT_EQ(j["triggered_by"], "event");
  EXPECT_DOUBLE_EQ(j["phase4_to_phase5_latency_seconds"].get<double>(), 360.0);
  EXPECT_EQ(j["missing_count"], 0);
}

TEST_P(BatchCoordinatorTest, StatusCheckAlertsWhenMoreThanMaxOfFivePercentAndTwentyAreMissing) {
  Rig rig(store, {{420, 450}}, false);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  for (const auto& p : players(399)) rig.ledger.store(kDate, p, 1);  // 21 missing = max(5% of 420, 20)
  auto c = rig.coordinator->status_check(kDate);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->missing_alerted);
  EXPECT_FALSE(c->alerted);
  rig.ledger.expect(kDate, players(422));  // 23 missing of 422 > 21.1
  c = rig.coordinator->status_check(kDate);
  EXPECT_TRUE(c->missing_alerted);
  EXPECT_FALSE(c->alerted);  // 94.5% coverage
  auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].key, "coverage/missing/phase5/2025-11-18");
  EXPECT_EQ(alerts[0].severity, Severity::kWarning);
}

TEST_P(BatchCoordinatorTest, StatusCheckAlertsBelowNinetyPercentCoverage) {
  BatchCoordinatorOptions only_coverage;
  only_coverage.coverage.missing_min = 1000;
  Rig rig(store, {{420, 450}}, false, only_coverage);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  for (const auto& p : players(378)) rig.ledger.store(kDate, p, 1);  // exactly 90%
  EXPECT_FALSE(rig.coordinator->status_check(kDate)->alerted);
  rig.ledger.expect(kDate, players(421));  // 378 of 421 < 90%
  auto c = rig.coordinator->status_check(kDate);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->alerted);
  auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].key, "coverage/status/phase5/2025-11-18");
}

TEST_P(BatchCoordinatorTest, IncrementalRePredictionSupersedesWithAVersionAndIsCapped) {
  BatchCoordinatorOptions options;
  options.max_incremental_per_date = 2;
  options.entity_kind = "players";
  Rig rig(store, {{420, 450}}, true, options);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  rig.transport.clear();
  Message update = phase4_message(kDate);
  update.is_incremental = true;
  update.entities_changed = EntityChanges{{"players", {"p017"}}};
  auto first = rig.coordinator->trigger(update);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->status, BatchOutcome::kRunning);
  EXPECT_EQ(rig.work_ids(), std::vector<std::string>{"phase5-2025-11-18-b1/v2/p017"});
  EXPECT_EQ(rig.ledger.predicted(kDate)->at("p017"), 2);
  EXPECT_EQ(rig.ledger.predicted(kDate)->at("p018"), 1);
  ASSERT_EQ(rig.complete_ids(), std::vector<std::string>{"phase5-2025-11-18-b1/v2/complete"});
  auto inc_msg = decode_message(rig.transport.published().back().message.payload);
  ASSERT_TRUE(inc_msg);
  EXPECT_TRUE(inc_msg->is_incremental);
  EXPECT_EQ(inc_msg->entities_changed->at("players"), std::vector<std::string>{"p017"});
  ASSERT_EQ(rig.coordinator->start_incremental(kDate, {"p017", "p200"}, BatchTrigger::kManual)->version, 3);
  const auto before = rig.transport.published_count();
  auto capped = rig.coordinator->start_incremental(kDate, {"p001"}, BatchTrigger::kManual);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->status, BatchOutcome::kRefused);
  EXPECT_EQ(rig.transport.published_count(), before);
  auto alerts = rig.alerts_raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].key, "phase5/incremental_cap/2025-11-18");
  EXPECT_EQ(rig.coordinator->status(kDate)->incremental_count, 2u);
}

// Incremental ids follow the library's one entity-id rule (core/entity_id.hpp), with its messages.
TEST_P(BatchCoordinatorTest, IncrementalIdsFollowTheCoreEntityIdRule) {
  Rig rig(store, {{420, 450}}, true);
  ASSERT_TRUE(rig.coordinator->start(kDate, false, BatchTrigger::kEvent));
  const auto before = rig.transport.published_count();
  for (const std::string& bad : {std::string(), std::string("a/b"), std::string("a b"), std::string(129, 'x'),
                                std::string("caf\xC3\xA9"), std::string("nul\0", 4)}) {
    auto r = rig.coordinator->start_incremental(kDate, {"p017", bad}, BatchTrigger::kManual);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, validate_entity_id(bad).error().message);
  }
  EXPECT_EQ(rig.transport.published_count(), before);
  EXPECT_EQ(rig.coordinator->status(kDate)->incremental_count, 0u);
  // What the rule accepts: up to 128 printable ASCII bytes, quotes and punctuation included.
  auto ok = rig.coordinator->start_incremental(kDate, {std::string(128, 'x'), "o'neil", "p:1.a_b-c"},
                                              BatchTrigger::kManual);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->version, 2);
  const auto work = rig.work_ids();
  EXPECT_NE(std::find(work.begin(), work.end(), "phase5-2025-11-18-b1/v2/o'neil"), work.end());
}

TEST_P(BatchCoordinatorTest, TriggerRejectsInvalidMessagesWithClearErrors) {
  Rig rig(store, {{420, 450}}, false);
  Message wrong = phase4_message(kDate);
  wrong.phase = "phase3_analytics";
  auto r = rig.coordinator->trigger(wrong);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "expected phase 'phase4_precompute', got 'phase3_analytics'");
  Message failed = phase4_message(kDate);
  failed.status = CompletionStatus::kFailed;
  failed.error = "feature store timed out";
  r = rig.coordinator->trigger(failed);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("feature store timed out"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(encode_message(phase4_message(kDate)));
  j.erase("game_date");
  EXPECT_FALSE(rig.coordinator->trigger_payload(j.dump()));
  j["game_date"] = "2025-02-30";
  auto impossible = rig.coordinator->trigger_payload(j.dump());
  ASSERT_FALSE(impossible);
  EXPECT_NE(impossible.error().to_string().find("2025-02-30"), std::string::npos);
  EXPECT_TRUE(rig.transport.published().empty());
  EXPECT_TRUE(rig.store.scan("phase5/batch/")->empty());
}

// The direct writer must give what a JSON library gives for the same object (keys sorted),
// escapes included, and decode must read it back.
// One correlation id per run: the event's reaches every work message and the completion
// (the batch id beside it, in the metadata), an incremental update's its own re-prediction;
// a batch the scheduler starts has no upstream message and uses its batch id.
TEST_P(BatchCoordinatorTest, TheEventsCorrelationIdReachesTheWorkAndTheCompletion) {
  BatchCoordinatorOptions options;
  options.entity_kind = "players";
  Rig rig(store, {{420, 450}}, true, options);
  // correlation id -> (work messages, completions) published under it.
  auto published = [&rig] {
    std::map<std::string, std::pair<int, int>> out;
    for (const auto& r : rig.transport.published()) {
      if (r.topic == rig.coordinator->options().work_topic) {
        auto w = PredictionWork::decode(r.message.payload);
        EXPECT_TRUE(w);
        if (w) ++out[w->correlation_id].first;
      } else if (r.topic == rig.coordinator->options().complete_topic) {
        auto m = decode_message(r.message.payload);
        EXPECT_TRUE(m);
        if (!m) continue;
        ++out[m->correlation_id].second;
        EXPECT_EQ(m->metadata["batch_id"], "phase5-2025-11-18-b1");
      }
    }
    return out;
  };
  ASSERT_TRUE(rig.coordinator->trigger(phase4_message(kDate)));  // correlation_id "corr-1"
  EXPECT_EQ(published(), (std::map<std::string, std::pair<int, int>>{{"corr-1", {420, 1}}}));
  rig.transport.clear();
  Message update = phase4_message(kDate);
  update.execution_id = "exec-2";
  update.correlation_id = "corr-2";
  update.is_incremental = true;
  update.entities_changed = EntityChanges{{"players", {"p017"}}};
  ASSERT_TRUE(rig.coordinator->trigger(update));
  EXPECT_EQ(published(), (std::map<std::string, std::pair<int, int>>{{"corr-2", {1, 1}}}));

  rig.transport.clear();
  const CalendarDate next = kDate.plus_days(1);
  rig.ledger.expect(next, players(10));
  ASSERT_TRUE(rig.coordinator->start(next, false, BatchTrigger::kScheduler));
  for (const auto& r : rig.transport.published()) {
    if (r.topic == rig.coordinator->options().work_topic) {
      EXPECT_EQ(PredictionWork::decode(r.message.payload)->correlation_id, "phase5-2025-11-19-b1");
    }
  }
}

TEST_P(PredictionWorkerTest, RedeliveredWorkRunsTheModelOnce) {
  Rig rig(store, {{420, 450}}, false);
  PredictionWork w{"phase5-2025-11-18-b1", kDate, "p001", 1, 1, "batch"};
  auto d = std::make_shared<mocks::RecordingTransport::RecordedDelivery>(
      "t", "s", OutgoingMessage{w.message_id(), w.encode(), {}});
  EXPECT_EQ(rig.worker->process(*d).value(), PredictionWorker::Outcome::kProcessed);
  EXPECT_EQ(rig.worker->process(*d).value(), PredictionWorker::Outcome::kDuplicate);
  EXPECT_EQ(rig.ledger.writes(), 1);
  auto bad = std::make_shared<mocks::RecordingTransport::RecordedDelivery>("t", "s", OutgoingMessage{"x", "{}", {}});
  rig.worker->handle(bad);
  EXPECT_EQ(bad->outcome().rfind("nacked: invalid_argument", 0), 0u) << bad->outcome();
}

TEST_P(PredictionWorkerTest, FlushStoresTheHeldRoundInOneModelBatchAndSettlesEachDelivery) {
  Rig rig(store, {{420, 450}}, false);
  auto delivery = [](const PredictionWork& w) {
    return std::make_shared<mocks::RecordingTransport::RecordedDelivery>(
        "t", "s", OutgoingMessage{w.message_id(), w.encode(), {}});
  };
  const PredictionWork a{"phase5-2025-11-18-b1", kDate, "p001", 1, 1, "batch"};
  const PredictionWork b{"phase5-2025-11-18-b1", kDate, "p002", 1, 1, "batch"};
  auto da = delivery(a), db = delivery(b);
  auto bad = std::make_shared<mocks::RecordingTransport::RecordedDelivery>("t", "s", OutgoingMessage{"x", "{}", {}});
  auto handler = rig.worker->batching_handler();
  handler(da);
  handler(db);
  handler(bad);
  EXPECT_EQ(rig.ledger.writes(), 0);  // held, not processed
  EXPECT_EQ(da->outcome(), "");
  EXPECT_EQ(rig.worker->flush(), 3u);
  EXPECT_EQ(rig.ledger.batches(), 1);
  EXPECT_EQ(rig.ledger.writes(), 2);
  EXPECT_EQ(da->outcome(), "acked");
  EXPECT_EQ(db->outcome(), "acked");
  EXPECT_EQ(bad->outcome().rfind("nacked: invalid_argument", 0), 0u) << bad->outcome();
  // A redelivery in a later round is acknowledged without calling the model.
  auto again = delivery(a);
  handler(again);
  EXPECT_EQ(rig.worker->flush(), 1u);
  EXPECT_EQ(again->outcome(), "acked");
  EXPECT_EQ(rig.ledger.batches(), 1);
  EXPECT_EQ(rig.ledger.writes(), 2);
  EXPECT_EQ(rig.worker->flush(), 0u);
}

// ---- The hybrid trigger over one simulated day (times in Pacific, 2025-11-18 is PST).

struct Day {
  Day(StateStore& store, bool workers) : rig(store, {{420, 450}}, workers, {}, *parse_rfc3339("2025-11-18T08:00:00Z")) {
    auto s = DailySchedule::phase5();
    EXPECT_TRUE(s);
    schedule = std::make_shared<DailySchedule>(*s);
    auto sched = schedule;
    hybrid = HybridTrigger::create(
                 rig.clock, rig.store, rig.transport, *rig.coordinator,
                 [sched](TimePoint t) -> std::optional<Scheduler::Due> {
                   if (auto i = sched->next_after(t)) return Scheduler::Due{i->job, i->at};
                   return std::nullopt;
                 },
                 [sched](TimePoint t) { return sched->wall_time(t).date; })
                 .value();
    EXPECT_TRUE(hybrid->start());
  }
  Rig rig;
  std::shared_ptr<DailySchedule> schedule;
  std::unique_ptr<HybridTrigger> hybrid;
};

TEST_P(HybridTriggerTest, EventPathPredictsAndTheBackupFindsAlreadyComplete) {
  Day day(store, true);
  day.rig.clock.advance(minutes(30));  // 00:30 PST: Phase 4 completes
  Message m = phase4_message(kDate, {{"entities_ready", 420}, {"entities_total", 450}});
  ASSERT_TRUE(day.rig.transport.publish(HybridTrigger::default_options().phase4_topic, {"phase4/2025-11-18", encode_message(m), {}}));
  ASSERT_TRUE(day.rig.transport.publish(HybridTrigger::default_options().phase4_topic, {"phase4/2025-11-18", encode_message(m), {}}));
  EXPECT_EQ(day.rig.coordinator->status(kDate)->state, BatchState::kComplete);
  day.rig.clock.advance(std::chrono::hours(7));  // through 07:30 PST
  const auto runs = day.hybrid->runs();
  std::vector<std::string> seen;
  for (const auto& r : runs) seen.push_back(r.source + ":" + r.outcome);
  EXPECT_EQ(seen, (std::vector<std::string>{"event:started", "event:duplicate", "backup:already_complete",
                                            "retry:complete", "retry:complete", "status_check:status_ok"}));
  EXPECT_EQ(runs[2].at, *parse_rfc3339("2025-11-18T14:00:00Z"));
  EXPECT_EQ(runs[2].game_date, kDate);
  EXPECT_EQ(day.rig.work_ids().size(), 420u);
  EXPECT_EQ(day.rig.complete_ids().size(), 1u);
  auto s = day.rig.coordinator->status(kDate);
  EXPECT_EQ(s->triggered_by, BatchTrigger::kEvent);
  EXPECT_EQ(s->phase4_to_phase5_latency, Duration::zero());
  EXPECT_TRUE(day.rig.alerts_raised().empty());
}

TEST_P(HybridTriggerTest, LostPhase4EventMeansTheSixOClockBackupProducesTheBatch) {
  Day day(store, true);
  day.rig.clock.advance(std::chrono::hours(7) + minutes(30));
  const auto runs = day.hybrid->runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].source, "backup");
  EXPECT_EQ(runs[0].outcome, "started");
  EXPECT_EQ(runs[3].outcome, "status_ok");
  auto s = day.rig.coordinator->status(kDate);
  EXPECT_EQ(s->triggered_by, BatchTrigger::kScheduler);
  EXPECT_TRUE(s->fully_complete);
  EXPECT_EQ(s->completed_at, *parse_rfc3339("2025-11-18T14:00:00Z"));
}

TEST_P(HybridTriggerTest, SevenOClockStatusCheckAlertsWhenRetriesCannotFillTheGap) {
  Day day(store, false);  // nobody predicts
  day.rig.clock.advance(std::chrono::hours(7) + minutes(30));
  const auto runs = day.hybrid->runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[1].outcome, "retrying");
  EXPECT_EQ(runs[3].outcome, "status_alerted");
  // 420 from the backup, 420 from each retry (attempts 2 and 3).
  EXPECT_EQ(day.rig.work_ids().size(), 1260u);
  // At 07:00 PT: every player missing (> max(5%, 20)) and coverage below 90%.
  std::vector<std::string> keys;
  for (const auto& a : day.rig.alerts_raised()) keys.push_back(a.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"coverage/missing/phase5/2025-11-18", "coverage/status/phase5/2025-11-18"}));
  for (const auto& a : day.rig.alerts_raised()) EXPECT_EQ(a.at, *parse_rfc3339("2025-11-18T15:00:00Z"));
}

PIPELINE_STORE_SUITE(BatchCoordinatorTest);
PIPELINE_STORE_SUITE(BatchCoordinatorTakeoverTest);
PIPELINE_STORE_SUITE(PredictionWorkerTest);
PIPELINE_STORE_SUITE(HybridTriggerTest);

}  // namespace batch_coordinator_test
}  // namespace pipeline
