#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/manual_clock_helpers.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/publish/unified_publisher.hpp"

namespace pipeline {
namespace unified_publisher_test {

using std::chrono::seconds;

/// Counts by metric name (labels ignored).
class CountingSink final : public MetricsSink {
  struct C final : Counter {
    std::atomic<std::uint64_t> n{0};
    void add(std::uint64_t k) noexcept override { n += k; }
  };

 public:
  std::shared_ptr<Counter> counter(std::string_view name, std::string_view, Labels) override {
    std::lock_guard lock(mu_);
    auto& c = counters_[std::string(name)];
    if (!c) c = std::make_shared<C>();
    return c;
  }
  std::shared_ptr<Gauge> gauge(std::string_view n, std::string_view h, Labels l) override {
    return NullMetricsSink::instance().gauge(n, h, std::move(l));
  }
  std::shared_ptr<Histogram> histogram(std::string_view n, std::string_view h, std::vector<double> b,
                                       Labels l) override {
    return NullMetricsSink::instance().histogram(n, h, std::move(b), std::move(l));
  }
  void event(std::string_view, Labels) override {}
  std::uint64_t value(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second->n.load();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<C>> counters_;
};

Message make_message(const std::string& processor = "player_game_summary", const std::string& exec = "exec-1") {
  Message m;
  m.processor_name = processor;
  m.phase = "phase3_analytics";
  m.execution_id = exec;
  m.correlation_id = "corr-1";
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.record_count = 42;
  return m;
}

std::shared_ptr<RetryPolicy> fixed_backoff(int max_attempts = 10) {
  ExponentialBackoff::Options o;
  o.initial_delay = seconds(1);
  o.max_delay = seconds(8);
  o.max_attempts = max_attempts;
  o.max_elapsed = Duration::zero();
  o.jitter = false;
  return ExponentialBackoff::create(o).value();
}

constexpr const char* kTopic = "nba-phase3-analytics-complete";

struct Fixture : ::testing::Test {
  ManualClock clock;
  mocks::RecordingTransport recorder{false};
  mocks::FailingTransport transport{recorder};
  CountingSink metrics;

  std::unique_ptr<UnifiedPublisher> make(UnifiedPublisherOptions options = {}, int max_attempts = 10) {
    options.retry_policy = fixed_backoff(max_attempts);
    options.metrics = &metrics;
    return UnifiedPublisher::create(clock, transport, std::move(options)).value();
  }
  /// Settles the worker, then steps the clock, until `done` or `max_steps` steps.
  template <class Pred>
  bool drive(UnifiedPublisher& publisher, Duration step, int max_steps, Pred done) {
    for (int i = 0; i <= max_steps; ++i) {
      publisher.settle();
      if (done()) return true;
      if (i < max_steps) clock.advance(step);
    }
    return false;
  }
  std::vector<std::string> sent_ids() {
    std::vector<std::string> out;
    for (auto& r : recorder.published()) out.push_back(r.message.id);
    return out;
  }
};

using UnifiedPublisherTest = Fixture;

TEST_F(UnifiedPublisherTest, PublishesTheEncodedMessageWithTheDerivedStableId) {
  auto publisher = make();
  std::vector<std::string> published;
  publisher->on_published([&](const std::string&, const std::string& id) { published.push_back(id); });
  auto id = publisher->publish(kTopic, make_message());
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  EXPECT_EQ(*id, "player_game_summary/2025-11-18/exec-1");
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(10)));
  auto records = recorder.published();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, kTopic);
  EXPECT_EQ(records[0].message.id, *id);
  auto decoded = decode_message(records[0].message.payload);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, make_message());
  EXPECT_EQ(published, std::vector<std::string>{*id});
  EXPECT_EQ(metrics.value("pipeline_publisher_published_total"), 1u);
}

TEST_F(UnifiedPublisherTest, CallerProvidedIdAndTraceparentAreCarried) {
  auto publisher = make();
  auto m = make_message();
  m.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  ASSERT_EQ(*publisher->publish(kTopic, m, "phase3/2025-11-18/w0"), "phase3/2025-11-18/w0");
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(10)));
  auto records = recorder.published();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].message.id, "phase3/2025-11-18/w0");
  EXPECT_EQ(records[0].message.attributes.at("traceparent"), m.traceparent);
}

TEST_F(UnifiedPublisherTest, InvalidMessageIsRefusedAtOnceAndNothingIsSent) {
  auto publisher = make();
  auto m = make_message();
  m.processor_name.clear();
  auto r = publisher->publish(kTopic, m);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(publisher->publish("Bad Topic", make_message()).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(publisher->flush(clock.now() + seconds(1)));
  EXPECT_EQ(transport.calls(), 0u);
}

TEST_F(UnifiedPublisherTest, RetriesTransientFailuresOnTheClockThenSucceeds) {
  auto publisher = make();
  std::vector<std::pair<int, Duration>> retries;
  publisher->on_retry([&](const std::string&, const std::string&, int n, Duration d, const Error& e) {
    EXPECT_EQ(e.code, ErrorCode::kUnavailable);
    retries.emplace_back(n, d);
  });
  transport.fail_next(2);
  ASSERT_TRUE(publisher->publish(kTopic, make_message()).has_value());
  publisher->settle();
  ASSERT_EQ(transport.calls(), 1u);
  // No time passes: no retry happens.
  EXPECT_FALSE(publisher->flush(clock.now()));
  EXPECT_EQ(transport.calls(), 1u);
  ASSERT_TRUE(drive(*publisher, std::chrono::milliseconds(500), 100, [&] { return recorder.published_count() == 1; }));
  EXPECT_TRUE(publisher->flush(clock.now() + seconds(1)));
  EXPECT_EQ(transport.calls(), 3u);
  EXPECT_EQ(retries, (std::vector<std::pair<int, Duration>>{{1, seconds(1)}, {2, seconds(2)}}));
  EXPECT_EQ(metrics.value("pipeline_publisher_retries_total"), 2u);
  EXPECT_EQ(metrics.value("pipeline_publisher_published_total"), 1u);
}

TEST_F(UnifiedPublisherTest, TransportDownThenRecoveringDeliversEverythingInOrder) {
  auto publisher = make();
  transport.set_down(true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(publisher->publish(kTopic, make_message("p", fmt::format("e{}", i))));
  for (int i = 0; i < 20; ++i) clock.advance(seconds(1));
  EXPECT_EQ(recorder.published_count(), 0u);
  EXPECT_EQ(publisher->queue_depth(), 3u);
  transport.set_down(false);
  ASSERT_TRUE(drive(*publisher, seconds(1), 100, [&] { return recorder.published_count() == 3; }));
  EXPECT_EQ(sent_ids(), (std::vector<std::string>{"p/2025-11-18/e0", "p/2025-11-18/e1", "p/2025-11-18/e2"}));
  EXPECT_EQ(metrics.value("pipeline_publisher_failed_total"), 0u);
}

TEST_F(UnifiedPublisherTest, PermanentErrorFailsWithoutRetry) {
  auto publisher = make();
  std::vector<Error> failures;
  publisher->on_failed([&](const std::string&, const std::string&, const Error& e) { failures.push_back(e); });
  transport.fail_next(1, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(publisher->publish(kTopic, make_message()));
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(transport.calls(), 1u);
  EXPECT_EQ(metrics.value("pipeline_publisher_failed_total"), 1u);
}

TEST_F(UnifiedPublisherTest, GivesUpAfterTheRetryPolicysLastAttempt) {
  auto publisher = make({}, 3);
  std::atomic<int> failed{0};
  publisher->on_failed([&](const std::string&, const std::string&, const Error& e) {
    EXPECT_EQ(e.context.at("attempts"), "3");
    ++failed;
  });
  transport.set_down(true);
  ASSERT_TRUE(publisher->publish(kTopic, make_message()));
  ASSERT_TRUE(drive(*publisher, seconds(1), 100, [&] { return failed.load() == 1; }));
  EXPECT_EQ(transport.calls(), 3u);
  EXPECT_TRUE(publisher->flush(clock.now() + seconds(1)));
}

TEST_F(UnifiedPublisherTest, FullQueueRejectReturnsBackpressure) {
  UnifiedPublisherOptions options;
  options.queue_capacity = 2;
  auto publisher = make(options);
  transport.set_down(true);
  ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e0")));
  publisher->settle();  // e0 waits for its retry
  ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e1")));
  ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e2")));
  auto refused = publisher->publish(kTopic, make_message("p", "e3"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(metrics.value("pipeline_publisher_rejected_total"), 1u);
  transport.set_down(false);
  ASSERT_TRUE(drive(*publisher, seconds(1), 100, [&] { return recorder.published_count() == 3; }));
  EXPECT_EQ(sent_ids(), (std::vector<std::string>{"p/2025-11-18/e0", "p/2025-11-18/e1", "p/2025-11-18/e2"}));
}

TEST_F(UnifiedPublisherTest, FullQueueDropOldestCountsAndSignalsTheLoss) {
  UnifiedPublisherOptions options;
  options.queue_capacity = 2;
  options.full_queue_policy = FullQueuePolicy::kDropOldest;
  auto publisher = make(options);
  std::vector<std::pair<std::string, ErrorCode>> lost;
  publisher->on_failed(
      [&](const std::string&, const std::string& id, const Error& e) { lost.emplace_back(id, e.code); });
  transport.set_down(true);
  ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e0")));
  publisher->settle();
  ASSERT_EQ(transport.calls(), 1u);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(publisher->publish(kTopic, make_message("p", fmt::format("e{}", i))));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], std::make_pair(std::string("p/2025-11-18/e1"), ErrorCode::kBackpressure));
  EXPECT_EQ(metrics.value("pipeline_publisher_dropped_total"), 1u);
  transport.set_down(false);
  ASSERT_TRUE(drive(*publisher, seconds(1), 100, [&] { return recorder.published_count() == 3; }));
  EXPECT_EQ(sent_ids(), (std::vector<std::string>{"p/2025-11-18/e0", "p/2025-11-18/e2", "p/2025-11-18/e3"}));
}

TEST_F(UnifiedPublisherTest, FlushReturnsFalseAtItsDeadlineWhileTheTransportIsDown) {
  auto publisher = make();
  transport.set_down(true);
  ASSERT_TRUE(publisher->publish(kTopic, make_message()));
  const TimePoint deadline = clock.now() + seconds(30);
  std::atomic<bool> done{false};
  bool flushed = true;
  std::thread flusher([&] {
    flushed = publisher->flush(deadline);
    done = true;
  });
  publisher->settle();
  clock.advance(seconds(29));
  EXPECT_FALSE(done.load()) << "flush returned before its deadline";
  clock.advance(seconds(1));  // fires the flush deadline (or flush sees it passed)
  flusher.join();
  EXPECT_FALSE(flushed);
  EXPECT_GE(clock.now(), deadline);
  EXPECT_EQ(publisher->queue_depth(), 1u);
}

TEST_F(UnifiedPublisherTest, DestructorAbandonsWhatCannotBeSentWithACount) {
  std::vector<ErrorCode> codes;
  {
    auto publisher = make();
    publisher->on_failed([&](const std::string&, const std::string&, const Error& e) { codes.push_back(e.code); });
    transport.set_down(true);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(publisher->publish(kTopic, make_message("p", fmt::format("e{}", i))));
  }
  EXPECT_EQ(metrics.value("pipeline_publisher_abandoned_total"), 3u);
  EXPECT_EQ(codes, (std::vector<ErrorCode>(3, ErrorCode::kCancelled)));
  EXPECT_EQ(recorder.published_count(), 0u);
}

TEST_F(UnifiedPublisherTest, DestructorSendsPendingMessagesOnceTheTransportIsBack) {
  {
    auto publisher = make();
    transport.set_down(true);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(publisher->publish(kTopic, make_message("p", fmt::format("e{}", i))));
    publisher->settle();
    transport.set_down(false);
  }
  EXPECT_EQ(recorder.published_count(), 2u);
  EXPECT_EQ(metrics.value("pipeline_publisher_abandoned_total"), 0u);
}

TEST_F(UnifiedPublisherTest, SlotsRunWithoutThePublishersLock) {
  auto publisher = make();
  std::size_t depth_seen = 99;
  // queue_depth() takes the publisher's lock: this would deadlock if slots ran under it.
  publisher->on_published([&](const std::string&, const std::string&) { depth_seen = publisher->queue_depth(); });
  ASSERT_TRUE(publisher->publish(kTopic, make_message()));
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  EXPECT_LE(depth_seen, 1u);
}

TEST_F(UnifiedPublisherTest, ScopedConnectionDisconnectsWhenItGoesOutOfScope) {
  auto publisher = make();
  int calls = 0;
  {
    ScopedConnection c = publisher->on_published([&](const std::string&, const std::string&) { ++calls; });
    EXPECT_TRUE(c.connected());
    ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e1")));
    ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  }
  ASSERT_TRUE(publisher->publish(kTopic, make_message("p", "e2")));
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(recorder.published_count(), 2u);
}

TEST_F(UnifiedPublisherTest, ConcurrentPublishersAreAllSentExactlyOnce) {
  constexpr int kThreads = 4, kEach = 300;
  auto publisher = make();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        EXPECT_TRUE(publisher->publish(kTopic, make_message("p", fmt::format("t{}-{}", t, i))).has_value());
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  auto ids = sent_ids();
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(UnifiedPublisherTest, CreateRejectsAZeroQueueANullStepAndAPolicyBesideAStep) {
  UnifiedPublisherOptions no_room;
  no_room.queue_capacity = 0;
  auto zero = UnifiedPublisher::create(clock, transport, no_room);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  auto no_step = UnifiedPublisher::create(clock, std::shared_ptr<SendStep>());
  ASSERT_FALSE(no_step);
  EXPECT_EQ(no_step.error().code, ErrorCode::kInvalidArgument);
  auto both = UnifiedPublisher::create(clock, SendStep::create(transport).value(), {.retry_policy = fixed_backoff()});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(UnifiedPublisherTest, CreateRejectsMetricLabelsThatNoSinkCouldRecord) {
  for (const Labels& labels : {Labels{{"", "x"}}, Labels{{"__name", "x"}}, Labels{{"9lives", "x"}},
                               Labels{{"has-dash", "x"}}, Labels{{"service", "a"}, {"service", "b"}}}) {
    auto publisher = UnifiedPublisher::create(clock, transport, {.metric_labels = labels});
    ASSERT_FALSE(publisher) << labels.front().first;
    EXPECT_EQ(publisher.error().code, ErrorCode::kInvalidArgument);
    auto step = SendStep::create(transport, {.metric_labels = labels});
    ASSERT_FALSE(step) << labels.front().first;
    EXPECT_EQ(step.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(step.error().message.find(labels.back().first), std::string::npos) << step.error().message;
  }
  EXPECT_TRUE(SendStep::create(transport, {.metric_labels = {{"service", "a"}, {"_region", "b"}}}));
}

TEST(UnifiedPublisherEndToEnd, DeliversToAMemoryTransportSubscriber) {
  ManualClock clock;
  auto memory = MemoryTransport::create(clock, MemoryTransportOptions{1000, true}).value();
  std::vector<Message> received;
  std::mutex mu;
  auto sub = memory->subscribe({"phase4-sub", kTopic, {}}, [&](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    ASSERT_TRUE(m.has_value());
    std::lock_guard lock(mu);
    received.push_back(*m);
    (void)d->ack();
  });
  ASSERT_TRUE(sub.has_value());
  auto publisher = UnifiedPublisher::create(clock, *memory).value();
  ASSERT_TRUE(publisher->publish(kTopic, make_message()));
  ASSERT_TRUE(publisher->flush(clock.now() + seconds(1)));
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0], make_message());
}

}  // namespace unified_publisher_test
}  // namespace pipeline
