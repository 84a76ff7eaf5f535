// The `gmock` component: a team's unit test of its own code against the GoogleMock mocks
// of the ports, built from the package (pipeline::gmock brings GoogleTest's gmock; the
// consumer links a core beside it, as with pipeline::mocks).
#include <cstdio>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pipeline/gmock/mock_alert_sink.hpp>
#include <pipeline/gmock/mock_clock.hpp>
#include <pipeline/gmock/mock_state_store.hpp>
#include <pipeline/gmock/mock_transport.hpp>
#include <pipeline/memory/memory_state_store.hpp>

namespace {

// The team's code: publishes a report and records that it did, and reports an error.
pipeline::Status publish_report(pipeline::Transport& transport, pipeline::StateStore& store) {
  PIPELINE_TRY(transport.publish("acme-report", {"report/2025-11-18", "{}", {}}));
  return store.transact([](pipeline::Transaction& tx) { return tx.put("report/2025-11-18", "sent"); });
}

TEST(ConsumerGmock, AFailedPublishRecordsNothing) {
  ::testing::StrictMock<pipeline::mocks::MockTransport> transport;
  ::testing::StrictMock<pipeline::mocks::MockStateStore> store;  // no call expected
  EXPECT_CALL(transport, do_publish(::testing::Field(&pipeline::PublishParams::topic, "acme-report")))
      .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kUnavailable, "broker down")));
  auto st = publish_report(transport, store);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kUnavailable);
}

TEST(ConsumerGmock, APublishedReportIsRecordedInTheDelegatedStore) {
  ::testing::NiceMock<pipeline::mocks::MockTransport> transport;
  pipeline::MemoryStateStore real = pipeline::MemoryStateStore::create().value();
  ::testing::NiceMock<pipeline::mocks::MockStateStore> store;
  store.delegate_to(real);
  EXPECT_CALL(store, transact);
  ASSERT_TRUE(publish_report(transport, store));
  EXPECT_EQ(real.get("report/2025-11-18").value(), std::optional<std::string>("sent"));
}

TEST(ConsumerGmock, TheOtherMocksCompile) {
  ::testing::NiceMock<pipeline::mocks::MockAlertSink> sink;
  ::testing::NiceMock<pipeline::mocks::MockClock> clock;
  EXPECT_TRUE(static_cast<pipeline::AlertSink&>(sink).send(pipeline::Alert{}));
  EXPECT_EQ(static_cast<pipeline::Clock&>(clock).now(), pipeline::TimePoint{});
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  if (failed == 0) std::printf("gmock component ok\n");
  return failed;
}
