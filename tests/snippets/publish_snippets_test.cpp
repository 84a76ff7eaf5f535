// The examples of include/pipeline/publish/ (`@snippet publish_snippets_test.cpp <tag>`).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/publish/connection.hpp"
#include "pipeline/publish/retry_policy.hpp"
#include "pipeline/publish/send_step.hpp"
#include "pipeline/publish/unified_publisher.hpp"
#include "snippets/snippet_support.hpp"

namespace pipeline::publish_snippets_test {
namespace {

using std::chrono::seconds;

TEST(PublishSnippets, Connection) {
  pipeline::ManualClock clock;
  pipeline::mocks::RecordingTransport recording;
  pipeline::mocks::FailingTransport transport{recording};
  transport.set_down(true, pipeline::ErrorCode::kInvalidArgument);   // permanent: given up at once
  auto publisher = pipeline::UnifiedPublisher::create(clock, transport).value();
  std::vector<std::string> failed;
  //! [connection]
  pipeline::Connection c = publisher->on_failed([&](auto& topic, auto& id, auto& e) {
    failed.push_back(topic + " " + id + ": " + e.to_string());
  });
  //! [connection]
  ASSERT_TRUE(publisher->publish("t", snippets::completion("orders_loader"), "id-1"));
  EXPECT_TRUE(publisher->flush(clock.now() + seconds(10)));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].find("t id-1: invalid_argument"), std::string::npos) << failed[0];
  //! [connection_disconnect]
  c.disconnect();
  //! [connection_disconnect]
  EXPECT_FALSE(c.connected());
  ASSERT_TRUE(publisher->publish("t", snippets::completion("orders_loader"), "id-2"));
  EXPECT_TRUE(publisher->flush(clock.now() + seconds(10)));
  EXPECT_EQ(failed.size(), 1u);
}

TEST(PublishSnippets, RetryPolicy) {
  //! [retry_policy]
  auto backoff = pipeline::ExponentialBackoff::create({.initial_delay = std::chrono::milliseconds(100), .max_attempts = 8});
  ASSERT_TRUE(backoff) << backoff.error().to_string();
  auto delay = (*backoff)->next_delay(1, {});   // in [0, 100 ms]
  //! [retry_policy]
  ASSERT_TRUE(delay);
  EXPECT_GE(*delay, pipeline::Duration::zero());
  EXPECT_LE(*delay, std::chrono::milliseconds(100));
  EXPECT_FALSE((*backoff)->next_delay(8, {}));   // the 8th attempt was the last
}

TEST(PublishSnippets, SendStep) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::mocks::RecordingTransport transport;
  pipeline::MetricsRegistry registry = pipeline::MetricsRegistry::create().value();
  std::vector<std::string> failures;
  //! [send_step]
  std::shared_ptr<pipeline::SendStep> step = pipeline::SendStep::create(transport, {.metrics = &registry}).value();
  auto c = step->on_failed([&](auto& topic, auto& id, auto& e) { failures.push_back(topic + id + e.to_string()); });
  auto relay = pipeline::OutboxRelay::create(clock, store, step).value();         // both send through `step`
  auto publisher = pipeline::UnifiedPublisher::create(clock, step).value();
  //! [send_step]
  ASSERT_TRUE(store.transact([](pipeline::Transaction& tx) {
    return tx.enqueue({"acme-phase3-trigger", {"phase3/2025-11-18/w0", "{}", {}}}).map([](bool) {});
  }));
  ASSERT_TRUE(relay->drain());
  ASSERT_TRUE(publisher->publish("acme-phase3-analytics-complete", snippets::completion("orders_loader")));
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(10)));
  ASSERT_EQ(transport.published_count(), 2u);
  EXPECT_EQ(transport.published()[0].topic, "acme-phase3-trigger");
  EXPECT_EQ(transport.published()[1].topic, "acme-phase3-analytics-complete");
  EXPECT_TRUE(failures.empty());
}

TEST(PublishSnippets, UnifiedPublisher) {
  pipeline::ManualClock clock;
  pipeline::mocks::RecordingTransport transport;
  pipeline::Message message = snippets::completion("orders_loader");
  std::vector<std::string> failures;
  //! [unified_publisher]
  auto publisher = pipeline::UnifiedPublisher::create(clock, transport).value();
  auto c = publisher->on_failed([&](auto& topic, auto& id, auto& e) { failures.push_back(topic + id + e.to_string()); });
  auto id = publisher->publish("acme-phase3-analytics-complete", std::move(message));
  bool sent = publisher->flush(clock.now() + std::chrono::seconds(10));
  //! [unified_publisher]
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_TRUE(sent);
  ASSERT_EQ(transport.published_count(), 1u);
  EXPECT_EQ(transport.published()[0].message.id, *id);
  EXPECT_TRUE(failures.empty());
}

}  // namespace
}  // namespace pipeline::publish_snippets_test
