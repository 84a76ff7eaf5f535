#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/process/processor.hpp"
#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif
#include "store_under_test.hpp"

namespace pipeline {
namespace dead_letter_recorder_test {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kTopic = "test-phase2-raw-complete";

SubscriptionSettings poison_settings() {
  SubscriptionSettings s;
  s.max_delivery_attempts = 3;
  s.min_backoff = seconds(1);
  s.max_backoff = seconds(1);
  return s;
}

/// Pumps and advances the clock until nothing is due (a few backoff rounds).
void settle(ManualClock& clock, MemoryTransport& transport, int rounds = 10) {
  for (int i = 0; i < rounds; ++i) {
    transport.pump();
    clock.advance(seconds(5));
  }
  transport.pump();
}

/// The recorder and its collaborators on the suite's store.
struct Fixture {
  explicit Fixture(StateStore& s) : store(s) {}
  ManualClock clock;
  StateStore& store;
  std::unique_ptr<MemoryTransport> transport = MemoryTransport::create(clock).value();
  std::vector<Alert> alerts;
  std::unique_ptr<AlertManager> manager = AlertManager::create(clock,
                       {CallbackAlertSink::create([this](const Alert& a) { alerts.push_back(a); }).value()},
                       AlertManagerOptions{RateLimiterOptions{.error = RateLimit{minutes(10), 1}}, true,
                                          Duration::zero()}).value();
  std::unique_ptr<DeadLetterRecorder> recorder =
      DeadLetterRecorder::create(clock, store, *transport, {.alerts = manager.get()}).value();
  std::vector<std::unique_ptr<Subscription>> subs;

  /// A subscription on kTopic whose handler always nacks: everything it gets dies.
  void poison_subscription(const std::string& name) {
    auto sub = transport->subscribe({name, std::string(kTopic), poison_settings()},
                                    [](DeliveryPtr d) { (void)d->nack("cannot decode completion"); });
    ASSERT_TRUE(sub);
    subs.push_back(std::move(*sub));
  }
};

class DeadLetterRecorderTest : public testing::StoreSuite {};

TEST_P(DeadLetterRecorderTest, RecordsAPoisonMessageAsARowWithAttemptsErrorAndPayload) {
  Fixture f{store};
  ASSERT_TRUE(f.recorder->watch(kTopic));
  f.poison_subscription("phase3-sub");
  ASSERT_TRUE(f.transport->publish(kTopic, {"poison-1", "{not json", {{"traceparent", "00-abc"}}}));
  settle(f.clock, *f.transport);

  auto rows = DeadLetterRecorder::list(f.store);
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  const DeadLetterRecord& r = rows->front();
  EXPECT_EQ(r.id, "poison-1");
  EXPECT_EQ(r.source_topic, kTopic);
  EXPECT_EQ(r.subscription, "phase3-sub");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_NE(r.last_error.find("cannot decode"), std::string::npos);
  EXPECT_EQ(r.payload, "{not json");
  EXPECT_EQ(r.replayed, 0);
  EXPECT_EQ(r.attributes.count("traceparent"), 1u);
  EXPECT_EQ(r.attributes.count(std::string(attributes::kLastError)), 0u);
  EXPECT_EQ(f.recorder->recorded(), 1u);
  ASSERT_EQ(f.alerts.size(), 1u);
  EXPECT_EQ(f.alerts[0].key, "dlq/phase3-sub");
  EXPECT_EQ(f.alerts[0].severity, Severity::kError);
}

TEST_P(DeadLetterRecorderTest, AlertsAreRateLimitedPerSubscription) {
  Fixture f{store};
  ASSERT_TRUE(f.recorder->watch(kTopic));
  f.poison_subscription("sub-a");
  f.poison_subscription("sub-b");
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(f.transport->publish(kTopic, {fmt::format("m{}", i), "x", {}}));
  settle(f.clock, *f.transport);

  auto rows = DeadLetterRecorder::list(f.store);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 6u);  // the same id on two subscriptions is two dead letters
  EXPECT_EQ(f.recorder->recorded(), 6u);
  EXPECT_EQ(f.recorder->alerts_delivered(), 2u);  // one per subscription key
  EXPECT_EQ(f.recorder->alerts_suppressed(), 4u);
  auto only_a = DeadLetterRecorder::list(f.store, DeadLetterFilter{"sub-a", true});
  ASSERT_TRUE(only_a);
  EXPECT_EQ(only_a->size(), 3u);
}

TEST_P(DeadLetterRecorderTest, ReplayEnqueuesTheOriginalIdUnderANewOutboxKeyEachTimeAndCountsReplays) {
  Fixture f{store};
  ASSERT_TRUE(f.recorder->watch(kTopic));
  f.poison_subscription("phase3-sub");
  ASSERT_TRUE(f.transport->publish(kTopic, {"poison-1", "payload", {}}));
  settle(f.clock, *f.transport);

  auto first = DeadLetterRecorder::replay(f.store, "poison-1");
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->outbox_key, "poison-1~replay1");
  EXPECT_EQ(first->record.id, "poison-1");
  auto second = DeadLetterRecorder::replay(f.store, "phase3-sub/poison-1");
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->outbox_key, "poison-1~replay2");

  auto claimed = f.store.claim_outbox({"t", 10, f.clock.now(), minutes(1)});
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].entry.topic, kTopic);
  EXPECT_EQ((*claimed)[0].entry.message.id, "poison-1");  // consumers see the original id
  EXPECT_EQ((*claimed)[0].entry.outbox_key(), "poison-1~replay1");
  EXPECT_EQ((*claimed)[0].entry.message.payload, "payload");
  EXPECT_EQ((*claimed)[0].entry.message.attributes.at(std::string(DeadLetterRecorder::kReplayAttribute)), "1");
  EXPECT_EQ((*claimed)[1].entry.message.id, "poison-1");
  EXPECT_EQ((*claimed)[1].entry.outbox_key(), "poison-1~replay2");
  EXPECT_EQ((*claimed)[1].entry.message.attributes.at(std::string(DeadLetterRecorder::kReplayAttribute)), "2");
  auto rows = DeadLetterRecorder::list(f.store, DeadLetterFilter{"", false});
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty());
  rows = DeadLetterRecorder::list(f.store);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().replayed, 2);
}

TEST_P(DeadLetterRecorderTest, ReplayOfAnUnknownIdIsNotFound) {
  Fixture f{store};
  auto r = DeadLetterRecorder::replay(f.store, "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_P(DeadLetterRecorderTest, AmbiguousBareIdAsksForTheSubscription) {
  Fixture f{store};
  ASSERT_TRUE(f.recorder->watch(kTopic));
  f.poison_subscription("sub-a");
  f.poison_subscription("sub-b");
  ASSERT_TRUE(f.transport->publish(kTopic, {"m", "x", {}}));
  settle(f.clock, *f.transport);
  auto r = DeadLetterRecorder::replay(f.store, "m");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(DeadLetterRecorder::replay(f.store, "sub-b/m"));
}

/// Forwards a delivery but turns its ack into a nack: the handler's work commits, the
/// transport never learns, and the message is redelivered until it is dead-lettered.
class AckLostDelivery final : public Delivery {
 public:
  explicit AckLostDelivery(DeliveryPtr inner) : inner_(std::move(inner)) {}
  const std::string& id() const noexcept override { return inner_->id(); }
  const std::string& topic() const noexcept override { return inner_->topic(); }
  const std::string& subscription() const noexcept override { return inner_->subscription(); }
  const std::string& payload() const noexcept override { return inner_->payload(); }
  const Attributes& attributes() const noexcept override { return inner_->attributes(); }
  int attempt() const noexcept override { return inner_->attempt(); }
  TimePoint deadline() const override { return inner_->deadline(); }
  Status ack() override { return inner_->nack("ack lost"); }
  Status nack(std::string_view reason) override { return inner_->nack(reason); }
  Status reject(std::string_view reason) override { return inner_->reject(reason); }
  Status extend_deadline(Duration extension) override { return inner_->extend_deadline(extension); }

 private:
  DeliveryPtr inner_;
};

/// Succeeds once per (date, wave) it is asked to run; counts steps.
class CountingProcessor final : public Processor {
 public:
  using Processor::Processor;
  int steps = 0;

 protected:
  Result<ProcessResult> process(const ProcessRequest&) override {
    ++steps;
    return ProcessResult{};
  }
};

TEST_P(DeadLetterRecorderTest, AReplayedTriggerDoesNotRunASucceededProcessorTwice) {
  Fixture f{store};
  RunHistory history = RunHistory::create(f.clock, f.store).value();
  auto relay = OutboxRelay::create(f.clock, f.store, *f.transport).value();
  auto created = Processor::create<CountingProcessor>(f.clock, f.store, history,
                                                     ProcessorOptions{.name = "player_game_summary",
                                                                      .phase = "phase3_analytics",
                                                                      .completion_topic = "test-phase3-analytics-complete",
                                                                      .output_table = "pgs",
                                                                      .output_dataset = "analytics",
                                                                      .relay = relay.get(),
                                                                      .transport = f.transport.get()});
  ASSERT_TRUE(created) << created.error().to_string();
  CountingProcessor& processor = **created;
  ASSERT_TRUE(f.recorder->watch(kTopic));
  // The processor succeeds, but its ack is lost every time (e.g. it crashes right after
  // committing): the trigger is redelivered until it is dead-lettered.
  auto handler = processor.handler();
  auto sub = f.transport->subscribe({"phase3-sub", std::string(kTopic), poison_settings()}, [&](DeliveryPtr d) {
    handler(std::make_shared<AckLostDelivery>(d));
  });
  ASSERT_TRUE(sub);
  Message trigger;
  trigger.processor_name = "phase2_to_phase3";
  trigger.phase = "phase2_raw";
  trigger.execution_id = "x";
  trigger.partition_date = *CalendarDate::parse("2025-11-18");
  ASSERT_TRUE(f.transport->publish(kTopic, {"phase2_to_phase3/2025-11-18/w0", encode_message(trigger), {}}));
  settle(f.clock, *f.transport);
  EXPECT_EQ(processor.steps, 1);
  ASSERT_EQ(f.recorder->recorded(), 1u);

  // Replayed two days later, past the processor's 24 h skip window: the replay keeps
  // the trigger's id, so the processor recognises a trigger that already succeeded.
  f.clock.advance(std::chrono::hours(48));
  auto replay = DeadLetterRecorder::replay(f.store, "phase2_to_phase3/2025-11-18/w0");
  ASSERT_TRUE(replay) << replay.error().to_string();
  std::vector<std::string> seen;
  auto trigger_seen = f.transport->subscribe({"trigger-seen", std::string(kTopic), {}}, [&](DeliveryPtr d) {
    seen.push_back(d->id());
    (void)d->ack();
  });
  ASSERT_TRUE(trigger_seen);
  ASSERT_TRUE(relay->drain());
  settle(f.clock, *f.transport);
  EXPECT_EQ(seen, (std::vector<std::string>{"phase2_to_phase3/2025-11-18/w0"}));
  EXPECT_EQ(processor.steps, 1);  // answered from the trigger's own success, not run again
}

TEST_P(DeadLetterRecorderTest, AReplayAfterTheWindowIsNotProcessedTwiceByAnIdempotentConsumer) {
  Fixture f{store};
  auto relay = OutboxRelay::create(f.clock, f.store, *f.transport).value();
  ASSERT_TRUE(f.recorder->watch(kTopic));
  int bodies = 0;
  auto consumer = IdempotentConsumer::create(f.store, [&](Transaction& tx, const Delivery& d) {
    ++bodies;
    return tx.put("phase3/seen/" + d.id(), d.payload());
  }, {"phase3"}).value();
  // The body commits every time but the ack is lost: the message ends in the dead letters.
  auto sub = f.transport->subscribe({"phase3-sub", std::string(kTopic), poison_settings()}, [&](DeliveryPtr d) {
    consumer.handle(std::make_shared<AckLostDelivery>(d));
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(f.transport->publish(kTopic, {"msg-1", "payload", {}}));
  settle(f.clock, *f.transport);
  ASSERT_EQ(f.recorder->recorded(), 1u);
  EXPECT_EQ(bodies, 1);

  f.clock.advance(std::chrono::hours(48));
  (*sub)->close();
  auto acking = f.transport->subscribe({"phase3-sub", std::string(kTopic), poison_settings()}, consumer.handler());
  ASSERT_TRUE(acking);
  ASSERT_TRUE(DeadLetterRecorder::replay(f.store, "msg-1"));
  ASSERT_TRUE(relay->drain());
  settle(f.clock, *f.transport);
  EXPECT_EQ(bodies, 1);  // the replay carried "msg-1": a duplicate, acknowledged
  EXPECT_EQ(f.recorder->recorded(), 1u);
  EXPECT_EQ(f.transport->dead_letters("phase3-sub").value().size(), 1u);  // only the first
}

TEST_P(DeadLetterRecorderTest, AReplayThatDiesAgainIsRecordedAndAlertedAgain) {
  Fixture f{store};
  auto relay = OutboxRelay::create(f.clock, f.store, *f.transport).value();
  ASSERT_TRUE(f.recorder->watch(kTopic));
  f.poison_subscription("phase3-sub");
  ASSERT_TRUE(f.transport->publish(kTopic, {"poison-1", "payload", {}}));
  settle(f.clock, *f.transport);
  ASSERT_EQ(f.recorder->recorded(), 1u);

  f.clock.advance(minutes(30));  // past the alert rate limit
  ASSERT_TRUE(DeadLetterRecorder::replay(f.store, "poison-1"));
  ASSERT_TRUE(relay->drain());
  settle(f.clock, *f.transport);
  EXPECT_EQ(f.recorder->recorded(), 2u);
  EXPECT_EQ(f.recorder->alerts_delivered(), 2u);
  auto rows = DeadLetterRecorder::list(f.store);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().id, "poison-1");
  EXPECT_EQ(rows->front().replayed, 1);  // kept across the second dead-lettering
  EXPECT_EQ(rows->front().attributes.at(std::string(DeadLetterRecorder::kReplayAttribute)), "1");
}

#ifdef PIPELINE_TEST_HAVE_SQLITE
TEST(DeadLetterRecorder, RowsOutliveTheProcessInSqliteAndReplayThere) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("pipeline-dlq-{}-{}", ::getpid(), std::random_device{}());
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.db").string();
  {
    ManualClock clock;
    auto store = SqliteStateStore::open(path);
    ASSERT_TRUE(store);
    auto transport = MemoryTransport::create(clock).value();
    auto recorder = DeadLetterRecorder::create(clock, **store, *transport).value();
    ASSERT_TRUE(recorder->watch(kTopic));
    auto sub = transport->subscribe({"phase3-sub", std::string(kTopic), poison_settings()},
                                    [](DeliveryPtr d) { (void)d->nack("bad"); });
    ASSERT_TRUE(sub);
    ASSERT_TRUE(transport->publish(kTopic, {"poison-1", "p", {}}));
    settle(clock, *transport);
  }
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store);
  auto rows = DeadLetterRecorder::list(**store);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().id, "poison-1");
  EXPECT_TRUE(DeadLetterRecorder::replay(**store, "poison-1"));
  auto pending = (*store)->pending_outbox();
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, 1u);
  store->reset();
  std::filesystem::remove_all(dir);
}
#endif

TEST_P(DeadLetterRecorderTest, CreateRefusesASeverityOutsideTheEnum) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  auto r = DeadLetterRecorder::create(clock, store, *transport, {.severity = static_cast<Severity>(7)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "DeadLetterRecorderOptions::severity 7 is not a severity");
}

PIPELINE_STORE_SUITE(DeadLetterRecorderTest);

}  // namespace dead_letter_recorder_test
}  // namespace pipeline
