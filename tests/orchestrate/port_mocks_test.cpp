// The GoogleMock mocks of the ports (pipeline::gmock) drive real components: a relay
// whose transport refuses one publish, whose store fails to mark, whose claim is
// checked field by field; an alert manager's sink; a clock's timers; a transaction.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/gmock/mock_alert_sink.hpp"
#include "pipeline/gmock/mock_clock.hpp"
#include "pipeline/gmock/mock_state_store.hpp"
#include "pipeline/gmock/mock_transport.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace port_mocks_test {

using namespace std::chrono_literals;
using pipeline::ClaimOutboxParams;
using pipeline::ErrorCode;
using pipeline::OutboxRelay;
using pipeline::PublishParams;
using pipeline::Status;
using pipeline::Transaction;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrictMock;

Status enqueue(pipeline::StateStore& store, const std::string& topic, const std::string& id) {
  return store.transact([&](Transaction& tx) { return tx.enqueue({topic, {id, "{}", {}}}).map([](bool) {}); });
}

TEST(PortMocks, RelayKeepsAnEntryWhoseMockedPublishFailsAndSendsItAgainAfterTheLease) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::ManualClock clock;
  ASSERT_TRUE(enqueue(store, "topic-a", "a1"));
  StrictMock<pipeline::mocks::MockTransport> transport;
  // The relay publishes a batch; the mock's default batch is one do_publish per message.
  EXPECT_CALL(transport, do_publish_batch(_)).Times(2);
  auto a1 = AllOf(Field(&PublishParams::topic, "topic-a"),
                  Field(&PublishParams::message, Field(&pipeline::OutgoingMessage::id, "a1")));
  EXPECT_CALL(transport, do_publish(a1))
      .WillOnce(Return(pipeline::fail(ErrorCode::kUnavailable, "broker down")))
      .WillOnce(Return(pipeline::ok()));
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r1", .lease = 30s}).value();

  auto first = relay->relay_once();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store.pending_outbox().value(), 1u) << "a refused entry stays in the outbox";
  EXPECT_EQ(relay->relay_once().value(), 0u) << "leased until the lease ends";
  clock.advance(31s);
  EXPECT_EQ(relay->relay_once().value(), 1u);
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

TEST(PortMocks, ADelegatingStoreFailsOnlyTheExpectedCallAndTheEntryIsSentAgainWithItsId) {
  pipeline::MemoryStateStore real = pipeline::MemoryStateStore::create().value();
  NiceMock<pipeline::mocks::MockStateStore> store;
  store.delegate_to(real);
  pipeline::ManualClock clock;
  pipeline::mocks::RecordingTransport transport;
  ASSERT_TRUE(enqueue(store, "topic-a", "a1"));
  EXPECT_CALL(store, complete_outbox(::testing::ElementsAre("a1")))
      .WillOnce(Return(pipeline::fail(ErrorCode::kUnavailable, "store down")))
      .WillRepeatedly(::testing::DoDefault());  // delegated
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r1", .lease = 30s}).value();

  EXPECT_FALSE(relay->relay_once()) << "published, then the mark failed";
  EXPECT_EQ(real.pending_outbox().value(), 1u);
  clock.advance(31s);
  EXPECT_EQ(relay->relay_once().value(), 1u);
  ASSERT_EQ(transport.published_count(), 2u);
  EXPECT_EQ(transport.published().at(1).message.id, "a1") << "sent again under its stable id";
  EXPECT_EQ(real.pending_outbox().value(), 0u);
}

TEST(PortMocks, TheRelayClaimsWithItsOwnerBatchSizeClockAndLease) {
  StrictMock<pipeline::mocks::MockStateStore> store;
  StrictMock<pipeline::mocks::MockTransport> transport;
  pipeline::ManualClock clock;
  EXPECT_CALL(store, claim_outbox(AllOf(Field(&ClaimOutboxParams::owner, "relay-7"), Field(&ClaimOutboxParams::max, 7u),
                                        Field(&ClaimOutboxParams::now, clock.now()),
                                        Field(&ClaimOutboxParams::lease, pipeline::Duration(45s)))))
      .WillOnce(Return(std::vector<pipeline::OutboxRow>{}));
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "relay-7", .batch_size = 7, .lease = 45s}).value();
  EXPECT_EQ(relay->relay_once().value(), 0u) << "nothing claimed: no publish, no mark";
}

TEST(PortMocks, AStoreReadRunsItsBodyOnTheMockTransaction) {
  StrictMock<pipeline::mocks::MockStateStore> store;
  StrictMock<pipeline::mocks::MockTransaction> tx;
  EXPECT_CALL(store, transact(_, Field(&pipeline::TransactionOptions::read_only, true)))
      .WillOnce([&](const pipeline::StateStore::Body& body, const pipeline::TransactionOptions&) { return body(tx); });
  EXPECT_CALL(tx, get("tracker/phase3/state")).WillOnce(Return(std::optional<std::string>("decided")));
  EXPECT_EQ(store.get("tracker/phase3/state").value(), std::optional<std::string>("decided"));
}

TEST(PortMocks, AStoreWithoutAnActionRefusesTransactionsInsteadOfSkippingTheBody) {
  NiceMock<pipeline::mocks::MockStateStore> store;
  auto r = store.get("k");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
}

TEST(PortMocks, AnAlertManagerSendsARaisedAlertToTheMockSinkAndReportsItsFailure) {
  pipeline::ManualClock clock;
  auto sink = std::make_shared<StrictMock<pipeline::mocks::MockAlertSink>>();
  EXPECT_CALL(*sink, send(AllOf(Field(&pipeline::Alert::severity, pipeline::Severity::kCritical),
                                Field(&pipeline::Alert::key, "coverage/phase5/2025-11-18"),
                                Field(&pipeline::Alert::at, clock.now()))))
      .WillOnce(Return(pipeline::fail(ErrorCode::kUnavailable, "pager down")));
  auto alerts = pipeline::AlertManager::create(clock, {sink}).value();
  auto outcome = alerts->raise(pipeline::Severity::kCritical, "coverage/phase5/2025-11-18", "phase 5 is missing a wave");
  EXPECT_TRUE(outcome.delivered);
  EXPECT_EQ(outcome.sink_failures, 1u);
}

TEST(PortMocks, AClockDelegatingToAManualClockShowsTheTimersAndStillFiresThem) {
  pipeline::ManualClock manual;
  NiceMock<pipeline::mocks::MockClock> clock;
  clock.delegate_to(manual);
  EXPECT_CALL(clock, schedule_at(manual.now() + 30min, _));
  int fired = 0;
  pipeline::Clock& port = clock;
  port.schedule_after(30min, [&] { ++fired; });
  manual.advance(29min);
  EXPECT_EQ(fired, 0);
  manual.advance(1min);
  EXPECT_EQ(fired, 1);
}

TEST(PortMocks, ATransportSubscribeCapturesTheHandlerAndReturnsAMockSubscription) {
  NiceMock<pipeline::mocks::MockTransport> transport;
  pipeline::Handler handler;
  EXPECT_CALL(transport, subscribe(Field(&pipeline::SubscribeParams::topic, "phase2-complete"), _))
      .WillOnce([&](const pipeline::SubscribeParams& params, pipeline::Handler h) {
        handler = std::move(h);
        return pipeline::Result<std::unique_ptr<pipeline::Subscription>>(
            std::make_unique<NiceMock<pipeline::mocks::MockSubscription>>(params.name));
      });
  pipeline::Transport& port = transport;
  auto sub = port.subscribe({"phase3-sub", "phase2-complete", {}}, [](pipeline::DeliveryPtr d) {
    if (d->payload() == "{}") {
      pipeline::best_effort_ack(*d);
    } else {
      pipeline::best_effort_reject(*d, "does not decode");
    }
  });
  ASSERT_TRUE(sub);
  EXPECT_EQ((*sub)->name(), "phase3-sub");
  ASSERT_TRUE(handler);

  // The captured handler settles mock deliveries as the test expects.
  auto good = std::make_shared<StrictMock<pipeline::mocks::MockDelivery>>(
      pipeline::OutgoingMessage{"phase2/2025-11-18", "{}", {}}, "phase2-complete", "phase3-sub");
  auto bad = std::make_shared<StrictMock<pipeline::mocks::MockDelivery>>(
      pipeline::OutgoingMessage{"phase2/2025-11-19", "not json", {}}, "phase2-complete", "phase3-sub");
  EXPECT_CALL(*good, payload());
  EXPECT_CALL(*good, ack());
  EXPECT_CALL(*bad, payload());
  EXPECT_CALL(*bad, reject(::testing::HasSubstr("does not decode")));
  handler(good);
  handler(bad);
}

}  // namespace port_mocks_test
