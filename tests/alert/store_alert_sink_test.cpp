#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/memory/memory_state_store.hpp"

namespace pipeline {
namespace store_alert_sink_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

Alert alert_at(TimePoint at, std::string key, std::string message) {
  Alert a;
  a.severity = Severity::kError;
  a.key = std::move(key);
  a.message = std::move(message);
  a.at = at;
  return a;
}

TEST(StoreAlertSink, RecordsRaisedAlertsUnderTheDateTheirKeyNamesNewestFirst) {
  ManualClock clock{*parse_rfc3339("2025-11-19T03:00:00Z")};  // the next UTC day
  MemoryStateStore store = MemoryStateStore::create().value();
  auto alerts = AlertManager::create(clock, {StoreAlertSink::create(store).value()}).value();
  alerts->raise(Severity::kWarning, "coverage/phase5/2025-11-18", "coverage 88%");
  clock.advance(std::chrono::minutes(1));
  alerts->raise(Severity::kCritical, "batch/phase5/2025-11-18", "too few players ready");
  alerts->raise(Severity::kInfo, "relay", "no date in the key: filed under the UTC day");

  auto listed = StoreAlertSink::list(store, kDate);
  ASSERT_TRUE(listed) << listed.error().to_string();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "batch/phase5/2025-11-18");
  EXPECT_EQ((*listed)[0].severity, Severity::kCritical);
  EXPECT_EQ((*listed)[0].message, "too few players ready");
  EXPECT_EQ(format_rfc3339((*listed)[0].at), "2025-11-19T03:01:00Z");
  EXPECT_EQ((*listed)[1].key, "coverage/phase5/2025-11-18");
  auto undated = StoreAlertSink::list(store, *CalendarDate::parse("2025-11-19"));
  ASSERT_TRUE(undated);
  ASSERT_EQ(undated->size(), 1u);
  EXPECT_EQ((*undated)[0].key, "relay");
}

TEST(StoreAlertSink, KeepsAtMostMaxAlertsDeletingTheOldest) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto sink = StoreAlertSink::create(store, {.max_alerts = 3}).value();
  const TimePoint t0 = *parse_rfc3339("2025-11-18T12:00:00Z");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(sink->send(alert_at(t0 + std::chrono::seconds(i), "k/2025-11-18", fmt::format("alert {}", i))));
  EXPECT_EQ(store.scan(StoreAlertSink::kPrefix)->size(), 3u);
  auto listed = StoreAlertSink::list(store, kDate);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].message, "alert 4");
  EXPECT_EQ((*listed)[2].message, "alert 2");
  // Two alerts of one instant are two rows.
  ASSERT_TRUE(sink->send(alert_at(t0 + std::chrono::seconds(9), "k/2025-11-18", "twin a")));
  ASSERT_TRUE(sink->send(alert_at(t0 + std::chrono::seconds(9), "k/2025-11-18", "twin b")));
  listed = StoreAlertSink::list(store, kDate, 2);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].message, "twin b");
  EXPECT_EQ((*listed)[1].message, "twin a");
}

TEST(StoreAlertSink, CreateRejectsZeroMaxAlerts) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto sink = StoreAlertSink::create(store, {.max_alerts = 0});
  ASSERT_FALSE(sink);
  EXPECT_EQ(sink.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace store_alert_sink_test
}  // namespace pipeline
