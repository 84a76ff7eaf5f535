#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/sink_base.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/memory/metrics_registry.hpp"

namespace pipeline {
namespace alert_manager_test {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Collects alerts; serialized by the sink base.
class RecordingSink final : public BasicAlertSink<std::mutex> {
 public:
  std::vector<Alert> alerts() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 protected:
  Status send_locked(const Alert& a) override {
    seen_.push_back(a);
    return ok();
  }

 private:
  std::vector<Alert> seen_;
};

AlertManagerOptions config_with(RateLimit warning, Duration flush = Duration::zero(), MetricsSink* metrics = nullptr) {
  AlertManagerOptions c;
  c.limits.warning = warning;
  c.digest_flush_interval = flush;
  c.metrics = metrics;
  return c;
}

// 2025-11-18T06:00:00Z.
TimePoint six_am() { return *parse_rfc3339("2025-11-18T06:00:00Z"); }

TEST(AlertManager, DeliversToEverySinkWithKeyMessageContextAndTime) {
  ManualClock clock(six_am());
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto alerts = AlertManager::create(clock, {a, b}, config_with({minutes(5), 3})).value();
  const auto out = alerts->raise(Severity::kWarning, "coverage/phase3", "phase3 is late", nlohmann::json{{"missing", 25}});
  EXPECT_TRUE(out.delivered);
  EXPECT_EQ(out.sink_failures, 0u);
  for (auto* sink : {a.get(), b.get()}) {
    const auto seen = sink->alerts();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].severity, Severity::kWarning);
    EXPECT_EQ(seen[0].key, "coverage/phase3");
    EXPECT_EQ(seen[0].message, "phase3 is late");
    EXPECT_EQ(seen[0].context->at("missing"), 25);
    EXPECT_EQ(seen[0].at, six_am());
    EXPECT_EQ(seen[0].suppressed_count, 0u);
  }
}

TEST(AlertManager, NextPassingAlertCarriesTheDigestOfSuppressedOnes) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  MetricsRegistry metrics = MetricsRegistry::create().value();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(10), 1}, Duration::zero(), &metrics)).value();
  alerts->raise(Severity::kWarning, "k", "first");
  clock.advance(minutes(2));  // 06:02
  for (int i = 0; i < 12; ++i) {
    const auto out = alerts->raise(Severity::kWarning, "k", "again");
    EXPECT_FALSE(out.delivered);
    EXPECT_EQ(out.suppressed_count, static_cast<std::uint64_t>(i + 1));
  }
  clock.advance(minutes(8));  // 06:10, a token is back
  const auto out = alerts->raise(Severity::kWarning, "k", "still failing");
  EXPECT_TRUE(out.delivered);
  EXPECT_EQ(out.suppressed_count, 12u);
  const auto seen = sink->alerts();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].message, "still failing");
  EXPECT_EQ(seen[1].suppressed_count, 12u);
  EXPECT_EQ(seen[1].suppressed_since, six_am() + minutes(2));
  EXPECT_EQ(digest_text(seen[1]), "12 similar alerts suppressed since 06:02 UTC");
  EXPECT_EQ(metrics.counter_value("pipeline_alerts_suppressed_total", {{"severity", "warning"}}), 12u);
  EXPECT_EQ(metrics.counter_value("pipeline_alerts_delivered_total", {{"severity", "warning"}}), 2u);
}

TEST(AlertManager, DigestTextIsSingularForOneAndEmptyForNone) {
  EXPECT_EQ(digest_text(1, six_am() + minutes(7)), "1 similar alert suppressed since 06:07 UTC");
  EXPECT_EQ(digest_text(0, six_am()), "");
}

TEST(AlertManager, PeriodicFlushEmitsADigestForAKeyThatWentQuiet) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  MetricsRegistry metrics = MetricsRegistry::create().value();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(10), 1}, minutes(5), &metrics)).value();
  alerts->raise(Severity::kWarning, "storm", "boom");
  clock.advance(minutes(1));
  for (int i = 0; i < 4; ++i) alerts->raise(Severity::kWarning, "storm", "boom");
  clock.advance(minutes(4));  // 06:05 flush: the key is still limited
  EXPECT_EQ(sink->alerts().size(), 1u);
  clock.advance(minutes(5));  // 06:10 flush: a token is back and nothing came: quiet
  const auto seen = sink->alerts();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].key, "storm");
  EXPECT_EQ(seen[1].severity, Severity::kWarning);
  EXPECT_EQ(seen[1].message, "4 similar alerts suppressed since 06:01 UTC");
  EXPECT_EQ(seen[1].suppressed_count, 4u);
  EXPECT_EQ(seen[1].at, six_am() + minutes(10));
  EXPECT_EQ(seen[1].context->at("digest"), true);
  EXPECT_EQ(metrics.counter_value("pipeline_alert_digests_total"), 1u);
  clock.advance(hours(1));  // nothing more pending
  EXPECT_EQ(sink->alerts().size(), 2u);
}

TEST(AlertManager, ExplicitFlushWithoutTimer) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(10), 1})).value();
  EXPECT_EQ(clock.pending_timers(), 0u);
  alerts->raise(Severity::kWarning, "a", "x");
  alerts->raise(Severity::kWarning, "a", "x");
  alerts->raise(Severity::kWarning, "b", "y");
  alerts->raise(Severity::kWarning, "b", "y");
  alerts->raise(Severity::kWarning, "b", "y");
  EXPECT_EQ(alerts->flush_digests(), 0u);
  clock.advance(minutes(10));
  EXPECT_EQ(alerts->flush_digests(), 2u);
  const auto seen = sink->alerts();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[2].key, "a");
  EXPECT_EQ(seen[2].suppressed_count, 1u);
  EXPECT_EQ(seen[3].key, "b");
  EXPECT_EQ(seen[3].suppressed_count, 2u);
  EXPECT_EQ(alerts->flush_digests(), 0u);
}

TEST(AlertManager, CriticalBypassesTheLimiterWhenConfigured) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  AlertManagerOptions c;
  c.limits.critical = {minutes(10), 1};
  c.digest_flush_interval = Duration::zero();
  auto bypass = AlertManager::create(clock, {sink}, c).value();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bypass->raise(Severity::kCritical, "down", "db down").delivered);
  EXPECT_EQ(sink->alerts().size(), 5u);

  c.critical_bypasses_limit = false;
  auto limited = AlertManager::create(clock, {sink}, c).value();
  EXPECT_TRUE(limited->raise(Severity::kCritical, "down", "db down").delivered);
  EXPECT_FALSE(limited->raise(Severity::kCritical, "down", "db down").delivered);
}

TEST(AlertManager, BypassingCriticalCarriesTheDigestOfSuppressedWarnings) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(10), 1})).value();
  alerts->raise(Severity::kWarning, "db", "slow");
  alerts->raise(Severity::kWarning, "db", "slow");
  alerts->raise(Severity::kWarning, "db", "slow");
  const auto out = alerts->raise(Severity::kCritical, "db", "down");
  EXPECT_TRUE(out.delivered);
  EXPECT_EQ(out.suppressed_count, 2u);
  EXPECT_EQ(sink->alerts().back().suppressed_count, 2u);
}

TEST(AlertManager, ThrowingAndFailingSinksAreCountedAndOthersStillReceive) {
  ManualClock clock(six_am());
  MetricsRegistry metrics = MetricsRegistry::create().value();
  auto thrower = CallbackAlertSink::create([](const Alert&) -> Status { throw std::runtime_error("boom"); }).value();
  auto failing = CallbackAlertSink::create(
      [](const Alert&) -> Status { return fail(ErrorCode::kUnavailable, "webhook down"); }).value();
  auto good = std::make_shared<RecordingSink>();
  auto alerts = AlertManager::create(clock, {thrower, failing, good}, config_with({minutes(1), 5}, Duration::zero(), &metrics)).value();
  const auto out = alerts->raise(Severity::kWarning, "k", "m");
  EXPECT_TRUE(out.delivered);
  EXPECT_EQ(out.sink_failures, 2u);
  EXPECT_EQ(good->alerts().size(), 1u);
  alerts->raise(Severity::kWarning, "k", "m");
  EXPECT_EQ(good->alerts().size(), 2u);
  EXPECT_EQ(metrics.counter_value("pipeline_alert_sink_failures_total"), 4u);
}

TEST(AlertManager, SinkRaisingAnAlertReentrantlyDoesNotDeadlock) {
  ManualClock clock(six_am());
  auto recorder = std::make_shared<RecordingSink>();
  AlertManager* self = nullptr;
  std::atomic<int> calls{0};
  auto reentrant = CallbackAlertSink::create([&](const Alert& a) {
    ++calls;
    if (a.key == "outer") self->raise(Severity::kError, "inner", "raised from a sink");
  }).value();
  auto alerts = AlertManager::create(clock, {reentrant, recorder}, config_with({minutes(1), 5})).value();
  self = alerts.get();
  EXPECT_TRUE(alerts->raise(Severity::kWarning, "outer", "first").delivered);
  EXPECT_EQ(calls.load(), 2);
  const auto seen = recorder->alerts();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].key, "inner");
  EXPECT_EQ(seen[1].key, "outer");
}

TEST(AlertManager, SinkFlushingDigestsReentrantlyDoesNotDeadlock) {
  ManualClock clock(six_am());
  AlertManager* self = nullptr;
  std::atomic<int> flushes{0};
  auto sink = CallbackAlertSink::create([&](const Alert&) {
    ++flushes;
    self->flush_digests();
  }).value();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(1), 1})).value();
  self = alerts.get();
  alerts->raise(Severity::kWarning, "k", "m");
  alerts->raise(Severity::kWarning, "k", "m");
  clock.advance(minutes(1));
  EXPECT_EQ(alerts->flush_digests(), 1u);
  EXPECT_EQ(flushes.load(), 2);
}

TEST(AlertManager, SlowSinkDoesNotBlockOtherThreadsRaising) {
  // The first sink call blocks until the main thread has raised and delivered another
  // alert on a different key: that only completes if no limiter lock is held meanwhile.
  ManualClock clock(six_am());
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  auto recorder = std::make_shared<RecordingSink>();
  auto slow = CallbackAlertSink::create([&](const Alert& a) {
    if (a.key != "slow") return;
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  }).value();
  auto alerts = AlertManager::create(clock, {slow, recorder}, config_with({minutes(1), 5})).value();
  std::thread t([&] { alerts->raise(Severity::kWarning, "slow", "stuck"); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  EXPECT_TRUE(alerts->raise(Severity::kWarning, "other", "fine").delivered);
  EXPECT_EQ(alerts->flush_digests(), 0u);
  ASSERT_EQ(recorder->alerts().size(), 1u);
  EXPECT_EQ(recorder->alerts()[0].key, "other");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  t.join();
  EXPECT_EQ(recorder->alerts().size(), 2u);
}

TEST(AlertManager, ConcurrentRaisesDeliverExactlyTheBurstPerKey) {
  ManualClock clock(six_am());
  std::atomic<int> delivered{0};
  auto sink = CallbackAlertSink::create([&](const Alert&) { ++delivered; }).value();
  MetricsRegistry metrics = MetricsRegistry::create().value();
  auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(5), 3}, minutes(1), &metrics)).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) alerts->raise(Severity::kWarning, "key" + std::to_string(i % 10), "m");
      if (t == 0) clock.advance(minutes(1));  // the flush timer races the raisers
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), 30);
  EXPECT_EQ(metrics.counter_value("pipeline_alerts_suppressed_total", {{"severity", "warning"}}), 2000u - 30u);
}

TEST(AlertManager, DestructionCancelsThePeriodicFlush) {
  ManualClock clock(six_am());
  auto sink = std::make_shared<RecordingSink>();
  {
    auto alerts = AlertManager::create(clock, {sink}, config_with({minutes(10), 1}, minutes(5))).value();
    EXPECT_EQ(clock.pending_timers(), 1u);
  }
  EXPECT_EQ(clock.pending_timers(), 0u);
  clock.advance(hours(1));
  EXPECT_TRUE(sink->alerts().empty());
}

TEST(StructuredLogSink, WritesOneJsonLinePerAlertWithRfc3339Times) {
  ManualClock clock(six_am());
  std::ostringstream out;
  auto log = StructuredLogSink::create(out).value();
  auto alerts = AlertManager::create(clock, {log}, config_with({minutes(10), 1})).value();
  alerts->raise(Severity::kWarning, "k", "first \"quoted\"", nlohmann::json{{"n", 1}});
  clock.advance(minutes(2));
  alerts->raise(Severity::kWarning, "k", "x");
  clock.advance(minutes(8));
  alerts->raise(Severity::kWarning, "k", "third");
  std::istringstream in(out.str());
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("at"), "2025-11-18T06:00:00Z");
  EXPECT_EQ(lines[0].at("severity"), "warning");
  EXPECT_EQ(lines[0].at("key"), "k");
  EXPECT_EQ(lines[0].at("message"), "first \"quoted\"");
  EXPECT_EQ(lines[0].at("context").at("n"), 1);
  EXPECT_FALSE(lines[0].contains("suppressed_count"));
  EXPECT_EQ(lines[1].at("at"), "2025-11-18T06:10:00Z");
  EXPECT_EQ(lines[1].at("suppressed_count"), 1);
  EXPECT_EQ(lines[1].at("suppressed_since"), "2025-11-18T06:02:00Z");
  EXPECT_EQ(lines[1].at("digest"), "1 similar alert suppressed since 06:02 UTC");
}

TEST(StructuredLogSink, FailedStreamIsReportedAsUnavailable) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  std::shared_ptr<AlertSink> log = StructuredLogSink::create(out).value();
  Alert a;
  const auto st = log->send(a);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
}

TEST(StructuredLogSink, WritesToAFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::shared_ptr<AlertSink> log = StructuredLogSink::create(f).value();
  Alert a;
  a.key = "file";
  a.message = "to a FILE*";
  ASSERT_TRUE(log->send(a));
  std::rewind(f);
  char buf[512] = {};
  ASSERT_NE(std::fgets(buf, sizeof buf, f), nullptr);
  std::fclose(f);
  const auto j = nlohmann::json::parse(buf);
  EXPECT_EQ(j.at("key"), "file");
  EXPECT_EQ(j.at("message"), "to a FILE*");
}

TEST(CallbackAlertSink, StatusReturningCallbackErrorIsPassedThrough) {
  std::shared_ptr<AlertSink> sink = CallbackAlertSinkMt::create([](const Alert& a) -> Status {
                                      if (a.key.empty()) return fail(ErrorCode::kInvalidArgument, "no key");
                                      return ok();
                                    }).value();
  EXPECT_FALSE(sink->send(Alert{}));
  Alert keyed;
  keyed.key = "k";
  EXPECT_TRUE(sink->send(keyed));
}

TEST(CallbackAlertSink, CreateRefusesAnEmptyFunctionOrANullPointer) {
  auto empty = CallbackAlertSink::create(std::function<void(const Alert&)>());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  Status (*null_fn)(const Alert&) = nullptr;
  auto null_pointer = CallbackAlertSinkMt::create(null_fn);
  ASSERT_FALSE(null_pointer);
  EXPECT_EQ(null_pointer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(CallbackAlertSink::create(std::function<void(const Alert&)>([](const Alert&) {})));
}

TEST(StructuredLogSink, CreateRefusesANullFile) {
  auto sink = StructuredLogSink::create(static_cast<std::FILE*>(nullptr));
  ASSERT_FALSE(sink);
  EXPECT_EQ(sink.error().code, ErrorCode::kInvalidArgument);
}

TEST(AlertManager, CreateRejectsANegativeFlushIntervalOrLimit) {
  ManualClock clock(six_am());
  auto flush = AlertManager::create(clock, {}, config_with({minutes(5), 3}, -minutes(1)));
  ASSERT_FALSE(flush);
  EXPECT_EQ(flush.error().code, ErrorCode::kInvalidArgument);
  auto limit = AlertManager::create(clock, {}, config_with({-minutes(5), 3}));
  ASSERT_FALSE(limit);
  EXPECT_EQ(limit.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace alert_manager_test

}  // namespace pipeline
