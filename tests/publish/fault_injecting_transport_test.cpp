#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/fault_injecting_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline {
namespace fault_injecting_transport_test {

using std::chrono::minutes;
using std::chrono::seconds;

SubscriptionSettings short_deadline() {
  SubscriptionSettings s;
  s.ack_deadline = seconds(30);
  s.max_delivery_attempts = 100;
  return s;
}

TEST(FaultInjectingTransport, DroppedDeliveriesAreRedeliveredAfterTheAckDeadline) {
  ManualClock clock;
  auto inner = MemoryTransport::create(clock).value();
  mocks::FaultInjectingTransport transport{*inner, {.seed = 42, .drop_delivery = 0.3}};
  std::map<std::string, int> calls;
  auto sub = transport.subscribe({"s", "t", short_deadline()}, [&](DeliveryPtr d) {
    ++calls[d->id()];
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(transport.publish("t", {fmt::format("m{}", i), "x", {}}));
  for (int round = 0; round < 20; ++round) {
    inner->pump();
    clock.advance(seconds(31));
  }
  inner->pump();
  const mocks::FaultCounts c = transport.counts();
  EXPECT_GT(c.dropped, 30u);  // ~30% of the first 200, plus some of the redeliveries
  EXPECT_EQ(c.deliveries, 200u + c.dropped);  // each drop costs exactly one redelivery
  ASSERT_EQ(calls.size(), 200u);  // every message reached the handler in the end …
  for (const auto& [id, n] : calls) EXPECT_EQ(n, 1) << id;  // … exactly once
}

TEST(FaultInjectingTransport, DuplicatesCallTheHandlerTwiceWithTheSameId) {
  ManualClock clock;
  auto inner = MemoryTransport::create(clock).value();
  mocks::FaultInjectingTransport transport{*inner, {.seed = 7, .duplicate_delivery = 0.25}};
  std::map<std::string, int> calls;
  auto sub = transport.subscribe({"s", "t", short_deadline()}, [&](DeliveryPtr d) {
    ++calls[d->id()];
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(transport.publish("t", {fmt::format("m{}", i), "x", {}}));
  inner->pump();
  clock.advance(minutes(5));
  inner->pump();
  const mocks::FaultCounts c = transport.counts();
  EXPECT_GT(c.duplicated, 20u);
  EXPECT_LT(c.duplicated, 80u);
  EXPECT_EQ(c.deliveries, 200u);  // the real copy was acked: no redelivery
  std::uint64_t twice = 0;
  for (const auto& [id, n] : calls) {
    EXPECT_LE(n, 2) << id;
    twice += n == 2 ? 1 : 0;
  }
  EXPECT_EQ(twice, c.duplicated);
}

TEST(FaultInjectingTransport, FailedPublishesLeaveOutboxRowsPendingUntilARetrySucceeds) {
  ManualClock clock;
  auto inner = MemoryTransport::create(clock).value();
  mocks::FaultInjectingTransport transport{*inner, {.seed = 3, .fail_publish = 0.3}};
  MemoryStateStore store = MemoryStateStore::create().value();
  auto relay = OutboxRelay::create(clock, store, transport).value();
  std::map<std::string, int> received;
  auto sub = inner->subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    ++received[d->id()];
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(store.transact([](Transaction& tx) -> Status {
    for (int i = 0; i < 50; ++i) {
      auto r = tx.enqueue(OutboxMessage{"t", {fmt::format("m{}", i), "x", {}}});
      if (!r) return fail(r.error());
    }
    return ok();
  }));
  (void)relay->relay_once();
  auto pending = store.pending_outbox();
  ASSERT_TRUE(pending);
  EXPECT_GT(*pending, 0u);  // some publishes failed and stayed in the outbox
  for (int i = 0; i < 400 && *store.pending_outbox() > 0; ++i) {
    clock.advance(minutes(10));  // past any claim lease
    (void)relay->relay_once();
  }
  EXPECT_EQ(*store.pending_outbox(), 0u);
  inner->pump();
  EXPECT_EQ(received.size(), 50u);
  const mocks::FaultCounts c = transport.counts();
  EXPECT_GT(c.publish_failures, 10u);
  EXPECT_EQ(c.publishes - c.publish_failures, 50u);  // each id went out once
}

TEST(FaultInjectingTransport, TheSameSeedInjectsTheSameFaults) {
  auto run = [](std::uint64_t seed) {
    ManualClock clock;
    auto inner = MemoryTransport::create(clock).value();
    mocks::FaultInjectingTransport transport{*inner, {.seed = seed, .drop_delivery = 0.2, .fail_publish = 0.2}};
    std::vector<std::string> seen;
    auto sub = transport.subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
      seen.push_back(d->id());
      (void)d->ack();
    });
    for (int i = 0; i < 100; ++i) (void)transport.publish("t", {fmt::format("m{}", i), "x", {}});
    inner->pump();
    return seen;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

}  // namespace fault_injecting_transport_test
}  // namespace pipeline
