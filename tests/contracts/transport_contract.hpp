#pragma once
// The Transport contract: a parameterized GoogleTest suite every Transport
// implementation instantiates unchanged.
//
//   INSTANTIATE_TEST_SUITE_P(Memory, TransportContract,
//                            ::testing::Values(TransportContractParam{"Pump", make_pump_harness}),
//                            [](const auto& info) { return info.param.name; });
//
// A harness owns one fresh transport per test, a way to move time (a ManualClock for
// the memory transport), and `settle()`, which returns once every delivery that is due
// has been handed to its handler and the handler returned (pump for memory; wait for
// the server for a networked transport).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pipeline/core/topics.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::contract {

/// One transport under test plus the means to drive it.
class TransportHarness {
 public:
  virtual ~TransportHarness() = default;
  virtual Transport& transport() = 0;
  /// Moves time forward by `step` (redeliveries due within it become deliverable).
  virtual void advance(Duration step) = 0;
  /// Returns when every deliverable message has been handled.
  virtual void settle() = 0;
  /// The per-subscription backlog limit this harness configured (kept small).
  [[nodiscard]] virtual std::size_t backlog_limit() const = 0;
  /// Whether handlers of one subscription see first deliveries in publish order.
  [[nodiscard]] virtual bool preserves_publish_order() const = 0;
};

struct TransportContractParam {
  std::string name;
  std::function<std::unique_ptr<TransportHarness>()> make;
};

/// Records deliveries; `policy` decides what to do with each (default: ack).
class Recorder {
 public:
  enum class Action { kAck, kNack, kReject, kHold, kThrow };

  struct Seen {
    std::string id;
    int attempt;
    DeliveryPtr delivery;
  };

  std::function<Action(const Delivery&)> policy = [](const Delivery&) { return Action::kAck; };

  Handler handler() {
    return [this](DeliveryPtr d) {
      Action action;
      {
        std::lock_guard lock(mu_);
        seen_.push_back({d->id(), d->attempt(), d});
        action = policy(*d);
      }
      switch (action) {
        case Action::kAck: EXPECT_TRUE(d->ack().has_value()); break;
        case Action::kNack: EXPECT_TRUE(d->nack(fmt::format("failed attempt {}", d->attempt())).has_value()); break;
        case Action::kReject: EXPECT_TRUE(d->reject(fmt::format("invalid on attempt {}", d->attempt())).has_value()); break;
        case Action::kHold: break;
        case Action::kThrow: throw std::runtime_error("handler blew up on " + d->id());
      }
    };
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return seen_.size();
  }
  std::vector<std::string> ids() {
    std::vector<std::string> out;
    for (auto& s : seen()) out.push_back(s.id);
    return out;
  }
  std::vector<int> attempts_of(const std::string& id) {
    std::vector<int> out;
    for (auto& s : seen())
      if (s.id == id) out.push_back(s.attempt);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Seen> seen_;
};

class TransportContract : public ::testing::TestWithParam<TransportContractParam> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }
  void TearDown() override {
    subs_.clear();
    harness_.reset();
  }

  Transport& transport() { return harness_->transport(); }

  std::unique_ptr<Subscription>& subscribe(const std::string& name, const std::string& topic, Recorder& rec,
                                           SubscriptionSettings settings = {}) {
    auto sub = transport().subscribe({name, topic, settings}, rec.handler());
    EXPECT_TRUE(sub.has_value()) << (sub ? "" : sub.error().to_string());
    subs_.push_back(std::move(*sub));
    return subs_.back();
  }

  void publish_ok(const std::string& topic, const std::string& id, std::string payload = "{}",
                  Attributes attrs = {}) {
    auto st = transport().publish(topic, {id, std::move(payload), std::move(attrs)});
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
  }

  static SubscriptionSettings fast_settings(int max_attempts = 5) {
    SubscriptionSettings s;
    s.ack_deadline = std::chrono::seconds(60);
    s.max_delivery_attempts = max_attempts;
    s.min_backoff = std::chrono::seconds(10);
    s.max_backoff = std::chrono::seconds(40);
    return s;
  }

  std::unique_ptr<TransportHarness> harness_;
  std::vector<std::unique_ptr<Subscription>> subs_;
};

using std::chrono::seconds;

TEST_P(TransportContract, PingSucceedsWhileTheTransportWorks) {
  auto st = transport().ping();
  EXPECT_TRUE(st.has_value()) << st.error().to_string();
}

TEST_P(TransportContract, EverySubscriptionReceivesEveryMessage) {
  Recorder a, b;
  subscribe("sub-a", "topic-every", a);
  subscribe("sub-b", "topic-every", b);
  for (int i = 0; i < 10; ++i) publish_ok("topic-every", fmt::format("m{}", i));
  harness_->settle();
  std::set<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.insert(fmt::format("m{}", i));
  auto ids_a = a.ids(), ids_b = b.ids();
  EXPECT_EQ(ids_a.size(), 10u);
  EXPECT_EQ(ids_b.size(), 10u);
  EXPECT_EQ(std::set<std::string>(ids_a.begin(), ids_a.end()), expected);
  EXPECT_EQ(std::set<std::string>(ids_b.begin(), ids_b.end()), expected);
}

TEST_P(TransportContract, SubscriptionReceivesOnlyMessagesPublishedAfterItWasCreated) {
  Recorder early, late;
  subscribe("sub-early", "topic-late", early);
  publish_ok("topic-late", "before");
  harness_->settle();
  subscribe("sub-late", "topic-late", late);
  publish_ok("topic-late", "after");
  harness_->settle();
  EXPECT_EQ(early.ids(), (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(late.ids(), (std::vector<std::string>{"after"}));
}

TEST_P(TransportContract, PreservesStableIdPayloadAndAttributes) {
  Recorder rec;
  subscribe("sub-keep", "topic-keep", rec);
  publish_ok("topic-keep", "phase2/2025-11-18/bdl_boxscores", R"({"k":1})", {{"traceparent", "00-abc"}, {"x", "y"}});
  harness_->settle();
  auto seen = rec.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].delivery->id(), "phase2/2025-11-18/bdl_boxscores");
  EXPECT_EQ(seen[0].delivery->payload(), R"({"k":1})");
  EXPECT_EQ(seen[0].delivery->topic(), "topic-keep");
  EXPECT_EQ(seen[0].delivery->subscription(), "sub-keep");
  EXPECT_EQ(seen[0].delivery->attributes(), (Attributes{{"traceparent", "00-abc"}, {"x", "y"}}));
  EXPECT_EQ(seen[0].attempt, 1);
}

TEST_P(TransportContract, TheParamsFormsOfPublishAndPublishBatchAreTheShortForms) {
  Recorder rec;
  subscribe("sub-params", "topic-params", rec);
  const std::string topic = "topic-params";  // the params hold a view of it
  auto one = transport().publish(PublishParams{topic, {"p1", R"({"k":1})", {{"x", "y"}}}});
  ASSERT_TRUE(one.has_value()) << one.error().to_string();
  auto batch = transport().publish_batch(PublishBatchParams{topic, {{"p2", "{}", {}}, {"p3", "{}", {}}}});
  ASSERT_TRUE(batch.status.has_value()) << batch.status.error().to_string();
  EXPECT_EQ(batch.published, 2u);
  harness_->settle();
  auto ids = rec.ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"p1", "p2", "p3"}));
  for (auto& seen : rec.seen()) {
    if (seen.id == "p1") {
      EXPECT_EQ(seen.delivery->attributes(), (Attributes{{"x", "y"}}));
    }
  }
}

TEST_P(TransportContract, RedeliversAfterAckDeadline) {
  Recorder rec;
  rec.policy = [](const Delivery& d) { return d.attempt() == 1 ? Recorder::Action::kHold : Recorder::Action::kAck; };
  subscribe("sub-redeliver", "topic-redeliver", rec, fast_settings());
  publish_ok("topic-redeliver", "m1");
  harness_->settle();
  ASSERT_EQ(rec.count(), 1u);
  harness_->advance(seconds(59));
  harness_->settle();
  EXPECT_EQ(rec.count(), 1u) << "redelivered before the deadline";
  harness_->advance(seconds(2));
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1, 2}));
  // The first delivery's lease is lost: settling it now is refused.
  auto late = rec.seen()[0].delivery->ack();
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(TransportContract, DeadlineExtensionPreventsRedelivery) {
  Recorder rec;
  rec.policy = [](const Delivery&) { return Recorder::Action::kHold; };
  subscribe("sub-extend", "topic-extend", rec, fast_settings());
  publish_ok("topic-extend", "long-batch");
  harness_->settle();
  ASSERT_EQ(rec.count(), 1u);
  auto d = rec.seen()[0].delivery;
  for (int i = 0; i < 30; ++i) {  // a 30-minute batch extending every minute
    harness_->advance(seconds(50));
    ASSERT_TRUE(d->extend_deadline(seconds(60)).has_value());
  }
  harness_->settle();
  EXPECT_EQ(rec.count(), 1u) << "redelivered while the handler kept extending";
  EXPECT_TRUE(d->ack().has_value());
  harness_->advance(seconds(600));
  harness_->settle();
  EXPECT_EQ(rec.count(), 1u);
}

TEST_P(TransportContract, NackRedeliversAfterBackoffWithIncreasingAttempts) {
  Recorder rec;
  rec.policy = [](const Delivery& d) { return d.attempt() < 3 ? Recorder::Action::kNack : Recorder::Action::kAck; };
  subscribe("sub-nack", "topic-nack", rec, fast_settings());
  publish_ok("topic-nack", "m1");
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1}));
  harness_->advance(seconds(9));  // backoff after attempt 1: 10 s
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1}));
  harness_->advance(seconds(1));
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1, 2}));
  harness_->advance(seconds(19));  // backoff after attempt 2: 20 s
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1, 2}));
  harness_->advance(seconds(1));
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1, 2, 3}));
  harness_->advance(seconds(600));
  harness_->settle();
  EXPECT_EQ(rec.count(), 3u) << "redelivered after ack";
}

TEST_P(TransportContract, DeadLettersAfterMaxAttemptsWithAttemptsAndLastError) {
  Recorder rec, dlq;
  rec.policy = [](const Delivery&) { return Recorder::Action::kNack; };
  subscribe("sub-dl", "topic-dl", rec, fast_settings(3));
  subscribe("sub-dl-watch", TopicNaming::dead_letter("topic-dl"), dlq);
  publish_ok("topic-dl", "poison", "bad-payload", {{"a", "1"}});
  for (int i = 0; i < 5; ++i) {
    harness_->settle();
    harness_->advance(seconds(40));
  }
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("poison"), (std::vector<int>{1, 2, 3}));
  auto letters = transport().dead_letters("sub-dl");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  const auto& dl = letters->front();
  EXPECT_EQ(dl.id, "poison");
  EXPECT_EQ(dl.attempts, 3);
  EXPECT_EQ(dl.last_error, "failed attempt 3");
  EXPECT_EQ(dl.source_topic, "topic-dl");
  EXPECT_EQ(dl.subscription, "sub-dl");
  EXPECT_EQ(dl.payload, "bad-payload");
  EXPECT_EQ(dl.attributes, (Attributes{{"a", "1"}}));
  // ... and published to the -dlq topic with the reserved attributes.
  auto seen = dlq.seen();
  ASSERT_EQ(seen.size(), 1u);
  const auto& attrs = seen[0].delivery->attributes();
  EXPECT_EQ(seen[0].id, "poison");
  EXPECT_EQ(seen[0].delivery->payload(), "bad-payload");
  EXPECT_EQ(attrs.at(std::string(attributes::kDeliveryAttempts)), "3");
  EXPECT_EQ(attrs.at(std::string(attributes::kLastError)), "failed attempt 3");
  EXPECT_EQ(attrs.at(std::string(attributes::kSourceTopic)), "topic-dl");
  EXPECT_EQ(attrs.at(std::string(attributes::kSourceSubscription)), "sub-dl");
  EXPECT_EQ(attrs.at("a"), "1");
}

TEST_P(TransportContract, RejectDeadLettersAtOnceWhateverAttemptsRemain) {
  Recorder rec, dlq;
  rec.policy = [](const Delivery&) { return Recorder::Action::kReject; };
  subscribe("sub-rj", "topic-rj", rec, fast_settings(5));
  subscribe("sub-rj-watch", TopicNaming::dead_letter("topic-rj"), dlq);
  publish_ok("topic-rj", "garbage", "not json", {{"a", "1"}});
  harness_->settle();
  harness_->advance(seconds(600));
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("garbage"), (std::vector<int>{1})) << "never redelivered";
  auto letters = transport().dead_letters("sub-rj");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().id, "garbage");
  EXPECT_EQ(letters->front().attempts, 1);
  EXPECT_EQ(letters->front().last_error, "invalid on attempt 1");
  EXPECT_EQ(letters->front().payload, "not json");
  auto seen = dlq.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, "garbage");
  EXPECT_EQ(seen[0].delivery->attributes().at(std::string(attributes::kLastError)), "invalid on attempt 1");
}

TEST_P(TransportContract, DeadLettersAfterRepeatedAckDeadlines) {
  Recorder rec;
  rec.policy = [](const Delivery&) { return Recorder::Action::kHold; };
  subscribe("sub-dl-deadline", "topic-dl-deadline", rec, fast_settings(2));
  publish_ok("topic-dl-deadline", "silent");
  for (int i = 0; i < 4; ++i) {
    harness_->settle();
    harness_->advance(seconds(61));
  }
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("silent"), (std::vector<int>{1, 2}));
  auto letters = transport().dead_letters("sub-dl-deadline");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().attempts, 2);
  EXPECT_FALSE(letters->front().last_error.empty());
}

TEST_P(TransportContract, ThrowingHandlerCountsAsNackWithTheExceptionText) {
  Recorder rec;
  rec.policy = [](const Delivery&) { return Recorder::Action::kThrow; };
  subscribe("sub-throw", "topic-throw", rec, fast_settings(1));
  publish_ok("topic-throw", "m1");
  harness_->settle();
  auto letters = transport().dead_letters("sub-throw");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().last_error, "handler blew up on m1");
}

TEST_P(TransportContract, CustomDeadLetterTopicReceivesDeadLetters) {
  Recorder rec, custom;
  rec.policy = [](const Delivery&) { return Recorder::Action::kNack; };
  auto settings = fast_settings(1);
  settings.dead_letter_topic = "custom-graveyard";
  subscribe("sub-custom-dl", "topic-custom-dl", rec, settings);
  subscribe("sub-graveyard", "custom-graveyard", custom);
  publish_ok("topic-custom-dl", "m1");
  harness_->settle();
  harness_->settle();
  EXPECT_EQ(custom.ids(), (std::vector<std::string>{"m1"}));
}

TEST_P(TransportContract, ReplayedDeadLetterIsRedeliveredWithFreshAttempts) {
  Recorder rec;
  std::atomic<bool> healthy{false};
  rec.policy = [&](const Delivery&) { return healthy ? Recorder::Action::kAck : Recorder::Action::kNack; };
  subscribe("sub-replay", "topic-replay", rec, fast_settings(2));
  publish_ok("topic-replay", "m1");
  harness_->settle();
  harness_->advance(seconds(10));
  harness_->settle();
  ASSERT_EQ(transport().dead_letters("sub-replay")->size(), 1u);
  healthy = true;
  ASSERT_TRUE(transport().replay_dead_letter("sub-replay", "m1").has_value());
  EXPECT_TRUE(transport().dead_letters("sub-replay")->empty());
  harness_->settle();
  EXPECT_EQ(rec.attempts_of("m1"), (std::vector<int>{1, 2, 1}));
  auto again = transport().replay_dead_letter("sub-replay", "m1");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_P(TransportContract, SettlingTwiceIsAFailedPrecondition) {
  Recorder rec;
  rec.policy = [](const Delivery&) { return Recorder::Action::kHold; };
  subscribe("sub-twice", "topic-twice", rec);
  publish_ok("topic-twice", "m1");
  harness_->settle();
  ASSERT_EQ(rec.count(), 1u);
  auto d = rec.seen()[0].delivery;
  ASSERT_TRUE(d->ack().has_value());
  EXPECT_EQ(d->ack().error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(d->nack("late").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(d->reject("late").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(d->extend_deadline(seconds(5)).error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(TransportContract, BackpressureWhenBacklogIsFullNeverASilentDrop) {
  Recorder held, other;
  held.policy = [](const Delivery&) { return Recorder::Action::kHold; };
  subscribe("sub-full", "topic-full", held);
  subscribe("sub-other", "topic-full", other);
  const std::size_t limit = harness_->backlog_limit();
  for (std::size_t i = 0; i < limit; ++i) publish_ok("topic-full", fmt::format("m{}", i));
  harness_->settle();
  auto refused = transport().publish("topic-full", {"one-too-many", "{}", {}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kBackpressure);
  harness_->settle();
  // All or nothing: the refused message reached no subscription.
  auto other_ids = other.ids();
  EXPECT_EQ(other_ids.size(), limit);
  EXPECT_EQ(std::count(other_ids.begin(), other_ids.end(), "one-too-many"), 0);
  // Acknowledging frees the backlog and publishing works again.
  for (auto& s : held.seen()) ASSERT_TRUE(s.delivery->ack().has_value());
  publish_ok("topic-full", "after-ack");
  harness_->settle();
  EXPECT_EQ(held.count(), limit + 1);
  EXPECT_EQ(other.count(), limit + 1);
}

TEST_P(TransportContract, PublishBatchDeliversEveryMessageToEverySubscription) {
  Recorder a, b;
  subscribe("sub-batch-a", "topic-batch", a);
  subscribe("sub-batch-b", "topic-batch", b);
  std::vector<OutgoingMessage> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(fmt::format("b{}", i));
    batch.push_back({ids.back(), fmt::format(R"({{"n":{}}})", i), {{"traceparent", fmt::format("00-{}", i)}}});
  }
  auto result = transport().publish_batch("topic-batch", std::move(batch));
  ASSERT_TRUE(result.status.has_value()) << result.status.error().to_string();
  EXPECT_EQ(result.published, 40u);
  EXPECT_EQ(transport().publish_batch("topic-batch", {}).published, 0u) << "an empty batch publishes nothing";
  harness_->settle();
  for (Recorder* r : {&a, &b}) {
    auto seen = r->seen();
    ASSERT_EQ(seen.size(), 40u);
    std::vector<std::string> got;
    for (auto& s : seen) {
      const int n = std::stoi(s.id.substr(1));
      EXPECT_EQ(s.delivery->payload(), fmt::format(R"({{"n":{}}})", n));
      EXPECT_EQ(s.delivery->attributes(), (Attributes{{"traceparent", fmt::format("00-{}", n)}}));
      EXPECT_EQ(s.attempt, 1);
      got.push_back(s.id);
    }
    if (!harness_->preserves_publish_order()) std::sort(got.begin(), got.end());
    auto expected = ids;
    if (!harness_->preserves_publish_order()) std::sort(expected.begin(), expected.end());
    EXPECT_EQ(got, expected);
  }
}

TEST_P(TransportContract, PublishBatchStopsAtTheFirstInvalidMessage) {
  Recorder rec;
  subscribe("sub-batch-invalid", "topic-batch-invalid", rec);
  auto result = transport().publish_batch("topic-batch-invalid",
                                          {{"ok-1", "{}", {}}, {"ok-2", "{}", {}}, {"", "{}", {}}, {"after", "{}", {}}});
  ASSERT_FALSE(result.status.has_value());
  EXPECT_EQ(result.status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.published, 2u) << "the messages before the invalid one are published, none after it";
  auto bad_topic = transport().publish_batch("Bad Topic!", {{"x", "{}", {}}});
  ASSERT_FALSE(bad_topic.status.has_value());
  EXPECT_EQ(bad_topic.status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_topic.published, 0u);
  harness_->settle();
  auto ids = rec.ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"ok-1", "ok-2"}));
}

TEST_P(TransportContract, PublishBatchPublishesAPrefixUpToTheBacklogLimitNeverASilentDrop) {
  Recorder held, other;
  held.policy = [](const Delivery&) { return Recorder::Action::kHold; };
  subscribe("sub-batch-full", "topic-batch-full", held);
  subscribe("sub-batch-other", "topic-batch-full", other);
  const std::size_t limit = harness_->backlog_limit();
  ASSERT_GE(limit, 3u);
  for (std::size_t i = 0; i + 2 < limit; ++i) publish_ok("topic-batch-full", fmt::format("m{}", i));
  auto batch = [](int from, int to) {
    std::vector<OutgoingMessage> out;
    for (int i = from; i < to; ++i) out.push_back({fmt::format("batch-{}", i), "{}", {}});
    return out;
  };
  // Room for two: the first two of five go, the other three are refused, all together.
  auto result = transport().publish_batch("topic-batch-full", batch(0, 5));
  ASSERT_FALSE(result.status.has_value());
  EXPECT_EQ(result.status.error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(result.published, 2u);
  harness_->settle();
  auto other_ids = other.ids();
  EXPECT_EQ(other_ids.size(), limit);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(std::count(other_ids.begin(), other_ids.end(), fmt::format("batch-{}", i)), i < 2 ? 1 : 0);
  // Acknowledging frees the backlog: the rest of the batch goes, from where it stopped.
  for (auto& s : held.seen()) ASSERT_TRUE(s.delivery->ack().has_value());
  auto rest = transport().publish_batch("topic-batch-full", batch(2, 5));
  ASSERT_TRUE(rest.status.has_value()) << rest.status.error().to_string();
  EXPECT_EQ(rest.published, 3u);
  harness_->settle();
  EXPECT_EQ(held.count(), limit + 3);
  EXPECT_EQ(other.count(), limit + 3);
}

TEST_P(TransportContract, ConcurrentBatchPublishersDeliverExactCounts) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 10;
  constexpr int kPerBatch = 20;
  Recorder rec;
  subscribe("sub-conc-batch", "topic-conc-batch", rec);
  std::atomic<int> refused{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<OutgoingMessage> batch;
        // Threads alternate between batches and single publishes, so both meet in flight.
        for (int i = 0; i < kPerBatch; ++i) batch.push_back({fmt::format("t{}-{}-{}", t, b, i), "{}", {}});
        if (t % 2 == 0) {
          auto result = transport().publish_batch("topic-conc-batch", std::move(batch));
          if (!result.status || result.published != kPerBatch) ++refused;
        } else {
          for (auto& m : batch)
            if (!transport().publish("topic-conc-batch", std::move(m))) ++refused;
        }
      }
    });
  }
  for (auto& t : publishers) t.join();
  harness_->settle();
  EXPECT_EQ(refused.load(), 0);
  auto ids = rec.ids();
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
}

TEST_P(TransportContract, ClosedSubscriptionKeepsItsBacklogForTheNextHandler) {
  Recorder first, second;
  auto& sub = subscribe("sub-resume", "topic-resume", first);
  publish_ok("topic-resume", "m1");
  harness_->settle();
  sub->close();
  publish_ok("topic-resume", "m2");
  harness_->settle();
  EXPECT_EQ(first.ids(), (std::vector<std::string>{"m1"}));
  subscribe("sub-resume", "topic-resume", second);
  harness_->settle();
  EXPECT_EQ(second.ids(), (std::vector<std::string>{"m2"}));
}

TEST_P(TransportContract, SecondHandlerOnTheSameSubscriptionIsRefused) {
  Recorder a, b;
  subscribe("sub-dup", "topic-dup", a);
  auto again = transport().subscribe({"sub-dup", "topic-dup", {}}, b.handler());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(TransportContract, InvalidTopicOrIdIsRejected) {
  EXPECT_EQ(transport().publish("Bad Topic!", {"id", "{}", {}}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(transport().publish("good-topic", {"", "{}", {}}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(transport().publish("good-topic", {std::string(257, 'x'), "{}", {}}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_P(TransportContract, FirstDeliveriesFollowPublishOrderWhereThatIsPromised) {
  Recorder rec;
  subscribe("sub-order", "topic-order", rec);
  std::vector<std::string> published;
  for (int i = 0; i < 50; ++i) {
    published.push_back(fmt::format("m{}", i));
    publish_ok("topic-order", published.back());
  }
  harness_->settle();
  auto ids = rec.ids();
  if (harness_->preserves_publish_order()) {
    EXPECT_EQ(ids, published);
  } else {
    std::sort(ids.begin(), ids.end());
    std::sort(published.begin(), published.end());
    EXPECT_EQ(ids, published);
  }
}

TEST_P(TransportContract, ConcurrentPublishersAndSubscribersDeliverExactCounts) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  Recorder a, b;
  subscribe("sub-conc-a", "topic-conc", a);
  subscribe("sub-conc-b", "topic-conc", b);
  std::atomic<int> refused{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!transport().publish("topic-conc", {fmt::format("t{}-{}", t, i), "{}", {}}))
          ++refused;
      }
    });
  }
  // A concurrent subscriber side: settle while the publishers run.
  std::atomic<bool> done{false};
  std::thread settler([&] {
    while (!done) harness_->settle();
  });
  for (auto& t : publishers) t.join();
  done = true;
  settler.join();
  harness_->settle();
  EXPECT_EQ(refused.load(), 0);
  for (Recorder* r : {&a, &b}) {
    auto ids = r->ids();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kThreads * kPerThread));
  }
}

}  // namespace pipeline::contract
