// The examples of include/pipeline/gmock/ (`@snippet gmock_snippets_test.cpp <tag>`).

#include <chrono>
#include <memory>

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

namespace pipeline::gmock_snippets_test {
namespace {

TEST(GmockSnippets, MockAlertSink) {
  pipeline::ManualClock manual;
  //! [mock_alert_sink]
  auto sink = std::make_shared<::testing::StrictMock<pipeline::mocks::MockAlertSink>>();
  EXPECT_CALL(*sink, send(::testing::Field(&pipeline::Alert::severity, pipeline::Severity::kCritical)))
      .WillOnce(::testing::Return(pipeline::ok()));
  //! [mock_alert_sink]
  auto alerts = pipeline::AlertManager::create(manual, {sink}).value();
  EXPECT_TRUE(alerts->raise(pipeline::Severity::kCritical, "phase5/refused/2025-11-18", "no batch").delivered);
}

TEST(GmockSnippets, MockClock) {
  //! [mock_clock]
  pipeline::ManualClock manual;
  ::testing::NiceMock<pipeline::mocks::MockClock> clock;
  clock.delegate_to(manual);
  EXPECT_CALL(clock, schedule_at(manual.now() + std::chrono::minutes(30), ::testing::_));
  //! [mock_clock]
  bool fired = false;
  clock.schedule_after(std::chrono::minutes(30), [&] { fired = true; });
  manual.advance(std::chrono::minutes(30));
  EXPECT_TRUE(fired);
}

TEST(GmockSnippets, MockTransaction) {
  ::testing::NiceMock<pipeline::mocks::MockStateStore> store;
  //! [mock_transaction]
  ::testing::NiceMock<pipeline::mocks::MockTransaction> tx;
  EXPECT_CALL(tx, put("tracker/phase3/state", ::testing::_))
      .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kConflict, "raced")));
  EXPECT_CALL(store, transact).WillOnce([&](const auto& body, const auto&) { return body(tx); });
  //! [mock_transaction]
  pipeline::StateStore& port = store;
  auto st = port.transact([](pipeline::Transaction& t) { return t.put("tracker/phase3/state", "x"); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kConflict);
}

TEST(GmockSnippets, MockStateStore) {
  //! [mock_state_store]
  pipeline::MemoryStateStore real = pipeline::MemoryStateStore::create().value();
  ::testing::NiceMock<pipeline::mocks::MockStateStore> store;
  store.delegate_to(real);
  EXPECT_CALL(store, complete_outbox(::testing::_))
      .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kUnavailable, "store down")));
  //! [mock_state_store]
  pipeline::StateStore& port = store;
  EXPECT_TRUE(port.transact([](pipeline::Transaction& tx) { return tx.put("k", "v"); }));   // the real store
  EXPECT_EQ(real.get("k").value(), std::optional<std::string>("v"));
  EXPECT_FALSE(store.complete_outbox({"k"}));
}

TEST(GmockSnippets, MockSubscription) {
  //! [mock_subscription]
  auto sub = std::make_unique<::testing::StrictMock<pipeline::mocks::MockSubscription>>("sub");
  EXPECT_CALL(*sub, close());
  //! [mock_subscription]
  sub->close();
}

TEST(GmockSnippets, MockDelivery) {
  const pipeline::Handler handler = [](pipeline::DeliveryPtr d) {
    if (d->payload() != "ok") pipeline::best_effort_nack(*d, "payload does not decode");
  };
  //! [mock_delivery]
  auto delivery = std::make_shared<::testing::NiceMock<pipeline::mocks::MockDelivery>>(
      pipeline::OutgoingMessage{"phase2/2025-11-18", "{}", {}}, "phase2-complete", "phase3-sub");
  EXPECT_CALL(*delivery, nack(::testing::HasSubstr("does not decode")));
  handler(delivery);
  //! [mock_delivery]
}

TEST(GmockSnippets, MockTransport) {
  //! [mock_transport]
  ::testing::NiceMock<pipeline::mocks::MockTransport> transport;
  EXPECT_CALL(transport, do_publish(::testing::Field(&pipeline::PublishParams::topic, "acme-phase3-trigger")))
      .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kUnavailable, "broker down")));
  // ... run the component: its first publish to that topic fails ...
  //! [mock_transport]
  auto st = transport.publish("acme-phase3-trigger", {"id-1", "{}", {}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace pipeline::gmock_snippets_test
