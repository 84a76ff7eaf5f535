#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/failing_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_until_quiet.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"

namespace pipeline::tracker_subscription_test {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kUpstream = "ts-phase2-complete";
constexpr const char* kTrigger = "ts-phase3-trigger";

CompletionTrackerOptions config() {
  CompletionTrackerOptions c;
  c.name = "phase3";
  c.upstream_phase = "phase2";
  c.downstream_phase = "phase3";
  c.expected = {"loader_a", "loader_b"};
  c.trigger_topic = kTrigger;
  for (auto p : {"loader_a", "loader_b"}) EXPECT_TRUE(c.registry.add_processor(p, "phase2"));
  EXPECT_TRUE(c.registry.add_processor("report", "phase3"));
  EXPECT_TRUE(c.registry.add_trigger("loader_a", {"report"}));
  EXPECT_TRUE(c.registry.add_trigger("loader_b", {"report"}));
  return c;
}

Message completion(const std::string& processor, const std::string& exec) {
  Message m;
  m.processor_name = processor;
  m.phase = "phase2";
  m.execution_id = exec;
  m.partition_date = *CalendarDate::parse("2025-11-18");
  return m;
}

struct Pipeline {
  ManualClock clock;
  MemoryStateStore memory = MemoryStateStore::create().value();
  mocks::FailingStateStore store{memory};
  std::unique_ptr<MemoryTransport> transport = MemoryTransport::create(clock).value();
  std::unique_ptr<OutboxRelay> relay = OutboxRelay::create(clock, store, *transport).value();
  std::unique_ptr<CompletionTracker> tracker = std::move(*CompletionTracker::create(clock, store, config()));
  std::vector<std::string> triggers;
  std::unique_ptr<Subscription> fed;
  std::unique_ptr<Subscription> downstream;
  QuietLoop loop{.transport = transport.get(), .relays = {relay.get()}};

  explicit Pipeline(std::size_t max_batch = 1) {
    TrackerSubscriptionOptions options;
    options.max_batch = max_batch;
    auto sub = subscribe_tracker(*transport, *tracker, kUpstream, options);
    EXPECT_TRUE(sub) << sub.error().to_string();
    fed = std::move(*sub);
    auto down = transport->subscribe({"report-sub", kTrigger, {}}, [this](DeliveryPtr d) {
      triggers.push_back(d->id());
      (void)d->ack();
    });
    EXPECT_TRUE(down);
    downstream = std::move(*down);
  }
  void publish(const std::string& id, std::string payload) {
    ASSERT_TRUE(transport->publish(kUpstream, {id, std::move(payload), {}}));
  }
  void settle() {
    auto r = run_until_quiet(loop);
    ASSERT_TRUE(r) << r.error().to_string();
  }
  std::vector<DeadLetter> dead_letters() { return *transport->dead_letters("phase3-tracker"); }
};

TEST(SubscribeTracker, OneCallFeedsTheTrackerWhichDecidesOnceDespiteADuplicate) {
  Pipeline p;
  p.publish("c-a", encode_message(completion("loader_a", "e1")));
  p.publish("c-a-again", encode_message(completion("loader_a", "e1")));  // the same completion twice
  p.settle();
  EXPECT_TRUE(p.triggers.empty()) << "loader_b has not completed";
  p.publish("c-b", encode_message(completion("loader_b", "e2")));
  p.settle();
  EXPECT_EQ(p.triggers, (std::vector<std::string>{"phase3/2025-11-18/w0"}));
  EXPECT_TRUE(p.dead_letters().empty()) << "a duplicate is acknowledged, not failed";
  EXPECT_EQ(p.transport->unacked("phase3-tracker"), 0u);
}

TEST(SubscribeTracker, WhatCanNeverBeRecordedIsDeadLetteredAtOnceWithItsReason) {
  Pipeline p;
  p.publish("garbage", "{not json");
  Message unnamed = completion("Loader A!", "e3");  // decodes, but the registry refuses the name
  p.publish("bad-name", encode_message(unnamed));
  p.settle();
  const auto letters = p.dead_letters();
  ASSERT_EQ(letters.size(), 2u);
  for (const auto& dl : letters) EXPECT_EQ(dl.attempts, 1) << dl.id << " was not retried";
  EXPECT_EQ(letters[0].id, "garbage");
  EXPECT_NE(letters[0].last_error.find("invalid"), std::string::npos) << letters[0].last_error;
  EXPECT_EQ(letters[1].id, "bad-name");
  EXPECT_NE(letters[1].last_error.find("Loader A!"), std::string::npos) << letters[1].last_error;
  EXPECT_TRUE(p.triggers.empty());
}

TEST(SubscribeTracker, AStoreFailureIsNackedAndTheRedeliveryIsCounted) {
  Pipeline p;
  p.store.fail_transact(ErrorCode::kUnavailable, 1);
  p.publish("c-a", encode_message(completion("loader_a", "e1")));
  p.publish("c-b", encode_message(completion("loader_b", "e2")));
  p.settle();
  EXPECT_TRUE(p.triggers.empty()) << "the first completion was nacked and waits out its backoff";
  EXPECT_EQ(p.store.injected(), 1);
  p.clock.advance(seconds(10));  // the default minimum backoff
  p.settle();
  EXPECT_EQ(p.triggers, (std::vector<std::string>{"phase3/2025-11-18/w0"}));
  EXPECT_TRUE(p.dead_letters().empty());
}

TEST(SubscribeTracker, BatchedDeliveriesAreRecordedTogetherAndABadOneIsStillRefusedAlone) {
  Pipeline p(8);
  p.publish("c-a", encode_message(completion("loader_a", "e1")));
  p.publish("c-a-again", encode_message(completion("loader_a", "e1")));
  p.publish("bad-name", encode_message(completion("Loader A!", "e3")));  // fails the batch: recorded one by one
  p.publish("c-b", encode_message(completion("loader_b", "e2")));
  ASSERT_EQ(p.transport->pump(), 4u);  // the handler queues; the subscription's thread records and settles
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (p.transport->unacked("phase3-tracker") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(p.transport->unacked("phase3-tracker"), 0u) << "the batch was not settled within 30 s";
  p.settle();
  EXPECT_EQ(p.triggers, (std::vector<std::string>{"phase3/2025-11-18/w0"})) << "decided once despite the duplicate";
  const auto letters = p.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].id, "bad-name");
}

TEST(SubscribeTracker, ClosingABatchedSubscriptionRecordsAndSettlesWhatIsQueued) {
  Pipeline p(8);
  p.publish("c-a", encode_message(completion("loader_a", "e1")));
  p.publish("c-b", encode_message(completion("loader_b", "e2")));
  ASSERT_EQ(p.transport->pump(), 2u);
  p.fed.reset();  // the transport drops the handler: what it queued is recorded first
  EXPECT_EQ(p.transport->unacked("phase3-tracker"), 0u);
  p.settle();
  EXPECT_EQ(p.triggers, (std::vector<std::string>{"phase3/2025-11-18/w0"}));
}

TEST(SubscribeTracker, ABatchOfZeroIsRefused) {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock).value();
  auto tracker = CompletionTracker::create(clock, store, config());
  ASSERT_TRUE(tracker);
  TrackerSubscriptionOptions options;
  options.max_batch = 0;
  auto sub = subscribe_tracker(*transport, **tracker, kUpstream, options);
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().code, ErrorCode::kInvalidArgument);
}

TEST(RunUntilQuiet, StopsWhenARoundMovesNothingAndRunsQuietHooksAtTheQuietPoint) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  int delivered = 0, quiet_calls = 0;
  auto sub = transport->subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    ++delivered;
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  QuietLoop loop{.transport = transport.get()};
  // At the first quiet point the hook publishes once more, so the rounds go on.
  loop.on_quiet.push_back([&]() -> Result<std::size_t> {
    if (quiet_calls++ > 0) return std::size_t{0};
    if (auto st = transport->publish("t", {"late", "x", {}}); !st) return fail(st.error());
    return std::size_t{1};
  });
  ASSERT_TRUE(transport->publish("t", {"m1", "x", {}}));
  auto rounds = run_until_quiet(loop);
  ASSERT_TRUE(rounds) << rounds.error().to_string();
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(quiet_calls, 2);
  EXPECT_EQ(*rounds, 4) << "deliver m1; quiet, the hook publishes; deliver late; quiet";
}

TEST(RunUntilQuiet, APipelineThatNeverSettlesIsAnErrorNotAHang) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  int n = 0;
  auto sub = transport->subscribe({"s", "loop", {}}, [&](DeliveryPtr d) { (void)d->ack(); });
  ASSERT_TRUE(sub);
  QuietLoop loop{.transport = transport.get()};
  loop.max_rounds = 5;
  loop.steps.push_back([&]() -> Result<std::size_t> {  // publishes something every round
    if (auto st = transport->publish("loop", {"s" + std::to_string(++n), "x", {}}); !st) return fail(st.error());
    return std::size_t{1};
  });
  auto r = run_until_quiet(loop);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(run_until_quiet(QuietLoop{}).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace pipeline::tracker_subscription_test
