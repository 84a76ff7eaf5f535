#include "pipeline/orchestrate/outbox_relay.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "orchestrate/outbox_test_support.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/mocks/failing_state_store.hpp"
#include "pipeline/publish/unified_publisher.hpp"
#include "spin_until.hpp"
#include "store_under_test.hpp"

namespace outbox_relay_test {

using namespace std::chrono_literals;
using pipeline::OutboxRelay;
using pipeline::Status;
using pipeline::Transaction;
using pipeline::outbox_test::RecordingTransport;

Status enqueue(pipeline::StateStore& store, const std::vector<std::string>& ids) {
  return store.transact([&](Transaction& tx) -> Status {
    for (const auto& id : ids)
      PIPELINE_TRY(tx.enqueue({"topic-" + id, {id, "payload-" + id, {{"a", id}}}}).map([](bool) {}));
    return pipeline::ok();
  });
}

class OutboxRelayTest : public pipeline::testing::StoreSuite {};

TEST_P(OutboxRelayTest, PublishesInCommitOrderWithStableIdsAndMarksSent) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  ASSERT_TRUE(enqueue(store, {"m1", "m2", "m3"}));
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r1", .batch_size = 2}).value();
  EXPECT_EQ(relay->relay_once().value(), 2u);
  EXPECT_EQ(relay->relay_once().value(), 1u);
  EXPECT_EQ(relay->relay_once().value(), 0u);
  auto published = transport.published();
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(published[1].topic, "topic-m2");
  EXPECT_EQ(published[1].message.payload, "payload-m2");
  EXPECT_EQ(published[1].message.attributes.at("a"), "m2");
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

TEST_P(OutboxRelayTest, SendsEachRunOfOneTopicAsOneBatchAndMarksOnlyTheAcceptedPrefix) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  ASSERT_TRUE(store.transact([&](Transaction& tx) -> Status {
    for (auto [topic, id] : std::vector<std::pair<std::string, std::string>>{
             {"topic-x", "x1"}, {"topic-x", "x2"}, {"topic-x", "x3"}, {"topic-y", "y1"}, {"topic-x", "x4"}})
      PIPELINE_TRY(tx.enqueue({topic, {id, "{}", {}}}).map([](bool) {}));
    return pipeline::ok();
  }));
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r1", .lease = 30s}).value();
  transport.fail_next(1, 1);  // the transport takes x1, then refuses x2
  EXPECT_FALSE(relay->relay_once());
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"x1"}));
  EXPECT_EQ(transport.batches(), (std::vector<std::size_t>{3})) << "x1..x3 in one batch, which stopped at x2";
  EXPECT_EQ(store.pending_outbox().value(), 4u) << "only x1 is marked sent";
  clock.advance(31s);
  EXPECT_EQ(relay->relay_once().value(), 4u);
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"x1", "x2", "x3", "y1", "x4"}));
  EXPECT_EQ(transport.batches(), (std::vector<std::size_t>{3, 2, 1, 1}));
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

TEST_P(OutboxRelayTest, SharesThePublishersSendStepHooksAndRetryPolicy) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  auto publisher = pipeline::UnifiedPublisher::create(
                         clock, transport,
                         {.retry_policy = pipeline::ExponentialBackoff::create(
                                              {.max_attempts = 2, .max_elapsed = pipeline::Duration::zero()})
                                              .value()})
                         .value();
  std::vector<std::string> published, retried, failed;
  auto c1 = publisher->on_published([&](const std::string&, const std::string& id) { published.push_back(id); });
  auto c2 = publisher->on_retry([&](const std::string&, const std::string& id, int attempts, pipeline::Duration,
                                    const pipeline::Error&) { retried.push_back(fmt::format("{}#{}", id, attempts)); });
  auto c3 = publisher->on_failed(
      [&](const std::string&, const std::string& id, const pipeline::Error&) { failed.push_back(id); });
  ASSERT_TRUE(enqueue(store, {"m1"}));
  auto relay = OutboxRelay::create(clock, store, publisher->send_step(), {.owner = "r1", .lease = 30s}).value();
  EXPECT_EQ(&relay->send_step()->transport(), &transport);
  transport.fail_next(2);
  ASSERT_FALSE(relay->relay_once());  // claim 1: the policy would retry
  clock.advance(31s);
  ASSERT_FALSE(relay->relay_once());  // claim 2: the policy gives up; the entry stays
  EXPECT_EQ(store.pending_outbox().value(), 1u);
  clock.advance(31s);
  EXPECT_EQ(relay->relay_once().value(), 1u);  // marked sent only now, after the transport took it
  EXPECT_EQ(store.pending_outbox().value(), 0u);
  EXPECT_EQ(retried, (std::vector<std::string>{"m1#1"}));
  EXPECT_EQ(failed, (std::vector<std::string>{"m1"}));
  EXPECT_EQ(published, (std::vector<std::string>{"m1"}));
  c1.disconnect();
  EXPECT_FALSE(c1.connected());
  EXPECT_TRUE(c2.connected());
  ASSERT_TRUE(enqueue(store, {"m2"}));
  EXPECT_EQ(relay->relay_once().value(), 1u);
  EXPECT_EQ(published, (std::vector<std::string>{"m1"}));  // disconnected: not called again
}

TEST_P(OutboxRelayTest, PublishFailureLeavesEntryForTheNextClaimAfterLease) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  ASSERT_TRUE(enqueue(store, {"m1", "m2"}));
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r1", .lease = 30s}).value();
  transport.fail_next(1);
  auto r = relay->relay_once();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pipeline::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().context.at("outbox_id"), "m1");
  EXPECT_EQ(store.pending_outbox().value(), 2u);
  EXPECT_EQ(relay->relay_once().value(), 0u);  // still leased
  clock.advance(31s);
  EXPECT_EQ(relay->relay_once().value(), 2u);
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

TEST_P(OutboxRelayTest, RelayDyingBetweenPublishAndMarkRedeliversSameId) {
  pipeline::StateStore& real = this->store;
  pipeline::mocks::FailingStateStore store(real);
  RecordingTransport transport;
  pipeline::ManualClock clock;
  ASSERT_TRUE(enqueue(store, {"m1"}));
  auto dying = OutboxRelay::create(clock, store, transport, {.owner = "dying", .lease = 30s}).value();
  store.fail_complete(pipeline::ErrorCode::kUnavailable, 1);
  ASSERT_FALSE(dying->relay_once());
  EXPECT_EQ(store.injected(), 1);
  auto other = OutboxRelay::create(clock, store, transport, {.owner = "other", .lease = 30s}).value();
  EXPECT_EQ(other->relay_once().value(), 0u);  // the dead relay's lease still holds
  clock.advance(30s);
  EXPECT_EQ(other->relay_once().value(), 1u);
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"m1", "m1"}));
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

TEST_P(OutboxRelayTest, ClaimFailureIsReturned) {
  pipeline::StateStore& real = this->store;
  pipeline::mocks::FailingStateStore store(real);
  RecordingTransport transport;
  pipeline::ManualClock clock;
  store.fail_claim(pipeline::ErrorCode::kUnavailable);
  auto relay = OutboxRelay::create(clock, store, transport).value();
  auto r = relay->relay_once();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "injected failure: claim_outbox");
}

TEST_P(OutboxRelayTest, SeveralRelaysPublishEveryEntryExactlyOnceWithoutFailures) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(fmt::format("m{}", i));
  ASSERT_TRUE(enqueue(store, ids));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto relay = OutboxRelay::create(clock, store, transport, {.owner = "r" + std::to_string(t), .batch_size = 7}).value();
      ASSERT_TRUE(relay->drain());
    });
  }
  for (auto& th : threads) th.join();
  auto got = transport.ids();
  std::sort(got.begin(), got.end());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(got, ids);
}

TEST_P(OutboxRelayTest, BackgroundWorkerPublishesOnNotifyAndOnPoll) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  auto relay = OutboxRelay::create(clock, store, transport, {.owner = "bg", .poll_interval = 5s}).value();
  relay->start();
  ASSERT_TRUE(pipeline_test::spin_until([&] { return relay->rounds() >= 1; }));  // the first round found nothing
  ASSERT_TRUE(enqueue(store, {"n1"}));
  relay->notify();
  ASSERT_TRUE(transport.wait_for_count(1));
  // Once the round has armed its poll timer the worker is idle; the next poll picks up
  // what is committed without a notify.
  ASSERT_TRUE(pipeline_test::spin_until([&] { return relay->rounds() >= 2; }));
  EXPECT_EQ(clock.pending_timers(), 1u);
  ASSERT_TRUE(enqueue(store, {"n2"}));
  EXPECT_EQ(clock.advance(5s), 1u);
  ASSERT_TRUE(transport.wait_for_count(2));
  relay->stop();
  EXPECT_EQ(transport.ids(), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

// Returns a fixed delay per failure count, so the test knows when the retry is due.
class FixedRetry final : public pipeline::RetryPolicy {
 public:
  std::optional<pipeline::Duration> next_delay(int failed_attempts, pipeline::Duration) override {
    return std::chrono::seconds(7 * failed_attempts);
  }
};

TEST_P(OutboxRelayTest, BackgroundWorkerBacksOffByRetryPolicyAfterFailure) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  ASSERT_TRUE(enqueue(store, {"b1"}));
  transport.fail_next(1);
  auto relay = OutboxRelay::create(clock, store, transport,
                                   {.owner = "bg", .lease = 1s, .poll_interval = 1h,
                                    .retry_policy = std::make_shared<FixedRetry>()})
                   .value();
  const auto start = clock.now();
  relay->start();
  ASSERT_TRUE(pipeline_test::spin_until([&] { return relay->rounds() >= 1; }));
  EXPECT_EQ(relay->consecutive_failures(), 1);
  ASSERT_TRUE(relay->last_error());
  EXPECT_EQ(relay->last_error()->code, pipeline::ErrorCode::kUnavailable);
  EXPECT_EQ(clock.next_due(), start + 7s);  // the policy's delay, not the 1 h poll
  EXPECT_EQ(clock.advance(7s), 1u);
  ASSERT_TRUE(transport.wait_for_count(1));
  relay->stop();
  EXPECT_EQ(transport.ids(), std::vector<std::string>{"b1"});
}

TEST_P(OutboxRelayTest, CreateRefusesAZeroBatchANonPositiveLeaseAndANullStep) {
  RecordingTransport transport;
  pipeline::ManualClock clock;
  auto zero = OutboxRelay::create(clock, store, transport, {.batch_size = 0});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_EQ(zero.error().message, "OutboxRelayOptions::batch_size must be at least 1");
  EXPECT_FALSE(OutboxRelay::create(clock, store, transport, {.lease = 0s}));
  EXPECT_FALSE(OutboxRelay::create(clock, store, std::shared_ptr<pipeline::SendStep>{}));
}

PIPELINE_STORE_SUITE(OutboxRelayTest);

}  // namespace outbox_relay_test
