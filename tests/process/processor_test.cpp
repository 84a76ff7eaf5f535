#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/process/processor.hpp"

namespace pipeline {
namespace processor_test {

using std::chrono::minutes;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");
constexpr std::string_view kTopic = "test-phase3-analytics-complete";

ProcessorOptions summary_options(ChangeDetector* detector, OutboxRelay* relay, Transport* transport,
                                 DependencyChecker* dependencies = nullptr) {
  ProcessorOptions o{"player_game_summary", "phase3_analytics", std::string(kTopic), "player_game_summary", "analytics"};
  o.detector = detector;
  o.dependencies = dependencies;
  o.relay = relay;
  o.transport = transport;
  return o;
}

/// 450 players with a points field; one can be changed to simulate a mid-day update.
struct Roster {
  std::map<std::string, std::int64_t> points;
  Roster() {
    for (int i = 0; i < 450; ++i) points[fmt::format("player-{:03}", i)] = 10 + i % 30;
  }
};

/// A processor over the roster: "writes" one output row per processed player, keyed by
/// (date, player) — an upsert, so reprocessing is idempotent.
class SummaryProcessor final : public Processor {
 public:
  SummaryProcessor(CreateKey key, Clock& clock, StateStore& store, RunHistory& history, ProcessorOptions options,
                   Roster& roster)
      : Processor(key, clock, store, history, std::move(options)), roster_(roster) {}

  std::vector<std::string> processed;  // ids the last step processed
  int steps = 0;
  int fail_next = 0;
  std::function<void()> during_step;
  std::function<void(ProcessResult&)> shape_result;  // lets a test bend the step's outcome
  std::map<std::string, std::int64_t> output;

 protected:
  Result<ProcessResult> process(const ProcessRequest& req) override {
    ++steps;
    processed.clear();
    if (during_step) during_step();
    if (fail_next > 0) {
      --fail_next;
      return fail(ErrorCode::kUnavailable, "warehouse unavailable");
    }
    const auto filter = req.filter();
    for (const auto& [id, pts] : roster_.points) {
      if (!filter(id)) continue;
      output[id] = pts * 2;
      processed.push_back(id);
    }
    ProcessResult r;
    r.record_count = static_cast<std::int64_t>(processed.size());
    r.entities_changed = req.full() ? ChangedEntities{} : ChangedEntities{EntityChanges{{"players", processed}}};
    if (req.full()) r.entities_changed.reset();
    if (shape_result) shape_result(r);
    return r;
  }
  Result<std::vector<EntitySnapshot>> snapshot(CalendarDate) override {
    std::vector<EntitySnapshot> snap;
    snap.reserve(roster_.points.size());
    for (const auto& [id, pts] : roster_.points) snap.push_back({id, {{"points", pts}}});
    return snap;
  }

 private:
  Roster& roster_;
};

struct Fixture {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  mocks::RecordingTransport transport{false};
  RunHistory history = RunHistory::create(clock, store).value();
  std::unique_ptr<OutboxRelay> relay = OutboxRelay::create(clock, store, transport).value();
  Roster roster;
  FingerprintChangeDetector detector = *ChangeDetector::create(store, FingerprintChangeDetectorOptions{"players", {"points"}, "change"});
  std::unique_ptr<SummaryProcessor> processor =
      Processor::create<SummaryProcessor>(clock, store, history, summary_options(&detector, relay.get(), &transport),
                                          roster)
          .value();

  std::vector<Message> published() {
    (void)relay->drain();
    std::vector<Message> out;
    for (const auto& r : transport.published()) out.push_back(*decode_message(r.message.payload));
    return out;
  }
};

TEST(Processor, FirstRunProcessesEveryPlayerAndPublishesOneCompletion) {
  Fixture f;
  auto report = f.processor->run(kDate);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(f.processor->processed.size(), 450u);
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].status, CompletionStatus::kSuccess);
  EXPECT_EQ(msgs[0].record_count, 450);
  EXPECT_EQ(msgs[0].processor_name, "player_game_summary");
  EXPECT_EQ(msgs[0].partition_date, kDate);
}

TEST(Processor, ReprocessesExactlyTheOneChangedPlayerOf450) {
  Fixture f;
  ASSERT_TRUE(f.processor->run(kDate));
  f.roster.points["player-123"] = 99;  // a mid-day update to one player
  Message trigger;
  trigger.processor_name = "phase2_to_phase3";
  trigger.phase = "phase2_raw";
  trigger.execution_id = "trigger-1";
  trigger.partition_date = kDate;
  trigger.is_incremental = true;
  trigger.metadata = nlohmann::json{{"wave", 1}};
  trigger.entities_changed = EntityChanges{{"players", {"player-123"}}};
  auto report = f.processor->run(kDate, &trigger);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(f.processor->processed, std::vector<std::string>{"player-123"});
  EXPECT_EQ(report->entities_processed, 1u);
  EXPECT_FALSE(report->full);
  EXPECT_EQ(f.processor->output["player-123"], 198);
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[1].is_incremental);
  EXPECT_EQ(msgs[1].entities_changed, (ChangedEntities{EntityChanges{{"players", {"player-123"}}}}));
  ASSERT_EQ(msgs[1].trace_links.size(), 1u);
  EXPECT_EQ(msgs[1].trace_links[0].execution_id, "trigger-1");
}

TEST(Processor, UnchangedInputsStillCompleteWithAnEmptyChangeMapAndNoStep) {
  Fixture f;
  ASSERT_TRUE(f.processor->run(kDate));
  Message trigger;
  trigger.processor_name = "t";
  trigger.phase = "p";
  trigger.execution_id = "e";
  trigger.partition_date = kDate;
  trigger.metadata = nlohmann::json{{"wave", 2}};
  auto report = f.processor->run(kDate, &trigger);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(f.processor->steps, 1);
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].entities_changed, ChangedEntities{EntityChanges{}});
}

TEST(Processor, RedeliveryAfterSuccessRepublishesTheStoredCompletionWithTheSameId) {
  Fixture f;
  ASSERT_TRUE(f.processor->run(kDate));
  (void)f.relay->drain();
  const auto first = f.transport.published();
  ASSERT_EQ(first.size(), 1u);
  auto again = f.processor->run(kDate);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, RunOutcome::kAlreadyDone);
  EXPECT_EQ(f.processor->steps, 1);
  const auto all = f.transport.published();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].message.id, first[0].message.id);
  EXPECT_EQ(all[1].message.payload, first[0].message.payload);
}

/// The trigger of the phase2 -> phase3 hand-off for kDate (wave 0), as a delivery of `id`.
DeliveryPtr trigger_delivery(const std::string& id) {
  Message trigger;
  trigger.processor_name = "phase2_to_phase3";
  trigger.phase = "phase2_raw";
  trigger.execution_id = "exec-" + id;
  trigger.partition_date = kDate;
  return std::make_shared<mocks::RecordingTransport::RecordedDelivery>(
      "phase2-trigger", "phase3-sub", OutgoingMessage{id, encode_message(trigger), {}});
}

std::string outcome_of(const DeliveryPtr& d) {
  return static_cast<const mocks::RecordingTransport::RecordedDelivery&>(*d).outcome();
}

TEST(Processor, ATriggerThatSucceededIsNeverRunAgainEvenAfterTheWindow) {
  Fixture f;
  auto handler = f.processor->handler();
  auto first = trigger_delivery("phase2_to_phase3/2025-11-18/w0");
  handler(first);
  EXPECT_EQ(outcome_of(first), "acked") << outcome_of(first);
  ASSERT_EQ(f.processor->steps, 1);
  (void)f.relay->drain();
  const auto completed = f.transport.published();
  ASSERT_EQ(completed.size(), 1u);

  // Two days later (twice the 24 h window) the same trigger is redelivered: its ack was lost.
  f.clock.advance(std::chrono::hours(48));
  auto late = trigger_delivery("phase2_to_phase3/2025-11-18/w0");
  handler(late);
  EXPECT_EQ(outcome_of(late), "acked") << outcome_of(late);
  EXPECT_EQ(f.processor->steps, 1);
  const auto all = f.transport.published();
  ASSERT_EQ(all.size(), 2u);  // the stored completion, re-published with its stable id
  EXPECT_EQ(all[1].message.id, completed[0].message.id);
  EXPECT_EQ(all[1].message.payload, completed[0].message.payload);
  auto report = f.processor->run(kDate, nullptr, RunOptions{false, trigger_delivery("phase2_to_phase3/2025-11-18/w0")});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->outcome, RunOutcome::kAlreadyDone);
  EXPECT_NE(report->detail.find("this trigger"), std::string::npos) << report->detail;
}

TEST(Processor, ANewTriggerForADoneDateFollowsTheWindowAndIsThenAnsweredForGood) {
  Fixture f;
  auto handler = f.processor->handler();
  handler(trigger_delivery("trigger-a"));
  ASSERT_EQ(f.processor->steps, 1);

  // Within the window a new trigger of the same date and wave is answered from run history...
  f.clock.advance(std::chrono::hours(1));
  auto within = trigger_delivery("trigger-b");
  handler(within);
  EXPECT_EQ(outcome_of(within), "acked");
  EXPECT_EQ(f.processor->steps, 1);
  // ...and so is its redelivery after the window: it was answered once, for good.
  f.clock.advance(std::chrono::hours(48));
  handler(trigger_delivery("trigger-b"));
  EXPECT_EQ(f.processor->steps, 1);

  // After the window a new trigger runs the step again, as the policy says (one player
  // changed meanwhile, so the change detector gives the step work).
  f.roster.points["player-007"] += 1;
  auto after = trigger_delivery("trigger-c");
  handler(after);
  EXPECT_EQ(outcome_of(after), "acked");
  EXPECT_EQ(f.processor->steps, 2);
  EXPECT_EQ(f.processor->processed, (std::vector<std::string>{"player-007"}));
  // Its own redelivery, and the first trigger's, do not.
  f.clock.advance(std::chrono::hours(72));
  handler(trigger_delivery("trigger-c"));
  handler(trigger_delivery("trigger-a"));
  EXPECT_EQ(f.processor->steps, 2);
}

TEST(Processor, AFailedTriggerIsNotRecordedSoItsRedeliveryRuns) {
  Fixture f;
  auto handler = f.processor->handler();
  f.processor->fail_next = 1;
  auto failed = trigger_delivery("trigger-a");
  handler(failed);
  EXPECT_NE(outcome_of(failed).find("nacked"), std::string::npos) << outcome_of(failed);
  auto retry = trigger_delivery("trigger-a");
  handler(retry);
  EXPECT_EQ(outcome_of(retry), "acked") << outcome_of(retry);
  EXPECT_EQ(f.processor->steps, 2);
}

TEST(Processor, FailedStepRecordsFailurePublishesFailedAndTheRetryCompletes) {
  Fixture f;
  f.processor->fail_next = 1;
  auto failed = f.processor->run(kDate);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->outcome, RunOutcome::kFailed);
  EXPECT_NE(failed->detail.find("warehouse unavailable"), std::string::npos);
  auto retry = f.processor->run(kDate);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->outcome, RunOutcome::kCompleted);
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].status, CompletionStatus::kFailed);
  EXPECT_EQ(msgs[1].status, CompletionStatus::kSuccess);
  // Fingerprints were stored only by the successful run: a third run finds nothing changed.
  auto third = f.processor->run(kDate, nullptr, RunOptions{true, nullptr});
  ASSERT_TRUE(third);
  EXPECT_EQ(f.processor->steps, 2);
  const auto ids = f.transport.published();
  EXPECT_NE(ids[0].message.id, ids[1].message.id);
}

TEST(Processor, TheStepsEntityIdsAreNormalizedIntoTheCompletion) {
  Fixture f;
  f.processor->shape_result = [](ProcessResult& r) {
    r.entities_changed = EntityChanges{{"players", {"player-2", "player-1", "player-2"}}, {"teams", {}}};
  };
  auto report = f.processor->run(kDate);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].entities_changed, (ChangedEntities{EntityChanges{{"players", {"player-1", "player-2"}}}}));
}

TEST(Processor, AStepOutcomeThatCannotBeACompletionIsAFailureNotASuccess) {
  Fixture f;
  f.processor->shape_result = [](ProcessResult& r) { r.entities_changed = EntityChanges{{"players", {"bad id"}}}; };
  auto bad = f.processor->run(kDate);
  ASSERT_TRUE(bad) << bad.error().to_string();
  EXPECT_EQ(bad->outcome, RunOutcome::kFailed);
  EXPECT_NE(bad->detail.find("not a valid completion"), std::string::npos) << bad->detail;
  f.processor->shape_result = nullptr;
  auto retry = f.processor->run(kDate);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->outcome, RunOutcome::kCompleted) << "the bad outcome was not recorded as a success";
  auto msgs = f.published();
  ASSERT_EQ(msgs.size(), 2u) << "every published completion decodes";
  EXPECT_EQ(msgs[0].status, CompletionStatus::kFailed);
  EXPECT_EQ(msgs[1].status, CompletionStatus::kSuccess);
}

TEST(Processor, FingerprintsOfAFailedRunAreNotStored) {
  Fixture f;
  ASSERT_TRUE(f.processor->run(kDate));
  f.roster.points["player-001"] = 77;
  f.processor->fail_next = 1;
  Message trigger;
  trigger.processor_name = "t";
  trigger.phase = "p";
  trigger.execution_id = "e";
  trigger.partition_date = kDate;
  trigger.metadata = nlohmann::json{{"wave", 1}};
  ASSERT_EQ(f.processor->run(kDate, &trigger)->outcome, RunOutcome::kFailed);
  ASSERT_EQ(f.processor->run(kDate, &trigger)->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(f.processor->processed, std::vector<std::string>{"player-001"});
}

/// A data source with no rows: the critical input fails the dependency check.
class EmptySource final : public DependencyDataSource {
 public:
  Result<std::int64_t> row_count(std::string_view, CalendarDate) override { return 0; }
  Result<std::optional<TimePoint>> last_updated(std::string_view, CalendarDate) override {
    return std::optional<TimePoint>{};
  }
};

TEST(Processor, FailedCriticalDependencyRunsNothingAndPublishesNothing) {
  Fixture f;
  EmptySource source;
  DependencyChecker deps = DependencyChecker::create(f.clock, source).value();
  DependencySpec spec;
  spec.table = "nbac_gamebook_player_stats";
  spec.critical = true;
  spec.expected_count_min = 100;
  ASSERT_TRUE(deps.declare("player_game_summary", {spec}));
  auto p = Processor::create<SummaryProcessor>(
                f.clock, f.store, f.history, summary_options(&f.detector, f.relay.get(), &f.transport, &deps), f.roster)
                .value();
  auto report = p->run(kDate);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->outcome, RunOutcome::kDependenciesFailed);
  EXPECT_NE(report->detail.find("nbac_gamebook_player_stats"), std::string::npos);
  EXPECT_EQ(p->steps, 0);
  EXPECT_TRUE(f.published().empty());
}

TEST(Processor, ALongStepExtendsTheDeliveryDeadlineSoItIsNotRedeliveredMidRun) {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock).value();
  RunHistory history = RunHistory::create(clock, store).value();
  auto relay = OutboxRelay::create(clock, store, *transport).value();
  Roster roster;
  auto p =
      Processor::create<SummaryProcessor>(clock, store, history, summary_options(nullptr, relay.get(), transport.get()), roster)
          .value();
  p->during_step = [&] { clock.advance(minutes(30)); };  // a 30-minute full batch
  int deliveries = 0;
  auto handler = p->handler();
  auto sub = transport->subscribe({"phase3-sub", "phase2-trigger", {}}, [&](DeliveryPtr d) {
    ++deliveries;
    handler(d);
  });
  ASSERT_TRUE(sub);
  Message trigger;
  trigger.processor_name = "phase2_to_phase3";
  trigger.phase = "phase2_raw";
  trigger.execution_id = "x";
  trigger.partition_date = kDate;
  ASSERT_TRUE(transport->publish("phase2-trigger", {"phase2_to_phase3/2025-11-18/w0", encode_message(trigger), {}}));
  transport->pump();
  clock.advance(minutes(60));
  transport->pump();
  EXPECT_EQ(deliveries, 1);
  EXPECT_EQ(p->steps, 1);
  auto rec = history.get(RunKey{"player_game_summary", kDate, 0});
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->state, RunState::kSuccess);
}

TEST(Processor, AMalformedTriggerIsRejectedWithTheDecodeError) {
  Fixture f;
  auto handler = f.processor->handler();
  auto d = std::make_shared<mocks::RecordingTransport::RecordedDelivery>("t", "s",
                                                                         OutgoingMessage{"id-1", "{\"game_date\":1}", {}});
  handler(d);
  EXPECT_NE(d->outcome().find("rejected"), std::string::npos) << "dead-lettered at once, not retried";
  EXPECT_NE(d->outcome().find("game_date"), std::string::npos);
  EXPECT_EQ(f.processor->steps, 0);
}

TEST(Processor, ARunKilledBeforeRecordingSuccessRunsAgainAfterItsLease) {
  Fixture f;
  // A runner that started and died: it holds the lease but never records anything.
  ASSERT_TRUE(f.history.try_start(RunKey{"player_game_summary", kDate, 0}, "dead-worker", std::chrono::hours(24)));
  auto busy = f.processor->run(kDate);
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->outcome, RunOutcome::kBusy);
  f.clock.advance(minutes(11));
  auto report = f.processor->run(kDate);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(f.processor->processed.size(), 450u);
}

TEST(Processor, ASecondWorkerStaysOutWhileTheOwnerIsAliveAndThenFindsItsSuccess) {
  Fixture f;
  // Another process: its own run history object over the same store.
  RunHistory other_history = RunHistory::create(f.clock, f.store).value();
  auto other = Processor::create<SummaryProcessor>(f.clock, f.store, other_history,
                                                   summary_options(nullptr, f.relay.get(), &f.transport), f.roster)
                   .value();
  std::optional<Result<RunReport>> meanwhile;
  f.processor->during_step = [&] {
    f.clock.advance(minutes(25));  // past the 10-minute lease: the owner's heartbeat renews it
    meanwhile = other->run(kDate);
  };
  auto report = f.processor->run(kDate);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  ASSERT_TRUE(meanwhile && *meanwhile);
  EXPECT_EQ((*meanwhile)->outcome, RunOutcome::kBusy);
  auto after = other->run(kDate);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->outcome, RunOutcome::kAlreadyDone);
  EXPECT_EQ(other->steps, 0);
  EXPECT_EQ(f.processor->steps, 1);
}

TEST(Processor, CreateRefusesOptionsWithoutANameOrWithANonPositiveHeartbeat) {
  Fixture f;
  auto unnamed = summary_options(nullptr, nullptr, nullptr);
  unnamed.name.clear();
  auto r = Processor::create<SummaryProcessor>(f.clock, f.store, f.history, unnamed, f.roster);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "ProcessorOptions::name must not be empty");
  auto still = summary_options(nullptr, nullptr, nullptr);
  still.heartbeat_interval = Duration::zero();
  EXPECT_FALSE(Processor::create<SummaryProcessor>(f.clock, f.store, f.history, still, f.roster));
  EXPECT_TRUE(Processor::create<SummaryProcessor>(f.clock, f.store, f.history, summary_options(nullptr, nullptr, nullptr),
                                                  f.roster));
}

}  // namespace processor_test
}  // namespace pipeline
