#include <chrono>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/coverage_rules.hpp"
#include "pipeline/core/manual_clock.hpp"

namespace pipeline {
namespace coverage_rules_test {

TEST(CoverageRules, MissingOf400AlertsAbove20NotAt20) {
  const CoverageRules rules;
  EXPECT_FALSE(rules.missing_alert(400, 400 - 19));
  EXPECT_FALSE(rules.missing_alert(400, 400 - 20));
  EXPECT_TRUE(rules.missing_alert(400, 400 - 21));
}

TEST(CoverageRules, MissingOf1000AlertsAbove50NotAt50) {
  const CoverageRules rules;
  EXPECT_FALSE(rules.missing_alert(1000, 1000 - 50));
  EXPECT_TRUE(rules.missing_alert(1000, 1000 - 51));
}

TEST(CoverageRules, MinimumCountDominatesForSmallSets) {
  const CoverageRules rules;
  // 5% of 100 is 5, but 20 missing are tolerated.
  EXPECT_FALSE(rules.missing_alert(100, 80));
  EXPECT_TRUE(rules.missing_alert(100, 79));
  EXPECT_DOUBLE_EQ(rules.missing_threshold(100), 20.0);
  EXPECT_DOUBLE_EQ(rules.missing_threshold(1000), 50.0);
}

TEST(CoverageRules, NothingExpectedNeverAlerts) {
  const CoverageRules rules;
  EXPECT_FALSE(rules.missing_alert(0, 0));
  EXPECT_FALSE(rules.status_alert(0, 0));
  EXPECT_FALSE(rules.missing_alert(0, 5));
  EXPECT_DOUBLE_EQ(CoverageRules::coverage(0, 0), 1.0);
}

TEST(CoverageRules, MoreDoneThanExpectedIsFullCoverage) {
  const CoverageRules rules;
  EXPECT_EQ(CoverageRules::missing(400, 450), 0u);
  EXPECT_DOUBLE_EQ(CoverageRules::coverage(400, 450), 1.0);
  EXPECT_FALSE(rules.status_alert(400, 450));
}

TEST(CoverageRules, StatusAlertsBelowNinetyPercentNotAtIt) {
  const CoverageRules rules;
  EXPECT_FALSE(rules.status_alert(400, 360));  // exactly 90%
  EXPECT_TRUE(rules.status_alert(400, 359));
  EXPECT_FALSE(rules.status_alert(1000, 900));
  EXPECT_TRUE(rules.status_alert(1000, 899));
}

TEST(CoverageRules, ThresholdsAreConfigurable) {
  CoverageRules rules;
  rules.missing_fraction = 0.10;
  rules.missing_min = 5;
  rules.status_min_coverage = 0.5;
  EXPECT_FALSE(rules.missing_alert(400, 360));  // 40 missing = 10%
  EXPECT_TRUE(rules.missing_alert(400, 359));
  EXPECT_FALSE(rules.missing_alert(10, 5));     // 5 tolerated
  EXPECT_TRUE(rules.missing_alert(10, 4));
  EXPECT_FALSE(rules.status_alert(400, 200));
  EXPECT_TRUE(rules.status_alert(400, 199));
}

TEST(CoverageRules, HelpersRaiseAClearSentenceWithContext) {
  ManualClock clock;
  std::vector<Alert> seen;
  auto sink = CallbackAlertSink::create([&](const Alert& a) { seen.push_back(a); }).value();
  auto alerts = AlertManager::create(clock, {sink}).value();
  const CoverageRules rules;
  EXPECT_FALSE(rules.alert_if_missing(*alerts, "phase3/2025-11-18", 400, 380));
  EXPECT_FALSE(rules.alert_if_low_coverage(*alerts, "phase3/2025-11-18", 400, 360));
  EXPECT_TRUE(seen.empty());

  EXPECT_TRUE(rules.alert_if_missing(*alerts, "phase3/2025-11-18", 400, 375));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].severity, Severity::kWarning);
  EXPECT_EQ(seen[0].key, "coverage/missing/phase3/2025-11-18");
  EXPECT_EQ(seen[0].message,
            "phase3/2025-11-18: 25 of 400 expected entities are missing (6.2%), more than the 20 tolerated");
  EXPECT_EQ(seen[0].context->at("missing"), 25);
  EXPECT_EQ(seen[0].context->at("expected"), 400);
  EXPECT_EQ(seen[0].context->at("done"), 375);

  EXPECT_TRUE(rules.alert_if_low_coverage(*alerts, "phase5/2025-11-18", 400, 340));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].severity, Severity::kError);
  EXPECT_EQ(seen[1].key, "coverage/status/phase5/2025-11-18");
  EXPECT_EQ(seen[1].message, "phase5/2025-11-18: coverage 85.0% (340 of 400) is below the required 90.0%");
  EXPECT_DOUBLE_EQ(seen[1].context->at("coverage").get<double>(), 0.85);
}

}  // namespace coverage_rules_test
}  // namespace pipeline
