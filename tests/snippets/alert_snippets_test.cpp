// The examples of include/pipeline/alert/ (`@snippet alert_snippets_test.cpp <tag>`).

#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/coverage_rules.hpp"
#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/alert/sink_base.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"

namespace pipeline::alert_snippets_test {
namespace {

//! [sink_base]
class VectorSink final : public pipeline::BasicAlertSink<std::mutex> {
 public:
  std::vector<pipeline::Alert> seen;

 protected:
  pipeline::Status send_locked(const pipeline::Alert& a) override {
    seen.push_back(a);
    return pipeline::ok();
  }
};
//! [sink_base]

TEST(AlertSnippets, AlertManager) {
  pipeline::ManualClock clock;
  std::ostringstream log;
  //! [alert_manager]
  auto alerts = pipeline::AlertManager::create(clock, {pipeline::StructuredLogSink::create(log).value()}).value();
  auto outcome = alerts->raise(pipeline::Severity::kWarning, "coverage/phase3/2025-11-18",
                              "phase3 is missing 25 of 400 customers", nlohmann::json{{"missing", 25}});
  //! [alert_manager]
  EXPECT_TRUE(outcome.delivered);
  EXPECT_NE(log.str().find("phase3 is missing 25 of 400 customers"), std::string::npos) << log.str();
}

TEST(AlertSnippets, CallbackSink) {
  pipeline::ManualClock clock;
  std::vector<std::string> messages;
  //! [callback_sink]
  auto sink = pipeline::CallbackAlertSink::create(
      [&messages](const pipeline::Alert& a) { messages.push_back(a.message); }).value();
  //! [callback_sink]
  auto alerts = pipeline::AlertManager::create(clock, {sink}).value();
  alerts->raise(pipeline::Severity::kError, "k", "coverage 71%");
  EXPECT_EQ(messages, std::vector<std::string>{"coverage 71%"});
}

TEST(AlertSnippets, CoverageRules) {
  pipeline::ManualClock clock;
  auto seen = std::make_shared<VectorSink>();
  auto alerts = pipeline::AlertManager::create(clock, {seen}).value();
  //! [coverage_rules]
  pipeline::CoverageRules rules;                                       // 5% / 20 / 90%
  bool alert = rules.missing_alert(400, 379);                          // true: 21 missing > max(20, 20)
  bool fired = rules.alert_if_missing(*alerts, "phase3/2025-11-18", 400, 379);
  //! [coverage_rules]
  EXPECT_TRUE(alert);
  EXPECT_TRUE(fired);
  EXPECT_FALSE(rules.missing_alert(400, 380));
  ASSERT_EQ(seen->seen.size(), 1u);
  EXPECT_EQ(seen->seen[0].key, "coverage/missing/phase3/2025-11-18");
}

TEST(AlertSnippets, RateLimiter) {
  pipeline::ManualClock clock;
  std::vector<std::uint64_t> sent;
  auto send = [&](std::uint64_t suppressed) { sent.push_back(suppressed); };
  //! [rate_limiter]
  auto limiter = pipeline::RateLimiter::create({.warning = {std::chrono::minutes(5), 3}}).value();
  for (int i = 0; i < 5; ++i) {   // 3 in 5 minutes go through, 2 are held back
    auto d = limiter->decide("coverage/phase3", pipeline::Severity::kWarning, clock.now());
    if (d.allowed) send(d.suppressed_count);   // digest of what was held back
  }
  //! [rate_limiter]
  EXPECT_EQ(sent, (std::vector<std::uint64_t>{0, 0, 0}));
  clock.advance(std::chrono::minutes(6));
  auto next = limiter->decide("coverage/phase3", pipeline::Severity::kWarning, clock.now());
  ASSERT_TRUE(next.allowed);
  EXPECT_EQ(next.suppressed_count, 2u);
}

TEST(AlertSnippets, SinkBase) {
  pipeline::ManualClock clock;
  auto sink = std::make_shared<VectorSink>();
  auto alerts = pipeline::AlertManager::create(clock, {sink}).value();
  alerts->raise(pipeline::Severity::kCritical, "phase5/2025-11-18", "no predictions");
  ASSERT_EQ(sink->seen.size(), 1u);
  EXPECT_EQ(sink->seen[0].message, "no predictions");
}

TEST(AlertSnippets, StoreAlertSink) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  //! [store_alert_sink]
  auto alerts = pipeline::AlertManager::create(clock, {pipeline::StoreAlertSink::create(store).value()}).value();
  alerts->raise(pipeline::Severity::kError, "coverage/phase5/2025-11-18", "coverage 71%");
  auto recent = pipeline::StoreAlertSink::list(store, *pipeline::CalendarDate::parse("2025-11-18"));
  //! [store_alert_sink]
  ASSERT_TRUE(recent) << recent.error().to_string();
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].message, "coverage 71%");
}

TEST(AlertSnippets, StructuredLogSink) {
  pipeline::ManualClock clock;
  std::ostringstream out;
  //! [structured_log_sink]
  auto log = pipeline::StructuredLogSink::create(out).value();   // std::cerr in a service
  auto alerts = pipeline::AlertManager::create(clock, {log}).value();
  //! [structured_log_sink]
  alerts->raise(pipeline::Severity::kWarning, "k", "late");
  EXPECT_NE(out.str().find("\"late\""), std::string::npos) << out.str();
}

}  // namespace
}  // namespace pipeline::alert_snippets_test
